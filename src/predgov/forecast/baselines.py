"""Baseline forecasters: seasonal naive, climatology, and TSB for intermittent series.

Baselines are first-class models (DESIGN.md, "Forecasts"): every other model is reported
relative to them, so each gives proper predictive quantiles, not only a point.

* :class:`SeasonalNaive` repeats the last observed season. Quantiles add the empirical quantiles
  of the model's own past errors at the same distance (``y[t] - y[t - k*m]`` for a forecast ``k``
  seasons ahead) to the point forecast, clipped at 0.
* :class:`Climatology` averages the same period of earlier years (daily: the same weekday a
  whole number of 52-week years back, ±1 week); quantiles are negative binomial with the mean and
  variance of those values (Poisson when they are not over-dispersed).
* :class:`TSB` (Teunter, Syntetos & Babai 2011) smooths the probability of a non-zero period and
  the size of non-zero periods separately; the forecast is their product. Quantiles come from
  the hurdle distribution ``0`` with probability ``1 - p`` else ``1 + NB(size - 1)``.

Series that cannot be handled (no observations, all zero, shorter than one season) get a flat
forecast at the mean of what was observed and a recorded reason in ``fallback``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import stats

from predgov.forecast.base import (
    DEFAULT_QUANTILES,
    TOO_SHORT,
    Forecaster,
    nb_quantiles,
    nb_size_moments,
    season_length,
    series_status,
    simple_fallback,
    year_lag,
)


def nanquantile_columns(values: np.ndarray, levels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolated quantiles of each column of ``values`` ignoring NaN (vectorised).

    Returns ``(quantiles (len(levels), n_columns), n_valid (n_columns,))``; columns without
    values give NaN.

    Examples
    --------
    >>> q, n = nanquantile_columns(np.array([[1.0, np.nan], [3.0, 2.0], [2.0, np.nan]]), (0.5,))
    >>> q.tolist(), n.tolist()
    ([[2.0, 2.0]], [3, 1])
    """
    levels = np.asarray(levels, dtype="float64")
    srt = np.sort(values, axis=0)  # NaN last
    n = (~np.isnan(values)).sum(axis=0)
    pos = levels[:, None] * np.maximum(n - 1, 0)[None, :]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0)[None, :])
    frac = pos - lo
    a = np.take_along_axis(srt, lo, axis=0)
    b = np.take_along_axis(srt, hi, axis=0)
    q = a + frac * (b - a)
    q[:, n == 0] = np.nan
    return q, n


def _apply_status(model: Forecaster, values: np.ndarray, min_length: int) -> np.ndarray:
    """Record fallback reasons; return the boolean mask of series the model itself handles."""
    status = series_status(values, min_length)
    model.fallback_ = status
    return status == ""


def _fallback_forecast(
    values: np.ndarray, ok: np.ndarray, horizon: int, levels: np.ndarray,
    mean: np.ndarray, quant: np.ndarray,
) -> None:  # fmt: skip
    """Fill the series not ``ok`` with :func:`simple_fallback` (in place)."""
    bad = ~ok
    if bad.any():
        fm, fq = simple_fallback(values[:, bad], horizon, levels)
        mean[bad], quant[bad] = fm, fq


