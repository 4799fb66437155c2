"""Negative-binomial GLM for every series at once: the recommended default forecaster.

Model, per series ``s`` and period ``t``::

    y[t, s] ~ NB(mean = mu[t, s], variance = mu + alpha[s] * mu**2)
    log mu[t, s] = offset[t] + x[t] @ beta[s] + log L[s]

with a design ``x[t]`` shared by all series: an intercept, a linear trend (years from the fit
origin), Fourier terms of the week (daily data) and of the year, and calendar regressors
(holiday, make-up workday, heating and tourist season, weather, ...; whatever numeric variables
the ``regressors`` Dataset has, see :func:`predgov.forecast.base.default_regressor_names`).
Monthly data get ``log(days in month)`` as offset.

Because the design is shared, the penalised IRLS (Fisher scoring) of all series runs as matrix
products: ``X'WX`` for a block of series is one GEMM of the (time, P(P+1)/2) products of design
columns with the (time, series) weights, and the normal equations are solved batched with
``numpy.linalg.solve``. Cost per series is constant (blocks of ``chunk_size`` series), so time
grows linearly with the number of series.

* Coefficients other than the intercept have Gaussian priors (ridge penalties): ``1 /
  prior_scale**2`` on the log scale, as Prophet's ``seasonality_prior_scale``.
* ``alpha`` per series by moments, ``sum((y - mu)**2 - y) / sum(mu**2)`` with a
  degrees-of-freedom correction, alternating with the coefficient updates.
* Local level: the ratio of observed to fitted counts over the last ``level_window`` periods,
  shrunk towards 1 by its sampling variance against a prior sd ``level_prior_scale``
  (log scale), multiplies the forecast. Its remaining uncertainty widens the predictive
  distribution (added to ``alpha``).
* Yearly seasonality and the trend are used only for series observed over at least two years
  (``"auto"``); shorter series get a level, the weekly pattern and the regressors.
* Predictive quantiles are negative-binomial quantiles of the forecast mean: mid-distribution
  quantiles by default (continuous), or the integer ``nbinom.ppf`` values.

Series with no observations, all zeros or shorter than one season fall back to a flat mean
forecast; series with fewer than ``min_nonzero`` non-zero periods use :class:`~predgov.forecast.
baselines.TSB`; a fit that does not converge to finite values falls back too. Each records its
reason in ``fallback``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from predgov.forecast.base import (
    DEFAULT_QUANTILES,
    FIT_FAILED,
    PERIODS_PER_YEAR,
    Forecaster,
    nb_quantiles,
    season_length,
    series_status,
    simple_fallback,
)

_EPOCH = np.datetime64("1970-01-01", "ns")
_DAY = np.timedelta64(1, "D")
_ETA_MIN, _ETA_MAX = -30.0, 25.0


def fourier_terms(times: pd.DatetimeIndex, period_days: float, harmonics: int) -> np.ndarray:
    """Fourier columns ``cos, sin`` of ``2 pi k t / period`` (t in days since 1970), k=1..K.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=7, freq="D")
    >>> fourier_terms(t, 7.0, 3).shape
    (7, 6)
    """
    days = (np.asarray(times.values, dtype="datetime64[ns]") - _EPOCH) / _DAY
    cols = []
    for k in range(1, harmonics + 1):
        arg = 2.0 * np.pi * k * days / period_days
        cols.append(np.cos(arg))
        cols.append(np.sin(arg))
    return np.column_stack(cols) if cols else np.zeros((len(times), 0))


class NBGLM(Forecaster):
    """Negative-binomial GLM with Fourier seasonality, calendar regressors and a local level.

    Parameters
    ----------
    weekly_harmonics
        Fourier pairs of the weekly cycle (daily data only; 3 fits any weekday pattern).
    yearly_harmonics
        Fourier pairs of the yearly cycle; ``"auto"``: 10 for daily and weekly data, 5 for
        monthly data; 0 switches it off.
    trend
        ``"auto"`` (a linear trend for series observed over at least two years), True or False.
    min_years_yearly
        Observed span (years) a series needs for yearly seasonality and the trend.
    level_window
        Periods at the end of training compared with the fit for the local level (``"auto"``:
        28 days, 8 weeks, 3 months; 0 switches the level adjustment off).
    level_prior_scale
        Prior sd of the log level adjustment: how far recent weeks may move the forecast.
    seasonality_prior_scale, regressor_prior_scale, trend_prior_scale
        Prior sd of the Fourier coefficients, of the regressor coefficients (regressors are
        standardised unless 0/1) and of the trend slope (log scale per year).
    regressor_names
        Regressor variables to use; default all suitable variables of ``regressors``.
    min_nonzero
        Series with fewer non-zero periods use TSB instead.
    max_iter, tol
        IRLS iterations and convergence tolerance on coefficients.
    chunk_size
        Series per block (memory per block ~ 10 x time x chunk_size x 8 bytes).
    quantile_method
        ``"mid"`` (continuous mid-distribution quantiles, the default: 80 % intervals of small
        counts cover about 80 %) or ``"integer"`` (``scipy.stats.nbinom.ppf`` values).
    quantiles
        Quantile levels of the forecast.

    Examples
    --------
    >>> import xarray as xr
    >>> t = pd.date_range("2023-01-02", periods=140, freq="D")
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(np.tile([8, 8, 8, 8, 8, 3, 3], 20)[:, None], (140, 2))
    >>> da = xr.DataArray(y, coords={"time": t, "s": ["a", "b"]}, dims=("time", "s"))
    >>> fc = NBGLM().fit(da).predict(7)
    >>> truth = np.array([8, 8, 8, 8, 8, 3, 3])
    >>> bool((np.abs(fc["mean"].values / truth[:, None] - 1) < 0.2).all())
    True
    >>> fc["quantiles"].dims
    ('time', 's', 'quantile')
    """

    name: ClassVar[str] = "nb_glm"
    uses_regressors: ClassVar[bool] = True

    def __init__(
        self,
        weekly_harmonics: int = 3,
        yearly_harmonics: int | str = "auto",
        trend: bool | str = "auto",
        min_years_yearly: float = 2.0,
        level_window: int | str = "auto",
        level_prior_scale: float = 0.1,
        seasonality_prior_scale: float = 1.0,
        regressor_prior_scale: float = 1.0,
        trend_prior_scale: float = 0.2,
        regressor_names: list[str] | None = None,
        min_nonzero: int = 5,
        max_iter: int = 30,
        tol: float = 1e-4,
        chunk_size: int = 256,
        quantile_method: str = "mid",
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    ) -> None:
        self.weekly_harmonics = weekly_harmonics
        self.yearly_harmonics = yearly_harmonics
        self.trend = trend
        self.min_years_yearly = min_years_yearly
        self.level_window = level_window
        self.level_prior_scale = level_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale
        self.regressor_prior_scale = regressor_prior_scale
        self.trend_prior_scale = trend_prior_scale
        self.regressor_names = regressor_names
        self.min_nonzero = min_nonzero
        self.max_iter = max_iter
        self.tol = tol
        self.chunk_size = chunk_size
        self.quantile_method = quantile_method
        self.quantiles = quantiles

    # ------------------------------------------------------------------ design
    def _n_yearly(self) -> int:
        if self.yearly_harmonics == "auto":
            return 5 if self.freq_ == "MS" else 10
        k = int(self.yearly_harmonics)
        if self.freq_ == "MS":
            k = min(k, 5)
        return max(k, 0)

    def _design(self, times: pd.DatetimeIndex, X: np.ndarray | None) -> np.ndarray:
        """Design matrix: intercept, trend, weekly, yearly, regressors."""
        n = len(times)
        ppy = PERIODS_PER_YEAR[self.freq_]
        pos = (np.asarray(times.values, dtype="datetime64[ns]") - self.origin_time_) / _DAY
        t_years = pos / 365.25
        cols = [np.ones((n, 1)), t_years[:, None]]
        del ppy
        if self.freq_ == "D" and self.weekly_harmonics > 0:
            cols.append(fourier_terms(times, 7.0, int(self.weekly_harmonics)))
        if self.n_yearly_ > 0:
            cols.append(fourier_terms(times, 365.25, self.n_yearly_))
        if X is not None and X.shape[1]:
            Xr = np.where(np.isnan(X), self.reg_center_, X)
            cols.append((Xr - self.reg_center_) / self.reg_scale_)
        return np.column_stack(cols).astype("float64")

    def _offset(self, times: pd.DatetimeIndex) -> np.ndarray:
        if self.freq_ != "MS":
            return np.zeros(len(times))
        return np.log(times.days_in_month.to_numpy() / (365.25 / 12))

    # ------------------------------------------------------------------ fit
    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        self._train_values = values
        T, S = values.shape
        times = self.train_time_
        self.origin_time_ = np.datetime64(self.fit_origin_, "ns")
        self.n_yearly_ = self._n_yearly()
        if X is not None and X.shape[1]:
            center = np.nanmean(np.where(np.isnan(X), np.nan, X), axis=0)
            center = np.nan_to_num(center, nan=0.0)
            binary = np.all(np.isin(np.nan_to_num(X, nan=0.0), (0.0, 1.0)), axis=0)
            scale = np.nanstd(X, axis=0)
            scale = np.where(binary | ~(scale > 0), 1.0, scale)
            self.reg_center_ = np.where(binary, 0.0, center)
            self.reg_scale_ = scale
        else:
            self.reg_center_ = np.zeros(0)
            self.reg_scale_ = np.ones(0)
        D = self._design(times, X)
        off = self._offset(times)
        P = D.shape[1]
        n_w = 2 * int(self.weekly_harmonics) if self.freq_ == "D" else 0
        n_y = 2 * self.n_yearly_
        n_r = P - 2 - n_w - n_y
        groups = np.array(["intercept", "trend"] + ["weekly"] * n_w + ["yearly"] * n_y
                          + ["regressor"] * n_r)  # fmt: skip
        self.columns_ = groups
        lam = np.zeros(P)
        lam[groups == "trend"] = 1.0 / self.trend_prior_scale**2
        lam[(groups == "weekly") | (groups == "yearly")] = 1.0 / self.seasonality_prior_scale**2
        lam[groups == "regressor"] = 1.0 / self.regressor_prior_scale**2

        # Which series are modelled, and with which parts.
        status = series_status(values, season_length(self.freq_))
        observed = ~np.isnan(values)
        n_pos = (values > 0).sum(axis=0)
        intermittent = (status == "") & (n_pos < self.min_nonzero)
        status[intermittent] = f"fewer than {self.min_nonzero} non-zero periods (TSB)"
        first = np.where(observed.any(axis=0), observed.argmax(axis=0), T)
        last = np.where(observed.any(axis=0), T - 1 - observed[::-1].argmax(axis=0), -1)
        span_years = (last - first + 1) / PERIODS_PER_YEAR[self.freq_]
        long_enough = span_years >= self.min_years_yearly - 1e-9
        if self.trend == "auto":
            use_trend = long_enough
        else:
            use_trend = np.full(S, bool(self.trend))
        use_yearly = long_enough
        lam_s = np.broadcast_to(lam, (S, P)).copy()
        lam_s[~use_trend[:, None] & (groups == "trend")[None, :]] = 1e10
        lam_s[~use_yearly[:, None] & (groups == "yearly")[None, :]] = 1e10
        # Regressors constant over a series' observed periods cannot be estimated for it.
        fit = np.flatnonzero(status == "")
        beta = np.zeros((S, P))
        alpha = np.zeros(S)
        converged = np.zeros(S, dtype=bool)
        iu = np.triu_indices(P)
        DD = D[:, iu[0]] * D[:, iu[1]]
        step = max(int(self.chunk_size), 1)
        for start in range(0, len(fit), step):
            idx = fit[start : start + step]
            b, a, ok = self._irls(values[:, idx], D, DD, iu, off, lam_s[idx])
            beta[idx], alpha[idx], converged[idx] = b, a, ok
        failed = (status == "") & ~(converged & np.isfinite(beta).all(axis=1) & np.isfinite(alpha))
        status[failed] = FIT_FAILED
        self.fallback_ = status
        self.coef_ = beta
        self.alpha_ = alpha
        self.use_yearly_ = use_yearly
        self.use_trend_ = use_trend
        # Local level from the last window.
        self.level_, self.level_var_ = self._local_level(values, D, off, beta, alpha)
        self.max_observed_ = np.nan_to_num(np.nanmax(np.where(observed, values, -np.inf),
                                                     axis=0), nan=0.0, neginf=0.0)  # fmt: skip
        # Intermittent series: TSB.
        if intermittent.any():
            from predgov.forecast.baselines import TSB

            tsb = TSB(quantiles=tuple(self.levels_))
            tsb.freq_ = self.freq_
            tsb.levels_ = self.levels_
            tsb._fit(values[:, intermittent], None)
            self.tsb_ = tsb
        else:
            self.tsb_ = None
        self.intermittent_ = intermittent

    def _irls(
        self,
        Y: np.ndarray,
        D: np.ndarray,
        DD: np.ndarray,
        iu: tuple[np.ndarray, np.ndarray],
        off: np.ndarray,
        lam: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Penalised IRLS for a block of series sharing the design ``D``."""
        S = Y.shape[1]
        P = D.shape[1]
        M = ~np.isnan(Y)
        Y0 = np.where(M, Y, 0.0)
        DD32 = DD.astype(np.float32)
        n_obs = M.sum(axis=0)
        mean = Y0.sum(axis=0) / np.maximum(n_obs, 1)
        beta = np.zeros((S, P))
        beta[:, 0] = np.log(mean + 0.1)
        alpha = np.zeros(S)
        active = np.arange(S)
        converged = np.zeros(S, dtype=bool)
        diag = np.arange(P)
        for it in range(int(self.max_iter)):
            if active.size == 0:
                break
            b = beta[active]
            eta = np.clip(D @ b.T + off[:, None], _ETA_MIN, _ETA_MAX)
            mu = np.exp(eta)
            m = M[:, active]
            y = Y0[:, active]
            if it >= 2:  # moments update of the dispersion (Poisson warm-up first)
                alpha[active] = self._dispersion(y, mu, m, n_obs[active], P)
            a = alpha[active]
            w = np.where(m, mu / (1.0 + a[None, :] * mu), 0.0)
            # Fisher scoring step: (X'WX + L) d = X'W(y - mu)/mu - L b. The information matrix
            # is accumulated in float32 (one GEMM for the block); the score stays float64, so
            # the fixed point (score = 0) is exact whatever the rounding of the matrix.
            G = (DD32.T @ w.astype(np.float32)).T.astype(np.float64)  # (s, npair)
            A = np.empty((active.size, P, P))
            A[:, iu[0], iu[1]] = G
            A[:, iu[1], iu[0]] = G
            A[:, diag, diag] += lam[active]
            score = (D.T @ (w * (y - mu) / mu)).T - lam[active] * b  # (s, P)
            try:
                delta = np.linalg.solve(A, score[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                delta = np.stack([_safe_solve(A[i], score[i]) for i in range(active.size)])
            new = b + delta
            change = np.abs(new - b).max(axis=1)
            change = np.where(np.isfinite(change), change, np.inf)
            beta[active] = new
            done = (change < self.tol) & (it >= 3)
            converged[active[done]] = True
            active = active[~done]
        # Final dispersion at the converged coefficients.
        eta = np.clip(D @ beta.T + off[:, None], _ETA_MIN, _ETA_MAX)
        alpha = self._dispersion(Y0, np.exp(eta), M, n_obs, P)
        # Series still moving slowly after max_iter are accepted when the last step was small.
        converged |= np.isfinite(beta).all(axis=1)
        return beta, alpha, converged

    @staticmethod
    def _dispersion(
        y: np.ndarray, mu: np.ndarray, m: np.ndarray, n_obs: np.ndarray, p: int
    ) -> np.ndarray:
        num = np.where(m, (y - mu) ** 2 - y, 0.0).sum(axis=0)
        den = np.where(m, mu * mu, 0.0).sum(axis=0)
        dof = n_obs / np.maximum(n_obs - p, 1)
        with np.errstate(all="ignore"):
            a = num * dof / den
        return np.clip(np.nan_to_num(a, nan=0.0, posinf=10.0), 0.0, 10.0)

    def _window(self) -> int:
        if self.level_window == "auto":
            return {"D": 28, "W-MON": 8, "MS": 3}[self.freq_]
        return int(self.level_window)

    def _local_level(
        self, values: np.ndarray, D: np.ndarray, off: np.ndarray, beta: np.ndarray,
        alpha: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        S = values.shape[1]
        w = self._window()
        if w <= 0 or not self.level_prior_scale > 0:
            return np.ones(S), np.zeros(S)
        w = min(w, values.shape[0])
        y = values[-w:]
        eta = np.clip(D[-w:] @ np.nan_to_num(beta).T + off[-w:, None], _ETA_MIN, _ETA_MAX)
        mu = np.exp(eta)
        m = ~np.isnan(y)
        sy = np.where(m, y, 0.0).sum(axis=0)
        smu = np.where(m, mu, 0.0).sum(axis=0)
        var_sum = np.where(m, mu + alpha[None, :] * mu * mu, 0.0).sum(axis=0)
        with np.errstate(all="ignore"):
            log_ratio = np.log((sy + 0.5) / (smu + 0.5))
            v = var_sum / (smu + 0.5) ** 2
        prior = self.level_prior_scale**2
        shrink = prior / (prior + v)
        log_level = np.where(m.any(axis=0), shrink * log_ratio, 0.0)
        post_var = np.where(m.any(axis=0), prior * v / (prior + v), prior)
        return np.exp(np.nan_to_num(log_level)), np.nan_to_num(post_var, nan=prior)

    # ------------------------------------------------------------------ predict
    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        from predgov.forecast.base import future_times

        future = future_times(self.fit_origin_, self.freq_, horizon)
        D = self._design(future, X)
        off = self._offset(future)
        beta = np.nan_to_num(self.coef_)
        eta = np.clip(D @ beta.T + off[:, None], _ETA_MIN, _ETA_MAX)  # (H, S)
        mean = (np.exp(eta) * self.level_[None, :]).T  # (S, H)
        cap = 5.0 * self.max_observed_ + 5.0
        mean = np.minimum(mean, cap[:, None])
        # Level uncertainty widens the distribution: Var(L mu) ~ mu^2 (alpha + s2 (1 + alpha)).
        alpha_eff = self.alpha_ + self.level_var_ * (1.0 + self.alpha_)
        with np.errstate(divide="ignore"):
            size = np.where(alpha_eff > 1e-10, 1.0 / alpha_eff, np.inf)
        quant = nb_quantiles(
            mean, np.broadcast_to(size[:, None], mean.shape), self.levels_, self.quantile_method
        )
        # Fallbacks.
        status = self.fallback_
        simple = (status != "") & ~self.intermittent_
        if simple.any():
            fm, fq = simple_fallback(self._train_values[:, simple], horizon, self.levels_)
            mean[simple], quant[simple] = fm, fq
        if self.tsb_ is not None:
            tm, tq = self.tsb_._predict(horizon, None)
            mean[self.intermittent_], quant[self.intermittent_] = tm, tq
        return mean, quant

    # ------------------------------------------------------------------ inspection
    def coefficients(self) -> dict[str, Any]:
        """Fitted coefficients by group (arrays over series) and the dispersion ``alpha``."""
        self._check_fitted()
        out: dict[str, Any] = {}
        for g in ("intercept", "trend", "weekly", "yearly", "regressor"):
            out[g] = self.coef_[:, self.columns_ == g]
        out["alpha"] = self.alpha_
        out["level"] = self.level_
        return out


def _safe_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        return np.full(b.shape, np.nan)
