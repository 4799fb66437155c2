"""The local level and the predictive dispersion of :class:`~predgov.forecast.nbglm.NBGLM`,
chosen and measured on rolling-origin forecasts inside the training data.

:class:`LocalLevelMixin` holds the model's second stage, after the GLM coefficients: it runs
the candidate local levels (spans, shared or per day type) through the training periods
(:mod:`predgov.forecast.rolling`), keeps the one whose in-training forecasts erred least, and
from that level's errors takes the predictive dispersion by lead and day type (shrunk to the
series' group, :mod:`predgov.forecast.dispersion`; optionally following the level), then the
quantile recalibration (:mod:`predgov.forecast.recalibration`). It reads the estimator's
parameters (``level_window``, ``level_by``, ``level_prior_scale``, ``daytype_window``,
``daytype_prior_scale``, ``dispersion_pool``, ``dispersion_level``, ``calibrate``,
``chunk_size``) and fitted state (``freq_``, ``layout_``, ``levels_``, ``train_class_``), and
sets ``level_span_``, ``level_mode_``, ``daytype_span_`` (the span of the day types'
deviations from the shared level), ``path_mode_`` (the level paths' mode: "shared", "daytype"
or "daytype:<span>"),
``alpha0_raw_``, ``dispersion_exponent_``, ``dispersion_ref_``, ``calibrated_levels_`` and
``recalibrated_``.

The two choices made on all series are means over series, so they reduce over blocks of
series (:func:`predgov.forecast.distributed.forecast_blocked`): :meth:`~LocalLevelMixin.
level_stats` gives, per candidate level, the sum of the series' losses and their number;
``pooled_stats_["pit"]`` the PIT shares, series and cells the recalibration reads
(:func:`sum_stats` adds either over blocks); :func:`pooled_level_choice` makes the choice
from such statistics (one model's, or summed), and :meth:`~LocalLevelMixin.set_pooled` takes
a choice and summed PIT statistics back, redoing only the steps after the GLM. A fit calls
the same functions on its own statistics, so a fit of the whole cube and the blocked one
differ only by the order of the sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predgov.forecast.design import ETA_MAX as _ETA_MAX
from predgov.forecast.design import ETA_MIN as _ETA_MIN
from predgov.forecast.dispersion import shrink_dispersion, shrink_normal
from predgov.forecast.recalibration import PIT_GRID as _PIT_GRID
from predgov.forecast.recalibration import calibrated_levels, recalibrate
from predgov.forecast.rolling import (
    _MIN_OOS_CELLS,
    _OOS_ORIGINS,
    _fill_sums,
    _level_paths,
    _naive_mae,
    _oos_dispersion,
    _oos_level_exponent,
    _oos_loss,
    _pit_share,
)

__all__ = [
    "AUTO_SPANS",
    "DAYTYPE_SPANS",
    "OOS_LEADS",
    "PIT_LEADS",
    "PIT_STRIDE",
    "LocalLevelMixin",
    "choose_level",
    "pooled_level_choice",
    "sum_stats",
]

#: Candidate spans (periods) of the local level when ``level_window="auto"``.
AUTO_SPANS = {"D": (14, 28, 56, 112), "W-MON": (4, 8, 16, 32), "MS": (3, 6, 12)}
#: Extra candidate spans (days) of the day types' deviations from the shared level
#: (``daytype_window="auto"``), beside the shared level's own span.
DAYTYPE_SPANS = (14, 28)
#: Leads of the rolling-origin forecasts inside the training periods.
OOS_LEADS = {"D": (1, 2, 4, 7, 14, 21, 28), "W-MON": (1, 2, 4, 8), "MS": (1, 2, 3)}
#: Every this many origins enter the calibration (neighbouring origins' errors overlap).
PIT_STRIDE = 2
#: Leads of the forecasts that enter the calibration.
PIT_LEADS = {"D": (1, 7, 14, 28), "W-MON": (1, 2, 4, 8), "MS": (1, 2, 3)}


def _daytype_mode(span: int, dev: int) -> str:
    """Mode name of day-type levels whose deviations have span ``dev`` (level span ``span``)."""
    return "daytype" if dev == span else f"daytype:{int(dev)}"


def _mode_span(mode: str, span: int) -> int:
    """Span of the day types' deviations in ``mode`` (``span`` for "daytype" and "shared")."""
    return int(mode.split(":")[1]) if ":" in mode else int(span)


