"""Online stage of the expected-count model (:mod:`predgov.warn.expected`), period by period.

:class:`OnlineCalibration` takes the batched fit's raw predictions and, for every period from
the past only, applies the recent-level correction, the NB size from past out-of-sample errors,
the self-calibration of the mean and size by the series' own standardised one-step errors
(with the first-year ``persist`` term) and the outbreak feedback (flag, leave out, release).
The meaning of each step and the measurements behind its constants are in
:mod:`predgov.warn.expected`.
"""

from __future__ import annotations

import numpy as np

from predgov.stats.nb import MAX_DISPERSION, POISSON_SIZE, moment_alpha, nb_llr, size_from_alpha
from predgov.warn.batchfit import anscombe

__all__ = [
    "CAL_FEEDBACK_MIN_MEAN", "LEVEL_PRIOR", "PERSIST_CAP", "YEAR_PERIODS", "YOUNG_LEVEL_PRIOR",
    "ZS_CAP", "OnlineCalibration",
]  # fmt: skip

#: Pseudo-periods of the level prior in a series' first year, before the yearly terms exist:
#: the level must follow the season. On the synthetic family (benchmarks/calibration.py) the
#: default's false alarms in the first year fell from 8.7 to 3.3 per series-year on strongly
#: seasonal series and from 1.3 to 0.6 on Poisson series of 30-1,000 a day (56 -> 14).
YOUNG_LEVEL_PRIOR: float = 14.0
#: A year in days (the first-year rule of :data:`YOUNG_LEVEL_PRIOR`; weekly / monthly data
#: convert it with their period length).
YEAR_PERIODS: int = 365
#: Standardised errors are capped at this many SDs before they enter the self-calibration.
ZS_CAP = 8.0
#: ... and winsorised at this many SDs for the persistence of the mean's error (first year
#: only, see ``persist`` in :func:`expected_counts`). Chosen on the synthetic family among 1.5,
#: 2 and 8 (benchmarks/calibration.py; first-year false alarms vs. POD of 3-SD outbreaks).
PERSIST_CAP = 2.0
#: The feedback CUSUM is held at its threshold (not reset) and the calibration feedback
#: (:data:`predgov.warn.calendar_model.CALIBRATION_FEEDBACK`) flags only where the expected count is
#: at least this (and after a series' first year): on sparser series single counts are large
#: excesses to an NB CUSUM, and leaving them out shrinks the predictive spread (synthetic
#: sparse seasonal series, 0.1-1 a day: false alarms 1.19 per series-year without this floor,
#: 1.05 with it; the sparse members of the family, seeds 1-2: 0.71 -> 0.66).
CAL_FEEDBACK_MIN_MEAN: float = 1.0
#: Pseudo-periods (at the predicted level) that shrink the recent-level ratio towards 1.
LEVEL_PRIOR = 56.0


