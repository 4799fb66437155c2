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
    _level_paths,
    _naive_mae,
    _oos_dispersion,
    _oos_level_exponent,
    _oos_loss,
    _pit_share,
)

__all__ = ["AUTO_SPANS", "DAYTYPE_SPANS", "OOS_LEADS", "PIT_LEADS", "PIT_STRIDE", "LocalLevelMixin"]

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

    def _local_level(
        self, values: np.ndarray, D: np.ndarray, off: np.ndarray, beta: np.ndarray,
        alpha: np.ndarray, n_params: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """Local level, and the dispersion of h-step forecasts (intercept and slope in ``h``).

        For every candidate span the level is run through the training periods; the forecasts
        it would have made from each period (the GLM mean times the level at that origin) are
        scored against the counts that followed, at leads ``OOS_LEADS`` (rolling origins
        inside the training data). The span with the smallest mean scaled absolute error over
        all series is kept; with ``level_by="auto"`` the day-type levels at that span are then
        scored the same way and kept if better. The errors of the kept level's forecasts give
        the dispersion at each lead and day type by moments, summarised per series by a line
        ``alpha0 + slope * h`` (slope >= 0), and their PITs the calibration of the predictive
        quantile levels (:meth:`_calibrated_levels`).
        """
        S = values.shape[1]
        spans = self._spans()
        modes = self._level_modes()
        leads = np.asarray(OOS_LEADS[self.freq_], dtype=int)
        prior = float(self.level_prior_scale) ** 2
        if spans[0] <= 0 or not prior > 0:
            spans, modes = (0,), ("shared",)
        cls = self.train_class_

        def score(cands: list[tuple[int, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            levels = np.ones((len(cands), 2, S))
            loss = np.zeros((len(cands), S))
            ncell = np.zeros(S)
            for sl, y, m, mu, path_of in self._chunks(values, D, off, beta, alpha, prior):
                scale = _naive_mae(y)
                for g, (span, mode) in enumerate(cands):
                    paths = path_of(span, mode)
                    levels[g, :, sl] = paths[:, -1]
                    loss[g, sl], ncell[sl] = _oos_loss(y, m, mu, paths, cls, leads, scale)
            return levels, loss, ncell

        def pick(loss: np.ndarray, ok: np.ndarray) -> int:
            if len(loss) == 1 or not ok.any():
                return 0
            return int(np.argmin(np.nanmean(np.where(ok, loss, np.nan), axis=1)))

        # Spans of the shared level first; "auto" then tries day types at the best span only,
        # each day type's deviation followed over the candidate spans of ``daytype_window``.
        def first(span: int) -> str:  # the mode of the first round at ``span``
            if modes[0] == "shared":
                return "shared"
            devs = self._daytype_spans(span)
            return _daytype_mode(span, span if span in devs else devs[0])

        cands = [(span, first(span)) for span in spans]
        levels, loss, ncell = score(cands)
        ok = ncell >= _MIN_OOS_CELLS
        best = pick(loss, ok)
        if "daytype" in modes:
            span0 = cands[best][0]
            more = [(span0, _daytype_mode(span0, d)) for d in self._daytype_spans(span0)]
            more = [c for c in more if c not in cands]  # not scored twice
            if more:
                lv2, loss2, _ = score(more)
                cands, levels, loss = cands + more, np.concatenate([levels, lv2]), np.concatenate(
                    [loss, loss2])  # fmt: skip
                best = pick(loss, ok)
        self.level_span_ = int(cands[best][0])
        mode = cands[best][1]
        self.level_mode_ = "shared" if mode == "shared" else "daytype"
        self.daytype_span_ = _mode_span(mode, self.level_span_)
        self.path_mode_ = mode
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
        self.calibrated_levels_ = self._recalibration(share, n_series, n_cells)
        return levels[best], alpha0, alpha_slope, ok

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
        for start in range(0, values.shape[1], step):
            sl = slice(start, start + step)
            y = values[:, sl]
            m = ~np.isnan(y)
            eta = np.clip(D @ np.nan_to_num(beta[sl]).T + off[:, None], _ETA_MIN, _ETA_MAX)
            mu = np.exp(eta)
            y0, mu0 = np.where(m, y, 0.0), np.where(m, mu, 0.0)
            var0 = np.where(m, mu + alpha[None, sl] * mu * mu, 0.0)

            memo: dict = {}  # the weighted sums of this block, by span

            def path_of(span: int, mode: str = "shared", y0=y0, mu0=mu0, var0=var0,
                        memo=memo) -> np.ndarray:  # fmt: skip
                if span <= 0:
                    return np.ones((2, *mu0.shape))
                def shared(s: int, p: float) -> np.ndarray:  # (2, T, S), kept in ``memo``
                    if ("path", s, p) not in memo:
                        memo["path", s, p] = _level_paths(y0, mu0, var0, s, p, None, memo)
                    return memo["path", s, p]

                if mode == "shared":
                    return shared(span, prior)
                dev = _mode_span(mode, span)
                p_dev = getattr(self, "daytype_prior_scale", None)
                p_dev = prior if p_dev is None else float(p_dev) ** 2
                typed = _level_paths(y0, mu0, var0, dev, p_dev, self.train_class_, memo)
                if dev == span and p_dev == prior:
                    return typed
                # the shared level at ``span`` times each day type's deviation at ``dev``
                typed /= shared(dev, p_dev)[0]
                typed *= shared(span, prior)[0]
                return typed

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