def choose_level(stats: dict, cands: list[tuple[int, str]]) -> tuple[int, str]:
    """The candidate level with the smallest mean loss (the first of equals; the first
    candidate when no series was scored), from :meth:`LocalLevelMixin.level_stats`
    (``{candidate: (loss sum, series)}``, of one model or summed over blocks by
    :func:`sum_stats`).

    Examples
    --------
    >>> choose_level({(14, "shared"): (3.0, 2.0), (28, "shared"): (2.0, 2.0)},
    ...              [(14, "shared"), (28, "shared")])
    (28, 'shared')
    """
    tot = np.array([stats[c][0] for c in cands], dtype="float64")
    cnt = np.array([stats[c][1] for c in cands], dtype="float64")
    if len(cands) == 1:
        return cands[0]
    with np.errstate(all="ignore"):
        mean = np.where(cnt > 0, tot / cnt, np.nan)
    return cands[int(np.argmin(mean))]  # all NaN: the first, as np.nanmean's argmin


def pooled_level_choice(candidates_of: Any, stats_of: Any) -> tuple[int, str]:
    """The rounds of the level's choice: the spans (``candidates_of(None)``), then the
    candidates ``candidates_of(winner)`` adds (day types at the winning span), each round
    decided by :func:`choose_level` on ``stats_of(candidates)`` (one model's
    :meth:`LocalLevelMixin.level_stats`, or their sum over blocks of series).

    Examples
    --------
    >>> stats = {(14, "shared"): (3.0, 2.0), (28, "shared"): (2.0, 2.0),
    ...          (28, "daytype"): (1.0, 2.0)}
    >>> def cands(after):
    ...     return [(14, "shared"), (28, "shared")] if after is None else [(after[0], "daytype")]
    >>> pooled_level_choice(cands, lambda cs: {c: stats[c] for c in cs})
    (28, 'daytype')
    """
    first = candidates_of(None)
    best = first[0] if len(first) == 1 else choose_level(stats_of(first), first)
    more = candidates_of(best)
    if more:
        best = choose_level(stats_of(first + more), first + more)
    return best


def sum_stats(parts: list[Any]) -> Any:
    """Sum of :meth:`LocalLevelMixin.level_stats` dicts, or of PIT statistics tuples
    (``pooled_stats_["pit"]``), over blocks of series, in block order.

    Examples
    --------
    >>> sum_stats([{(7, "shared"): (1.0, 1.0)}, {(7, "shared"): (2.0, 3.0)}])
    {(7, 'shared'): (3.0, 4.0)}
    >>> sum_stats([(np.ones(2), 1, np.ones(2)), (np.ones(2), 2, np.zeros(2))])[1]
    3
    """
    if isinstance(parts[0], dict):
        return {c: (float(sum(p[c][0] for p in parts)), float(sum(p[c][1] for p in parts)))
                for c in parts[0]}  # fmt: skip
    share = np.sum([np.asarray(p[0], dtype="float64") for p in parts], axis=0)
    cells = np.sum([np.asarray(p[2], dtype="float64") for p in parts], axis=0)
    return share, int(sum(int(p[1]) for p in parts)), cells