class OnlineCalibration:
    """Day-by-day state after the model's raw predictions: recent-level correction, NB size
    from past out-of-sample errors and the feedback flags, each period from the past only.

    ``advance(t)`` processes every period before ``t`` not yet processed; periods whose raw
    prediction is NaN stay NaN. ``observe(t, y)`` appends the next period (the arrays keep
    spare rows, :meth:`reserve`), so the state runs on as new periods arrive: every step reads
    only earlier periods, and ``_predict(t)`` (the period's mean and size) does not read
    ``x[t]``.
    """

    def __init__(self, x, n_level, level_prior, level_guard, n_disp, reweight, feedback,
                 feedback_delta, feedback_dispersion, feedback_max=28, calibrate=False,
                 n_cal=365, cal_prior=56.0, year=YEAR_PERIODS,
                 young_prior=YOUNG_LEVEL_PRIOR, young_feedback_max=None,
                 calibration_feedback=None):  # fmt: skip
        T, S = x.shape
        self.x = x
        self.x_fit = x.copy() if feedback is not None else x  # flagged periods -> NaN
        self.mu_raw = np.full((T, S), np.nan)
        self.inv_fit = np.full((T, S), np.nan)
        self.mu0 = np.full((T, S), np.nan)
        self.size = np.full((T, S), np.nan)
        self.flag = np.zeros((T, S), dtype=bool)
        self.clean = np.zeros((T, S), dtype=bool)  # level-correction rows
        self.e2 = np.full((T, S), np.nan)  # winsorised squared errors (dispersion rows)
        self.n_level, self.level_prior, self.level_guard = n_level, level_prior, level_guard
        self.n_disp = n_disp
        self.cut = reweight if reweight is not None else np.inf
        self.feedback, self.delta = feedback, feedback_delta
        self.feedback_dispersion = feedback_dispersion
        self.state = np.zeros(S)
        self.run_start = np.full(S, -1)
        self.e2_kept = np.full((T, S), np.nan)  # errors of flagged periods, for a release
        self.feedback_max = int(feedback_max)
        self.young_feedback_max = int(feedback_max if young_feedback_max is None
                                      else young_feedback_max)  # fmt: skip
        self.block = np.full(S, -1)  # first period of the current block of flagged periods
        self.block_end = np.full(S, -10)
        self.quiet_until = np.full(S, -1)  # no flags before this period (after a release)
        # the second, more sensitive feedback CUSUM: it only keeps excesses out of the
        # self-calibration's standardised errors (see CALIBRATION_FEEDBACK)
        self.cal_feedback = calibration_feedback
        self.cal_state = np.zeros(S)
        self.cal_run_start = np.full(S, -1)
        self.cal_block = np.full(S, -1)
        self.cal_block_end = np.full(S, -10)
        self.calibrate, self.n_cal, self.cal_prior = calibrate, int(n_cal), float(cal_prior)
        # first year of each series (no yearly terms yet): the level follows faster
        observed = ~np.isnan(x)
        self.first = np.where(observed.any(0), observed.argmax(0), T)
        self.young_prior = float(young_prior)
        self.year = year
        self.zs = np.full((T, S), np.nan)  # standardised errors behind the self-calibration
        self.zs_kept = np.full((T, S), np.nan)
        self.mu_cal = np.full((T, S), np.nan)
        self.size_cal = np.full((T, S), np.nan)
        self.persist = np.full((T, S), np.nan)
        self.done = 0

    def advance(self, t_end: int) -> None:
        for t in range(self.done, t_end):
            self._step(t)
        self.done = max(self.done, t_end)

    def _step(self, t: int) -> None:
        pre = self._predict(t)
        if pre is not None:
            self._observe(t, *pre)

    def _predict(self, t: int) -> tuple | None:
        """Mean, size (and calibrated ones) of period ``t`` from earlier periods only; writes
        row ``t`` of the outputs and does not read ``x[t]`` (so it may run before ``x[t]`` is
        known, and again after: the same values)."""
        raw = self.mu_raw[t]
        if not np.isfinite(raw).any():
            return None
        inv = np.where(np.isfinite(self.inv_fit[t]), self.inv_fit[t], 0.0)
        # level: shrunken observed / predicted over recent clean periods
        mu = raw
        if self.n_level > 0:
            hi = t - self.level_guard
            lo = max(0, hi - self.n_level)
            if hi > lo:
                c = self.clean[lo:hi]
                sy = np.where(c, self.x[lo:hi], 0.0).sum(0)
                sm = np.where(c, self.mu_raw[lo:hi], 0.0).sum(0)
                k = c.sum(0)
                prior = np.where(t - self.first < self.year, self.young_prior, self.level_prior)
                with np.errstate(invalid="ignore", divide="ignore"):
                    avg = sm / np.maximum(k, 1.0)
                    ratio = (sy + prior * avg) / (sm + prior * avg)
                ratio = np.where(np.isfinite(ratio) & (k > 0), ratio, 1.0)
                mu = raw * ratio
        self.mu0[t] = mu
        # dispersion: moments of past out-of-sample errors
        lo = max(0, t - self.n_disp)
        e2 = self.e2[lo:t]
        ok = np.isfinite(e2)
        m = np.where(ok, self.mu0[lo:t], 0.0)
        a = np.where(ok, e2, 0.0).sum(0)
        b, c, k = m.sum(0), (m**2).sum(0), ok.sum(0)
        inv_oos = moment_alpha(a, b, c)
        r = size_from_alpha(np.where((k >= 28) & (c > 0), np.maximum(inv_oos, inv), inv))
        self.size[t] = np.where(np.isfinite(mu), r, np.nan)
        sd_fit = np.sqrt(mu * (1.0 + mu * inv))
        mu_fb, r_fb = mu, self.size[t]
        if self.calibrate:
            mu_fb, r_fb = self._calibrated(t, mu, sd_fit)
        return raw, inv, mu, sd_fit, mu_fb, r_fb

    def _observe(self, t, raw, inv, mu, sd_fit, mu_fb, r_fb) -> None:
        """Period ``t``'s error (for later periods) and the outbreak feedback on ``x[t]``."""
        x = self.x[t]
        usable = ~np.isnan(x) & np.isfinite(raw)
        z = anscombe(x, raw, inv)
        self.clean[t] = usable & ~(np.abs(z) > self.cut)
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.minimum(x - mu, self.cut * sd_fit)
            zs = np.clip((x - mu) / sd_fit, -ZS_CAP, ZS_CAP)
        self.e2[t] = np.where(usable & np.isfinite(mu), err**2, np.nan)
        self.zs[t] = np.where(usable & np.isfinite(mu) & (sd_fit > 0), zs, np.nan)
        if self.feedback is not None:
            self._feedback(t, x, mu_fb, r_fb, usable)

    #: Per-period arrays (rows = periods) and the value of a period not yet processed.
    _ROWS = (("x", np.nan), ("mu_raw", np.nan), ("inv_fit", np.nan), ("mu0", np.nan),
             ("size", np.nan), ("flag", False), ("clean", False), ("e2", np.nan),
             ("e2_kept", np.nan), ("zs", np.nan), ("zs_kept", np.nan), ("mu_cal", np.nan),
             ("size_cal", np.nan), ("persist", np.nan))  # fmt: skip

    @property
    def capacity(self) -> int:
        """Rows (periods) the arrays hold."""
        return int(self.x.shape[0])

    def reserve(self, rows: int, spare: int = 64) -> None:
        """Make room for at least ``rows`` periods (new periods unobserved), with ``spare``
        more so that appending a period at a time copies the arrays rarely."""
        old = self.capacity
        if rows <= old:
            return
        extra = rows - old + int(spare)
        separate = self.x_fit is not self.x
        for name, fill in self._ROWS:
            arr = getattr(self, name)
            pad = np.full((extra, *arr.shape[1:]), fill, dtype=arr.dtype)
            setattr(self, name, np.concatenate([arr, pad]))
        if separate:
            self.x_fit = np.concatenate([self.x_fit, np.full((extra, self.x.shape[1]), np.nan)])
        else:
            self.x_fit = self.x
        # never-observed series: their first period stays beyond the arrays
        self.first = np.where(self.first >= old, self.capacity, self.first)

    def observe(self, t: int, y: np.ndarray, predicted: tuple | None = None) -> None:
        """Append period ``t`` (the next one) with counts ``y`` (NaN = unobserved) and process
        it, as :meth:`advance` would have on arrays holding it from the start. ``predicted``:
        what :meth:`_predict` returned for ``t`` (computed again when None)."""
        if t != self.done:
            raise ValueError(f"observe takes the next period ({self.done}), got {t}")
        self.reserve(t + 1)
        y = np.asarray(y, dtype=np.float64)
        self.x[t] = y
        if self.x_fit is not self.x:
            self.x_fit[t] = y
        self.first = np.where(~np.isnan(y) & (self.first > t), t, self.first)
        pre = self._predict(t) if predicted is None else predicted
        if pre is not None:
            self._observe(t, *pre)
        self.done = t + 1

    def _calibrated(self, t: int, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Self-calibration: the mean and NB size of period ``t`` corrected by the mean ``m``
        and spread ``v`` of the series' own past standardised one-step errors ``(y - mu) / sd``
        (last ``n_cal`` periods, flagged ones left out, shrunk towards 0 and 1 with
        ``cal_prior`` pseudo-periods): ``mu' = mu x`` the shrunken ratio of observed to
        expected sums there, ``var' = (v - m^2) sd^2``."""
        lo = max(0, t - self.n_cal)
        zw = self.zs[lo:t]
        ok = np.isfinite(zw)
        n = ok.sum(0)
        # the mean's correction reads only errors of the model the series has now: from its
        # second year on (yearly terms in the fit, the level prior no longer young) it leaves
        # out the first year's errors, which belong to the first-year model (the level lagging
        # a season). Carried over, they biased the whole second year by the first year's mean
        # error (synthetic family, benchmarks/calibration.py, seeds 1-4: Poisson 30-1,000 a
        # day 1.50-2.83 false alarms per series-year -> 0.69-1.16, strongly seasonal
        # 1.07-2.48 -> 0.94-1.37; pod3s unchanged). The spread keeps the whole window.
        mature = t - self.first >= self.year
        okm = ok & ~(mature & (np.arange(lo, t)[:, None] < self.first + self.year))
        nm = okm.sum(0)
        s1 = np.where(ok, zw, 0.0).sum(0)
        s2 = np.where(ok, zw * zw, 0.0).sum(0)
        m = s1 / (n + self.cal_prior)
        v = np.maximum((s2 + self.cal_prior) / (n + self.cal_prior) - m * m, 0.25)
        # the mean as a ratio of sums (a mean of z would weight under-predicted periods, whose
        # sd is small, too much)
        sy = np.where(okm, self.x[lo:t], 0.0).sum(0)
        sm = np.where(okm, self.mu0[lo:t], 0.0).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = sm / np.maximum(nm, 1)
            ratio = (sy + self.cal_prior * avg) / (sm + self.cal_prior * avg)
            ratio = np.where(np.isfinite(ratio) & (nm > 0), ratio, 1.0)
            mu_c = np.maximum(mu * ratio, 0.5 * mu)
            alpha = np.clip((v * sd * sd - mu_c) / (mu_c * mu_c), 0.0, MAX_DISPERSION)
        r = size_from_alpha(alpha)
        self.mu_cal[t] = mu_c
        self.size_cal[t] = np.where(np.isfinite(mu_c), r, np.nan)
        # persistent error of the mean in the series' first year (no yearly terms yet: the
        # level lags a season, a trend, the first weeks' estimate): the lag-1 autocovariance
        # of the errors (winsorised at PERSIST_CAP SDs, so that outbreaks weigh less), shrunk
        # towards the variance of a mean estimated from the history so far, 1 / its length
        zc = np.clip(zw, -PERSIST_CAP, PERSIST_CAP)
        mc = np.where(ok, zc, 0.0).sum(0) / (n + self.cal_prior)
        pair = ok[1:] & ok[:-1]
        n_p = pair.sum(0)
        sp = np.where(pair, zc[1:] * zc[:-1], 0.0).sum(0)
        g0 = 1.0 / np.maximum(t - self.first + 1, 1)
        g = (sp + self.cal_prior * g0) / (n_p + self.cal_prior) - mc * mc
        g = np.where(t - self.first < self.year, g, 0.0)
        self.persist[t] = np.where(np.isfinite(mu_c), np.clip(g / v, 0.0, 1.0), np.nan)
        return mu_c, self.size_cal[t]

    def _feedback(self, t, x, mu, r, usable) -> None:
        mu_s = np.where(usable, mu, 1.0)
        r_s = np.where(usable, r, POISSON_SIZE)
        sd0 = np.sqrt(mu_s + mu_s**2 / r_s)
        a, c = nb_llr(mu_s, mu_s + self.delta * np.maximum(sd0, 0.5), r_s)
        llr = np.where(usable, a * np.where(usable, x, 0.0) + c, 0.0)
        new = np.maximum(0.0, self.state + llr)
        self.run_start = np.where(new <= 0, -1, np.where(self.state <= 0, t, self.run_start))
        hit = np.flatnonzero(usable & (new > self.feedback) & (self.run_start >= 0))
        # after a series' first year (where the expected count is >= CAL_FEEDBACK_MIN_MEAN) the
        # CUSUM is held at the threshold, not reset: every later period of the same excess
        # that raises it is flagged too, not only those that climb a new run to it (first
        # year: reset, see predgov.warn.calendar_model.CALIBRATION_FEEDBACK)
        mature = (t - self.first >= self.year) & (mu_s >= CAL_FEEDBACK_MIN_MEAN)
        self.state = np.where(mature, np.minimum(new, self.feedback),
                              np.where(new > self.feedback, 0.0, new))  # fmt: skip
        for s_ in hit:
            if t < self.quiet_until[s_]:
                continue
            first = int(self.run_start[s_])
            if first > self.block_end[s_] + 3:  # a new block (gaps of <= 2 periods bridged)
                self.block[s_] = first
            self.block_end[s_] = t
            if t - self.block[s_] + 1 > self._max_block(s_, t):
                self._release(s_, int(self.block[s_]), t)
                continue
            rows = slice(first, t + 1)
            self.flag[rows, s_] = True
            self.clean[rows, s_] = False
            self.x_fit[rows, s_] = np.nan
            if self.feedback_dispersion:
                keep = np.isfinite(self.e2[rows, s_])
                self.e2_kept[rows, s_] = np.where(keep, self.e2[rows, s_], self.e2_kept[rows, s_])
                self.e2[rows, s_] = np.nan
            keep = np.isfinite(self.zs[rows, s_])
            self.zs_kept[rows, s_] = np.where(keep, self.zs[rows, s_], self.zs_kept[rows, s_])
            self.zs[rows, s_] = np.nan
        if self.cal_feedback is not None:
            self._calibration_feedback(t, llr, usable & mature)

    def _calibration_feedback(self, t: int, llr: np.ndarray, usable: np.ndarray) -> None:
        """The same CUSUM at the lower threshold ``cal_feedback``: the periods of its positive
        run are left out of the self-calibration's standardised errors (``zs``) only; a block
        longer than the longest flagged block is a new level and is used again."""
        thr = float(self.cal_feedback)
        new = np.maximum(0.0, self.cal_state + llr)
        self.cal_run_start = np.where(new <= 0, -1, np.where(self.cal_state <= 0, t,
                                                             self.cal_run_start))  # fmt: skip
        hit = np.flatnonzero(usable & (new > thr) & (self.cal_run_start >= 0))
        self.cal_state = np.minimum(new, thr)
        for s_ in hit:
            first = int(self.cal_run_start[s_])
            if first > self.cal_block_end[s_] + 3:  # a new block (gaps of <= 2 bridged)
                self.cal_block[s_] = first
            self.cal_block_end[s_] = t
            if t - self.cal_block[s_] + 1 > self._max_block(s_, t):
                rows = slice(int(self.cal_block[s_]), t + 1)
                kept = self.zs_kept[rows, s_]
                back = np.isfinite(kept) & ~self.flag[rows, s_]
                self.zs[rows, s_] = np.where(back, kept, self.zs[rows, s_])
                continue
            rows = slice(first, t + 1)
            keep = np.isfinite(self.zs[rows, s_])
            self.zs_kept[rows, s_] = np.where(keep, self.zs[rows, s_], self.zs_kept[rows, s_])
            self.zs[rows, s_] = np.nan

    def _release(self, s_: int, first: int, last: int) -> None:
        """An excess longer than ``feedback_max`` periods: a new level, not an outbreak. Its
        periods are used again from the next period on, and flagging pauses for a while."""
        rows = slice(first, last + 1)
        self.flag[rows, s_] = False
        self.x_fit[rows, s_] = self.x[rows, s_]
        self.clean[rows, s_] = ~np.isnan(self.x[rows, s_]) & np.isfinite(self.mu_raw[rows, s_])
        if self.feedback_dispersion:
            kept = self.e2_kept[rows, s_]
            self.e2[rows, s_] = np.where(np.isfinite(kept), kept, self.e2[rows, s_])
        kept = self.zs_kept[rows, s_]
        self.zs[rows, s_] = np.where(np.isfinite(kept), kept, self.zs[rows, s_])
        self.block[s_], self.block_end[s_] = -1, -10
        self.quiet_until[s_] = last + 1 + self._max_block(s_, last)

    def _max_block(self, s_: int, t: int) -> int:
        """Longest flagged block of series ``s_`` at ``t``: shorter in its first year."""
        young = t - self.first[s_] < self.year
        return self.young_feedback_max if young else self.feedback_max