class SeasonalNaive(Forecaster):
    """Repeat the last observed season; quantiles from past seasonal-naive errors.

    Parameters
    ----------
    period
        Season length in periods; default the shortest season of the data's frequency (daily 7,
        weekly 52, monthly 12).
    quantiles
        Quantile levels of the forecast.
    min_errors
        Fewest past errors needed to use the empirical errors of a distance of ``k`` seasons;
        with fewer, the one-season errors scaled by ``sqrt(k)`` are used, and with fewer still
        Poisson quantiles around the point forecast.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> t = pd.date_range("2024-01-01", periods=21, freq="D")
    >>> y = xr.DataArray(np.tile([5, 1, 1, 1, 1, 1, 9], 3), coords={"time": t}, dims="time")
    >>> fc = SeasonalNaive().fit(y).predict(7)
    >>> fc["mean"].values.tolist()
    [5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0]
    """

    name: ClassVar[str] = "seasonal_naive"

    def __init__(
        self,
        period: int | None = None,
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
        min_errors: int = 10,
    ) -> None:
        self.period = period
        self.quantiles = quantiles
        self.min_errors = min_errors

    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        m = int(self.period) if self.period is not None else season_length(self.freq_)
        if m < 1:
            raise ValueError(f"period must be >= 1, got {m}")
        self.period_ = m
        self._train_values = values
        ok = _apply_status(self, values, m)
        # Last observed value at or before each time within its phase (t mod m).
        T = values.shape[0]
        last = values.copy()
        for t in range(m, T):
            row = last[t]
            miss = np.isnan(row)
            if miss.any():
                row[miss] = last[t - m][miss]
        self.last_season_ = last[T - m :] if T >= m else np.full((m, values.shape[1]), np.nan)
        no_phase = np.isnan(self.last_season_).any(axis=0)
        newly = ok & no_phase
        self.fallback_[newly] = TOO_SHORT
        self.ok_ = ok & ~no_phase

    def _error_quantiles(self, horizon: int) -> np.ndarray:
        """Error quantiles per distance k (1..K): array (K, Q, S)."""
        values, m, levels = self._train_values, self.period_, self.levels_
        n_k = -(-horizon // m)
        out = np.full((n_k, len(levels), values.shape[1]), np.nan)
        base = None
        for k in range(1, n_k + 1):
            lag = k * m
            if lag < values.shape[0]:
                q, n = nanquantile_columns(values[lag:] - values[:-lag], levels)
            else:
                q, n = np.full((len(levels), values.shape[1]), np.nan), np.zeros(values.shape[1])
            if k == 1:
                base = (q, n)
            use_base = n < self.min_errors
            if use_base.any() and base is not None:
                q[:, use_base] = base[0][:, use_base] * np.sqrt(k)
                n = np.where(use_base, base[1], n)
            q[:, n < self.min_errors] = np.nan  # Poisson below
            out[k - 1] = q
        return out

    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        m, levels = self.period_, self.levels_
        h = np.arange(horizon)
        point = self.last_season_[h % m].T  # (S, H)
        point = np.nan_to_num(point, nan=0.0)
        errq = self._error_quantiles(horizon)  # (K, Q, S)
        k_idx = h // m
        eq = np.transpose(errq[k_idx], (2, 0, 1))  # (S, H, Q)
        quant = point[:, :, None] + eq
        pois = np.isnan(eq).any(axis=2)
        if pois.any():
            quant[pois] = nb_quantiles(point[pois], np.inf, levels)
        mean = point.copy()
        _fallback_forecast(self._train_values, self.ok_, horizon, levels, mean, quant)
        return mean, quant


class Climatology(Forecaster):
    """Mean of the same period in earlier years; negative-binomial quantiles by moments.

    Daily data use lags of 364 days (52 weeks, so the weekday matches) and, with the default
    ``window=1``, the same weekday a week either side; weekly data use 52 weeks ±1 week and
    monthly data 12 months (``window`` is ignored for months).

    Parameters
    ----------
    years
        Use at most this many earlier years (None: all).
    window
        Neighbours either side, in weeks for daily data and in periods for weekly data.
    quantile_method
        ``"mid"`` (continuous mid-distribution quantiles) or ``"integer"`` (see
        :func:`~predgov.forecast.base.nb_quantiles`).
    quantiles
        Quantile levels of the forecast.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> t = pd.date_range("2021-01-01", periods=36, freq="MS")
    >>> y = xr.DataArray(np.tile(np.arange(12), 3), coords={"time": t}, dims="time")
    >>> Climatology().fit(y).predict(3)["mean"].values.tolist()
    [0.0, 1.0, 2.0]
    """

    name: ClassVar[str] = "climatology"

    def __init__(
        self,
        years: int | None = None,
        window: int = 1,
        quantile_method: str = "mid",
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    ) -> None:
        self.years = years
        self.window = window
        self.quantile_method = quantile_method
        self.quantiles = quantiles

    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        self._train_values = values
        lag = year_lag(self.freq_)
        ok = _apply_status(self, values, season_length(self.freq_))
        # Needs at least one observed value a year before each forecast period: checked in
        # predict; here only whether any earlier year exists at all.
        if values.shape[0] <= lag:
            self.fallback_[ok] = TOO_SHORT
            ok = np.zeros_like(ok)
        self.ok_ = ok
        self.lag_ = lag

    def _offsets(self) -> list[int]:
        w = int(self.window) if self.freq_ != "MS" else 0
        step = 7 if self.freq_ == "D" else 1
        return [i * step for i in range(-w, w + 1)]

    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        values, lag, levels = self._train_values, self.lag_, self.levels_
        T, S = values.shape
        f = T - 1 + np.arange(1, horizon + 1)
        max_years = T // lag + 1 if self.years is None else int(self.years)
        pools = []
        for j in range(1, max_years + 1):
            for off in self._offsets():
                src = f - j * lag + off
                valid = (src >= 0) & (src < T)
                block = np.full((horizon, S), np.nan)
                block[valid] = values[src[valid]]
                pools.append(block)
        pool = np.stack(pools) if pools else np.full((1, horizon, S), np.nan)
        mean, size = nb_size_moments(pool, axis=0)  # (H, S)
        empty = (~np.isnan(pool)).sum(axis=0) == 0
        mean = mean.T.copy()
        quant = nb_quantiles(mean, size.T, levels, self.quantile_method)
        ok = self.ok_ & ~empty.any(axis=0)
        self.fallback_[self.ok_ & ~ok] = TOO_SHORT
        _fallback_forecast(values, ok, horizon, levels, mean, quant)
        return mean, quant


class TSB(Forecaster):
    """Teunter-Syntetos-Babai method for intermittent counts, with hurdle quantiles.

    ``p`` (probability of a non-zero period) is updated every observed period with weight
    ``beta``; ``z`` (size of non-zero periods) only on non-zero periods with weight ``alpha``.
    The forecast is flat at ``p * z``. Quantiles: 0 with probability ``1 - p``, otherwise
    ``1 + NB`` with mean ``z - 1`` and the dispersion of the observed non-zero sizes.

    Parameters
    ----------
    alpha, beta
        Smoothing weights of the size and of the probability.
    quantiles
        Quantile levels of the forecast.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> t = pd.date_range("2024-01-01", periods=8, freq="W-MON")
    >>> y = xr.DataArray([0, 2, 0, 0, 2, 0, 2, 0], coords={"time": t}, dims="time")
    >>> fc = TSB(alpha=0.1, beta=0.1).fit(y).predict(2)
    >>> round(float(fc["mean"][0]), 3)
    0.755
    """

    name: ClassVar[str] = "tsb"

    def __init__(
        self,
        alpha: float = 0.1,
        beta: float = 0.1,
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    ) -> None:
        self.alpha = alpha
        self.beta = beta
        self.quantiles = quantiles

    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        if not (0 < self.alpha <= 1 and 0 < self.beta <= 1):
            raise ValueError(f"alpha and beta must be in (0, 1], got {self.alpha}, {self.beta}")
        self._train_values = values
        ok = _apply_status(self, values, 1)
        nz = np.where(values > 0, values, np.nan)
        n_obs = (~np.isnan(values)).sum(axis=0)
        n_pos = (values > 0).sum(axis=0)
        p0 = n_pos / np.maximum(n_obs, 1)
        z0 = np.where(n_pos > 0, np.nansum(nz, axis=0) / np.maximum(n_pos, 1), 1.0)
        p, z = p0.copy(), z0.copy()
        for row in values:
            seen = ~np.isnan(row)
            pos = seen & (row > 0)
            p = np.where(seen, p + self.beta * (pos - p), p)
            z = np.where(pos, z + self.alpha * (np.nan_to_num(row) - z), z)
        self.prob_, self.size_ = p, z
        _, disp = nb_size_moments(nz - 1.0, axis=0)
        self.dispersion_ = disp
        self.ok_ = ok

    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        levels = self.levels_
        p = np.clip(self.prob_, 0.0, 1.0)
        z = np.maximum(self.size_, 1.0)
        mean1 = p * z
        extra = z - 1.0
        r = self.dispersion_
        q = np.zeros((len(p), len(levels)))
        for j, level in enumerate(levels):
            inner = np.where(p > 0, (level - (1.0 - p)) / np.where(p > 0, p, 1.0), 0.0)
            active = inner > 0
            if not active.any():
                continue
            lv = np.clip(inner[active], 1e-12, 1 - 1e-12)
            mu = extra[active]
            rr = r[active]
            pois = np.isinf(rr)
            val = np.zeros(lv.shape)
            pos_mu = mu > 0
            a = pois & pos_mu
            b = ~pois & pos_mu
            val[a] = stats.poisson.ppf(lv[a], mu[a])
            val[b] = stats.nbinom.ppf(lv[b], rr[b], rr[b] / (rr[b] + mu[b]))
            q[active, j] = 1.0 + val
        mean = np.repeat(mean1[:, None], horizon, axis=1)
        quant = np.repeat(q[:, None, :], horizon, axis=1)
        bad = ~self.ok_
        mean[bad] = 0.0
        quant[bad] = 0.0
        # All-zero series and series with no observations forecast 0 (reason recorded).
        return mean, quant