class LocalLevelMixin:
    """Local level, predictive dispersion and recalibration of the NB-GLM (see the module
    notes for the attributes it reads and sets)."""

    freq_: str
    layout_: Any
    levels_: np.ndarray
    train_class_: np.ndarray

    def _level_modes(self) -> tuple[str, ...]:
        """Candidate level structures: ``"shared"`` and/or ``"daytype"``."""
        choices = {"shared": ("shared",), "daytype": ("daytype",), "auto": ("shared", "daytype")}
        if self.level_by not in choices:
            raise ValueError(
                f"level_by must be 'auto', 'shared' or 'daytype', got {self.level_by!r}"
            )
        return choices[self.level_by] if self.freq_ == "D" else ("shared",)


    def _spans(self) -> tuple[int, ...]:
        """Candidate spans of the exponentially weighted level (one, or a grid for "auto")."""
        if isinstance(self.level_window, str):
            if self.level_window != "auto":
                raise ValueError(f"level_window must be 'auto', a span or a sequence of spans, "
                                 f"got {self.level_window!r}")  # fmt: skip
            return AUTO_SPANS[self.freq_]
        if np.ndim(self.level_window) == 1:  # candidates, chosen as for "auto"
            spans = tuple(sorted({int(v) for v in self.level_window}))
            if not spans or spans[0] < 1:
                raise ValueError(f"level_window candidates must be spans >= 1, got "
                                 f"{self.level_window!r}")  # fmt: skip
            return spans
        return (int(self.level_window),)

    def _daytype_spans(self, span: int) -> tuple[int, ...]:
        """Candidate spans of the day types' deviations from the shared level (at ``span``):
        ``span`` (``daytype_window`` None), ``min(span, daytype_window)`` (one span), the
        given candidates (a sequence), or ``span`` and :data:`DAYTYPE_SPANS` ("auto")."""
        dw = getattr(self, "daytype_window", None)
        if dw is None:
            return (span,)
        if isinstance(dw, str):
            if dw != "auto":
                raise ValueError(f"daytype_window must be 'auto', None, a span or a sequence of "
                                 f"spans, got {dw!r}")  # fmt: skip
            dw = (span, *DAYTYPE_SPANS)
        vals = tuple(sorted({int(v) for v in np.atleast_1d(dw)}))
        if not vals or vals[0] < 1:
            raise ValueError(f"daytype_window spans must be >= 1, got {dw!r}")
        if np.ndim(dw) == 0:  # one span: the longest the deviation may have
            return (min(int(span), vals[0]),)
        return vals

    def level_candidates(self, after: tuple[int, str] | None = None) -> list[tuple[int, str]]:
        """Candidate local levels ``(span, mode)`` of a round of the choice.

        ``after=None``: the first round, every candidate span with the first mode ("shared",
        or the day types for ``level_by="daytype"``); given the first round's winner: the
        second round, the day-type levels at its span (``level_by="auto"``, daily data) not
        scored yet (empty when there is none). :func:`choose_level` picks among the first
        round, then among both rounds. Needs a fitted model (its frequency).
        """
        spans, modes = self._spans(), self._level_modes()
        if spans[0] <= 0 or not float(self.level_prior_scale) ** 2 > 0:
            spans, modes = (0,), ("shared",)

        def first(span: int) -> str:  # the mode of the first round at ``span``
            if modes[0] == "shared":
                return "shared"
            devs = self._daytype_spans(span)
            return _daytype_mode(span, span if span in devs else devs[0])

        cands = [(int(span), first(span)) for span in spans]
        if after is None:
            return cands
        if "daytype" not in modes:
            return []
        span0 = int(after[0])
        more = [(span0, _daytype_mode(span0, d)) for d in self._daytype_spans(span0)]
        return [c for c in more if c not in cands]  # not scored twice

    def level_stats(self, cands: list[tuple[int, str]] | None = None) -> dict:
        """Sufficient statistics of the level's choice: for each candidate ``(span, mode)``
        (default: every one scored so far) the sum of the series' mean scaled rolling-origin
        errors over the series with enough of them, and their number (scoring candidates not
        scored yet). Sums over blocks of series give the statistics of the whole cube."""
        self._check_fitted()
        if cands is None:
            cands = list(self._cand_loss)
        cands = [(int(s), str(m)) for s, m in cands]
        missing = [c for c in cands if c not in self._cand_loss]
        if missing:
            self._score(missing)
        ok = self.oos_ok_
        out = {}
        for c in cands:
            loss = self._cand_loss[c]
            use = ok & ~np.isnan(loss)
            out[c] = (float(np.where(use, loss, 0.0).sum()), float(use.sum()))
        return out

    def _score(self, cands: list[tuple[int, str]]) -> None:
        """Rolling-origin losses and final levels of the candidate levels ``cands`` (one pass
        over the series' chunks); the first call also sets ``oos_ok_`` (series with enough
        scored forecasts)."""
        values, D, off, beta, alpha, _ = self._level_inputs
        S = values.shape[1]
        prior = float(self.level_prior_scale) ** 2
        leads = np.asarray(OOS_LEADS[self.freq_], dtype=int)
        cls = self.train_class_
        levels = np.ones((len(cands), 2, S))
        loss = np.zeros((len(cands), S))
        ncell = np.zeros(S)
        for sl, y, m, mu, path_of in self._chunks(values, D, off, beta, alpha, prior):
            scale = _naive_mae(y)
            for g, (span, mode) in enumerate(cands):
                paths = path_of(span, mode, also=[c[0] for c in cands])
                levels[g, :, sl] = paths[:, -1]
                loss[g, sl], ncell[sl] = _oos_loss(y, m, mu, paths, cls, leads, scale)
        for g, c in enumerate(cands):
            self._cand_levels[c] = levels[g]
            self._cand_loss[c] = loss[g]
        if getattr(self, "oos_ok_", None) is None:
            self.oos_ok_ = ncell >= _MIN_OOS_CELLS

    def _choose_level(self, stats_of: Any) -> tuple[int, str]:
        """The level with the smallest mean loss: spans first, then (``level_by="auto"``) day
        types at the best span. ``stats_of(cands)`` gives :meth:`level_stats` of candidates
        (of this model, or summed over blocks of series)."""
        return pooled_level_choice(self.level_candidates, stats_of)

    def set_pooled(self, level: tuple[int, str] | None = None,
                   pit: tuple[np.ndarray, int, np.ndarray] | None = None) -> Any:  # fmt: skip
        """Take choices made on more series than this model's (blocks of a cube,
        :func:`predgov.forecast.distributed.forecast_blocked`), redoing only the steps after
        the GLM: ``level`` (a candidate ``(span, mode)``, see :meth:`level_stats`) sets the
        local level, the predictive dispersion and the PIT statistics
        ``pooled_stats_["pit"]`` (and the quantile levels from them); ``pit`` (PIT shares,
        series and cells, summed over blocks) the recalibrated quantile levels. Returns the
        model.
        """
        self._check_fitted()
        if level is not None:
            level = (int(level[0]), str(level[1]))
            if level != (getattr(self, "level_span_", None), getattr(self, "path_mode_", None)):
                self._apply_level(level)
                self._defer_pooled = False
                self.calibrated_levels_ = self._recalibration(*self.pooled_stats_["pit"])
        if pit is not None:
            share, n_series, n_cells = pit
            self.calibrated_levels_ = self._recalibration(
                np.asarray(share, dtype="float64"), int(n_series),
                np.asarray(n_cells, dtype="float64"))  # fmt: skip
        return self

    @property
    def pooled_stats_(self) -> dict:
        """What the choices pooled over all series reduce: ``"level"``, :meth:`level_stats` of
        every scored candidate; ``"pit"``, the PIT shares ``(3, len(PIT_GRID))``, series and
        cells ``(2,)`` of :func:`predgov.forecast.recalibration.recalibrate`. Sums over blocks
        of series are the whole cube's."""
        self._check_fitted()
        return {"level": self.level_stats(), "pit": self._pit_stats}

    def _local_level(
        self, values: np.ndarray, D: np.ndarray, off: np.ndarray, beta: np.ndarray,
        alpha: np.ndarray, n_params: np.ndarray,
    ) -> None:  # fmt: skip
        """Local level, and the dispersion of h-step forecasts (intercept and slope in ``h``).

        For every candidate span the level is run through the training periods; the forecasts
        it would have made from each period (the GLM mean times the level at that origin) are
        scored against the counts that followed, at leads ``OOS_LEADS`` (rolling origins
        inside the training data). The span with the smallest mean scaled absolute error over
        all series is kept; with ``level_by="auto"`` the day-type levels at that span are then
        scored the same way and kept if better. The errors of the kept level's forecasts give
        the dispersion at each lead and day type by moments, summarised per series by a line
        ``alpha0 + slope * h`` (slope >= 0), and their PITs the calibration of the predictive
        quantile levels (:meth:`_recalibration`). Sets ``level_``, ``alpha0_``,
        ``alpha_slope_`` and ``oos_ok_``.
        """
        self._level_inputs = (values, D, off, beta, alpha, n_params)
        self._cand_levels: dict = {}
        self._cand_loss: dict = {}
        self.oos_ok_ = None
        self._chunk_cache: dict | None = {}  # this fit's block (see _chunks), dropped below
        try:
            if getattr(self, "_defer_pooled", False):  # a block: the choice comes from all
                self._score(self.level_candidates())  # blocks (set_pooled sets the level)
                return
            self._apply_level(self._choose_level(self.level_stats))
        finally:
            self._chunk_cache = None
        self.calibrated_levels_ = self._recalibration(*self._pit_stats)

    def _apply_level(self, cand: tuple[int, str]) -> None:
        """The chosen level ``cand``, its forecasts' dispersion and their PIT statistics."""
        values, D, off, beta, alpha, n_params = self._level_inputs
        if cand not in self._cand_levels:
            self._score([cand])
        S = values.shape[1]
        prior = float(self.level_prior_scale) ** 2
        leads = np.asarray(OOS_LEADS[self.freq_], dtype=int)
        cls = self.train_class_
        ok = self.oos_ok_
        self.level_span_ = int(cand[0])
        mode = cand[1]
        self.level_mode_ = "shared" if mode == "shared" else "daytype"
        self.daytype_span_ = _mode_span(mode, self.level_span_)
        self.path_mode_ = mode
        self.level_ = self._cand_levels[cand]
        # Dispersion of the chosen level's forecasts, and the PITs for the calibration.
        alpha0 = np.repeat(alpha[None, :], 2, axis=0)  # too few errors: in-sample dispersion,
        alpha_slope = np.zeros((2, S))  # no growth with the lead
        pit_leads = leads[np.isin(leads, PIT_LEADS[self.freq_])]
        n_err = np.zeros((2, S))
        for sl, y, m, mu, path_of in self._chunks(values, D, off, beta, alpha, prior):
            use = ok[sl]
            if not use.any():
                continue
            paths = path_of(self.level_span_, self.path_mode_)
            a0, sl0, n0 = _oos_dispersion(y, m, mu, paths, cls, leads, n_params[sl])
            alpha0[:, sl] = np.where(use, a0, alpha0[:, sl])
            alpha_slope[:, sl] = np.where(use, sl0, 0.0)
            n_err[:, sl] = np.where(use, n0, 0.0)
        self.alpha0_raw_ = alpha0.copy()  # before the shrinkage
        if self.dispersion_pool is not False:
            alpha0 = self._shrink(values, alpha0, n_err, ok)
        self.dispersion_exponent_ = np.zeros(S)
        self.dispersion_ref_ = np.ones(S)
        if self.dispersion_level:
            self._level_exponent(values, D, off, beta, alpha, prior, alpha0, ok)
        exponent = self.dispersion_exponent_ if self.dispersion_level else None
        share = np.zeros((3, _PIT_GRID.size))  # PIT shares: earlier, later target periods, all
        n_series, n_cells = 0, np.zeros(2)
        T = values.shape[0]
        split = (max(0, T - 1 - _OOS_ORIGINS) + T) // 2  # middle of the scored origins
        chunks = self._chunks(values, D, off, beta, alpha, prior) if self.calibrate else ()
        for sl, y, m, mu, path_of in chunks:
            use = ok[sl]
            if use.any():
                paths = path_of(self.level_span_, self.path_mode_)
                g, n = _pit_share(y, m, mu, paths, cls, pit_leads, alpha0[:, sl],
                                  alpha_slope[:, sl], _PIT_GRID, PIT_STRIDE, split,
                                  None if exponent is None else exponent[sl],
                                  self.dispersion_ref_[sl])  # fmt: skip
                g, n = g[:, :, use], n[:, use]
                share[:2] += (g / np.maximum(n, 1.0)[:, None, :]).sum(axis=2)
                share[2] += (g.sum(axis=0) / np.maximum(n.sum(axis=0), 1.0)).sum(axis=1)
                n_series += int(use.sum())
                n_cells += n.sum(axis=1)
        self.alpha0_, self.alpha_slope_ = alpha0, alpha_slope
        self._pit_stats = (share, n_series, n_cells)

    def _level_exponent(
        self, values: np.ndarray, D: np.ndarray, off: np.ndarray, beta: np.ndarray,
        alpha: np.ndarray, prior: float, alpha0: np.ndarray, ok: np.ndarray,
    ) -> None:  # fmt: skip
        """``dispersion_exponent_`` and ``dispersion_ref_``: how each series' predictive
        dispersion follows the level (:func:`predgov.forecast.rolling._oos_level_exponent`),
        shrunk towards its ``dispersion_pool`` group's (0 for series without rolling-origin
        errors)."""
        S = values.shape[1]
        g = np.full(S, np.nan)
        var = np.full(S, np.inf)
        leads = np.asarray(OOS_LEADS[self.freq_], dtype=int)
        for sl, y, m, mu, path_of in self._chunks(values, D, off, beta, alpha, prior):
            paths = path_of(self.level_span_, self.path_mode_)
            a = np.maximum(alpha0[:, sl].mean(axis=0), 1e-3)
            g[sl], var[sl], self.dispersion_ref_[sl] = _oos_level_exponent(
                y, m, mu, paths, self.train_class_, leads, a)
        g = np.where(ok, g, np.nan)
        labels = None
        if self.dispersion_pool:
            labels = self.layout_.values_of(self.dispersion_pool)
        shrunk = shrink_normal(g, var, labels)
        self.dispersion_exponent_ = np.where(ok, np.clip(shrunk, -1.0, 1.0), 0.0)

    def _shrink(self, values: np.ndarray, alpha0: np.ndarray, n_err: np.ndarray,
                ok: np.ndarray) -> np.ndarray:  # fmt: skip
        """Each series' predictive dispersion (per day type) shrunk towards its group's
        (:func:`predgov.forecast.dispersion.shrink_dispersion`): groups are the values of the
        ``dispersion_pool`` coordinate (all series when None or absent); series with too few
        rolling-origin errors (``ok`` False) are shrunk but do not shape the group."""
        labels = None
        if self.dispersion_pool:
            labels = self.layout_.values_of(self.dispersion_pool)
        observed = ~np.isnan(values)
        mean = np.where(observed, values, 0.0).sum(axis=0) / np.maximum(observed.sum(axis=0), 1)
        shrunk = shrink_dispersion(alpha0, mean, n_err, groups=labels, use=ok)
        return np.where(ok[None, :], shrunk, alpha0)

    def _chunks(
        self, values: np.ndarray, D: np.ndarray, off: np.ndarray, beta: np.ndarray,
        alpha: np.ndarray, prior: float,
    ) -> Any:  # fmt: skip
        """Blocks of series: ``(slice, y, observed, GLM mean, (span, mode) -> level paths)``.

        The level paths have shape ``(2, time, series)``: the level known at the end of each
        period for working days (0) and rest days (1); equal for ``mode="shared"``.
        """
        step = max(int(self.chunk_size), 1)
        # Series without yearly terms leave their season to the level: its prior adapts.
        short = ~np.asarray(getattr(self, "use_yearly_", np.ones(values.shape[1], dtype=bool)))
        short |= getattr(self, "n_yearly_", 1) == 0
        short &= bool(getattr(self, "level_adaptive_prior", False))
        # One block (the usual cube of a city): its means, weighted sums and level paths are
        # kept between the passes of one fit (scoring, dispersion, PITs) instead of redone.
        cache = getattr(self, "_chunk_cache", None)
        if cache is not None and values.shape[1] > step:
            cache = None
        if cache is not None and "block" in cache:
            yield cache["block"]
            return
        for start in range(0, values.shape[1], step):
            sl = slice(start, start + step)
            y = values[:, sl]
            m = ~np.isnan(y)
            eta = np.clip(D @ np.nan_to_num(beta[sl]).T + off[:, None], _ETA_MIN, _ETA_MAX)
            mu = np.exp(eta)
            y0, mu0 = np.where(m, y, 0.0), np.where(m, mu, 0.0)
            var0 = np.where(m, mu + alpha[None, sl] * mu * mu, 0.0)

            memo: dict = {}  # the weighted sums of this block, by span
            adaptive = short[sl]

            def path_of(span: int, mode: str = "shared", y0=y0, mu0=mu0, var0=var0,
                        memo=memo, also: Any = (), adaptive=adaptive) -> np.ndarray:  # fmt: skip
                # ``also``: spans whose weighted sums to compute in the same pass
                _fill_sums(y0, mu0, var0, (span, *also), memo)
                if span <= 0:
                    return np.ones((2, *mu0.shape))
                def shared(s: int, p: float) -> np.ndarray:  # (2, T, S), kept in ``memo``
                    if ("path", s, p) not in memo:
                        memo["path", s, p] = _level_paths(y0, mu0, var0, s, p, None, memo,
                                                          adaptive)  # fmt: skip
                    return memo["path", s, p]

                if mode == "shared":
                    return shared(span, prior)
                if ("typed", span, mode) in memo:
                    return memo["typed", span, mode]
                dev = _mode_span(mode, span)
                p_dev = getattr(self, "daytype_prior_scale", None)
                p_dev = prior if p_dev is None else float(p_dev) ** 2
                typed = _level_paths(y0, mu0, var0, dev, p_dev, self.train_class_, memo,
                                     adaptive)  # fmt: skip
                if not (dev == span and p_dev == prior):
                    # the shared level at ``span`` times each day type's deviation at ``dev``
                    typed /= shared(dev, p_dev)[0]
                    typed *= shared(span, prior)[0]
                memo["typed", span, mode] = typed
                return typed

            if cache is not None:
                cache["block"] = (sl, y, m, mu, path_of)
            yield sl, y, m, mu, path_of

    def _recalibration(self, share: np.ndarray, n_series: int, n_cells: np.ndarray) -> np.ndarray:
        """Recalibrated quantile levels where recalibration helps held-out forecasts
        (:func:`predgov.forecast.recalibration.recalibrate`); records ``recalibrated_``."""
        nominal = np.asarray(self.levels_, dtype="float64")
        self.recalibrated_ = False
        if not self.calibrate:
            return nominal
        lv, self.recalibrated_ = recalibrate(nominal, share, n_series, n_cells,
                                             len(PIT_LEADS[self.freq_]))  # fmt: skip
        return lv

    def _calibrated_levels(self, share: np.ndarray, n_series: int, n_cells: float) -> np.ndarray:
        """Quantile levels calibrated on rolling-origin PITs
        (:func:`predgov.forecast.recalibration.calibrated_levels`); nominal without
        ``calibrate``."""
        nominal = np.asarray(self.levels_, dtype="float64")
        if not self.calibrate:
            return nominal
        return calibrated_levels(nominal, share, n_series, n_cells)
