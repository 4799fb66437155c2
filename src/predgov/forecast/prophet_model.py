"""Prophet, one model per series, run serially, with joblib, or on a Dask cluster.

:class:`ProphetForecaster` offers Prophet (the tool analysts know) over a whole cube:

* calendar: named public holidays from the ``holiday_name`` variable of the regressors (daily
  data; China's Spring Festival, National Day, ...) as Prophet holidays; make-up working days
  (调休) as a ``makeup_workday`` regressor, because Prophet cannot mark a weekend day as a working
  day; heating and tourist season and weather (e.g. ``temperature``) as extra regressors. With
  no regressors, no holiday effects. Weekly and monthly data use the holiday share as a
  regressor.
* per-category settings: ``category_settings={"heating": {"yearly_seasonality": 20,
  "seasonality_mode": "multiplicative"}}`` overrides Prophet arguments for series whose
  ``category`` coordinate matches; ``prophet_kwargs`` applies to all.
* counts are never negative: predictive samples (``uncertainty_samples`` of them) are clipped at
  0 before the mean and the quantiles are taken.
* parallel over series: ``n_jobs`` processes with joblib, or ``backend="dask"`` on a
  ``dask.distributed`` cluster (a LocalCluster with ``n_jobs`` workers, or ``address=`` of a
  running scheduler). Each series' sampling is seeded from ``(seed, series index)``, so serial,
  joblib and Dask runs give identical numbers.

Prophet's and cmdstanpy's logging is silenced; a tqdm progress bar shows only on a terminal.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import threading
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from predgov.forecast.base import (
    DEFAULT_QUANTILES,
    FIT_FAILED,
    Forecaster,
    future_times,
    season_length,
    series_status,
    simple_fallback,
)
from predgov.parallel import shared_client

BACKENDS = ("joblib", "dask")
_SAMPLING_LOCK = threading.Lock()  # Prophet samples from numpy's global RNG


def _quiet() -> None:
    """Silence cmdstanpy and prophet (also in worker processes)."""
    for name in ("cmdstanpy", "prophet", "prophet.plot", "prophet.forecaster", "prophet.models"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL)
        logger.disabled = True


def _import_prophet() -> Any:
    _quiet()
    from prophet import Prophet

    _quiet()  # importing cmdstanpy configures its logger: silence it again
    return Prophet


def series_seed(seed: int, index: int) -> int:
    """The 32-bit seed of series ``index``: ``SeedSequence((seed, index))``.

    Examples
    --------
    >>> series_seed(0, 1) == series_seed(0, 1) != series_seed(0, 2)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


# --------------------------------------------------------------------------- per-series work


def _fit_one(task: dict[str, Any]) -> tuple[int, Any, str]:
    """Fit one Prophet; returns (index, model or None, error)."""
    _quiet()
    Prophet = _import_prophet()
    idx = task["index"]
    try:
        df = task["frame"]
        df = df[df["y"].notna()].reset_index(drop=True)
        kwargs = dict(task["kwargs"])
        m = Prophet(holidays=task["holidays"], **kwargs)
        for name in task["regressors"]:
            if df[name].nunique() > 1:
                m.add_regressor(name)
        for extra in task["seasonalities"]:
            m.add_seasonality(**extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecations inside Prophet
            m.fit(df, seed=task["seed"] % (2**31))
        return idx, m, ""
    except Exception as exc:  # any Stan/optimiser failure becomes a fallback
        return idx, None, f"{type(exc).__name__}: {exc}"


def _predict_one(task: dict[str, Any]) -> tuple[int, np.ndarray | None, np.ndarray | None]:
    """Predictive samples of one fitted Prophet: (index, mean (H,), quantiles (H, Q))."""
    _quiet()
    idx, m = task["index"], task["model"]
    try:
        future = task["future"]
        if task["future_holidays"] is not None and m.holidays is not None:
            m = copy.copy(m)  # never mutate the fitted model (serial runs share it)
            m.holidays = pd.concat([m.holidays, task["future_holidays"]], ignore_index=True)
        with _SAMPLING_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecations inside Prophet
            np.random.seed(task["seed"])  # noqa: NPY002 - Prophet samples from it
            samples = m.predictive_samples(future)["yhat"]
        samples = np.maximum(np.asarray(samples, dtype="float64"), 0.0)
        mean = samples.mean(axis=1)
        quant = np.quantile(samples, task["levels"], axis=1).T
        return idx, mean, quant
    except Exception:  # a failed sampling becomes a fallback
        return idx, None, None


# --------------------------------------------------------------------------- execution


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    return bool(getattr(sys.stderr, "isatty", lambda: False)()) and "PYTEST_CURRENT_TEST" not in (
        os.environ
    )


def _dask_client(address: str | None, n_workers: int) -> Any:
    return shared_client(address, n_workers)


class ProphetForecaster(Forecaster):
    """One Prophet per series with calendar regressors, non-negative quantiles and scale-out.

    Parameters
    ----------
    n_jobs
        Parallel workers (joblib processes, or LocalCluster workers with ``backend="dask"``);
        1 runs serially, -1 uses every core.
    backend
        ``"joblib"`` or ``"dask"``.
    address
        Scheduler address of a running Dask cluster (``backend="dask"``); None starts a local
        cluster (kept for the rest of the session and closed at exit).
    seed
        Seed of the predictive sampling; series ``i`` uses ``SeedSequence((seed, i))``.
    uncertainty_samples
        Predictive samples per series (Prophet's default 1000; fewer is faster).
    holidays
        Use ``holiday_name`` of the regressors as Prophet holidays (daily data).
    regressor_names
        Regressors to add; default every suitable numeric variable (see
        :func:`~predgov.forecast.base.default_regressor_names`); with holidays on, ``holiday``
        itself is replaced by the named holidays.
    category_settings
        ``{category: {Prophet argument: value, "seasonalities": [add_seasonality kwargs]}}``.
    prophet_kwargs
        Prophet arguments for every series (e.g. ``{"changepoint_prior_scale": 0.1}``).
    progress
        Show a progress bar; None: only on a terminal and never under pytest.
    quantiles
        Quantile levels of the forecast.

    Examples
    --------
    >>> ProphetForecaster(n_jobs=2).get_params()["backend"]
    'joblib'
    """

    name: ClassVar[str] = "prophet"
    uses_regressors: ClassVar[bool] = True

    def __init__(
        self,
        n_jobs: int = 1,
        backend: str = "joblib",
        address: str | None = None,
        seed: int = 0,
        uncertainty_samples: int = 1000,
        holidays: bool = True,
        regressor_names: list[str] | None = None,
        category_settings: dict[str, dict[str, Any]] | None = None,
        prophet_kwargs: dict[str, Any] | None = None,
        progress: bool | None = None,
        quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    ) -> None:
        self.n_jobs = n_jobs
        self.backend = backend
        self.address = address
        self.seed = seed
        self.uncertainty_samples = uncertainty_samples
        self.holidays = holidays
        self.regressor_names = regressor_names
        self.category_settings = category_settings
        self.prophet_kwargs = prophet_kwargs
        self.progress = progress
        self.quantiles = quantiles

    # ------------------------------------------------------------------ helpers
    def _workers(self) -> int:
        n = int(self.n_jobs)
        if n == -1 or n == 0:
            return os.cpu_count() or 1
        return max(n, 1)

    def _map(self, fn: Any, tasks: list[dict[str, Any]], desc: str) -> list[Any]:
        from tqdm import tqdm

        show = _progress_enabled(self.progress)
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not tasks:
            return []
        # Fitted models come back pickled: unpickling them imports prophet here, so import it
        # (quietly: no "Importing plotly failed" on stderr) before any worker returns.
        _import_prophet()
        if self.backend == "dask":
            from distributed import as_completed

            client = _dask_client(self.address, self._workers())
            futures = client.map(fn, tasks, pure=False)
            bar = tqdm(total=len(futures), desc=desc, disable=not show)
            for _ in as_completed(futures, loop=client.loop):  # the client is not dask's default
                bar.update()
            bar.close()
            results = client.gather(futures)
            return list(results)
        if self._workers() == 1:
            return [fn(t) for t in tqdm(tasks, desc=desc, disable=not show)]
        from joblib import Parallel, delayed

        gen = Parallel(n_jobs=self._workers(), return_as="generator")(delayed(fn)(t) for t in tasks)
        return list(tqdm(gen, total=len(tasks), desc=desc, disable=not show))

    def _kwargs_for(self, category: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {
            "uncertainty_samples": int(self.uncertainty_samples),
            "daily_seasonality": False,
        }
        if self.freq_ != "D":
            kwargs["weekly_seasonality"] = False
        kwargs.update(dict(self.prophet_kwargs or {}))
        extra: list[dict[str, Any]] = []
        settings = (self.category_settings or {}).get(category) if category is not None else None
        if settings:
            settings = dict(settings)
            extra = list(settings.pop("seasonalities", []))
            kwargs.update(settings)
        return kwargs, extra

    def _holiday_frame(self, regressors: xr.Dataset | None, times: pd.DatetimeIndex) -> Any:
        if not self.use_holidays_ or regressors is None:
            return None
        names = regressors["holiday_name"].sel(time=times).values.astype(str)
        keep = names != ""
        if not keep.any():
            return None
        return pd.DataFrame(
            {"holiday": names[keep], "ds": times[keep], "lower_window": 0, "upper_window": 0}
        )

    def _frame(self, times: pd.DatetimeIndex, X: np.ndarray | None) -> pd.DataFrame:
        frame = pd.DataFrame({"ds": times})
        for j, name in enumerate(self.prophet_regressors_):
            col = self.regressor_names_.index(name)
            vals = X[:, col] if X is not None else np.zeros(len(times))
            frame[name] = np.where(np.isnan(vals), self.reg_fill_[j], vals)
        return frame

    # ------------------------------------------------------------------ fit / predict
    def fit(
        self, counts: xr.DataArray | xr.Dataset, regressors: xr.Dataset | None = None
    ) -> ProphetForecaster:
        """Fit one Prophet per series (see :meth:`Forecaster.fit`)."""
        self._regressors_in = regressors
        try:
            super().fit(counts, regressors)
        finally:
            self._regressors_in = None
        return self

    def _fit(self, values: np.ndarray, X: np.ndarray | None) -> None:
        regressors = self._regressors_in
        self._train_values = values
        times = self.train_time_
        self.use_holidays_ = bool(
            self.holidays and self.freq_ == "D" and regressors is not None
            and "holiday_name" in regressors
        )  # fmt: skip
        names = list(self.regressor_names_)
        if self.use_holidays_ and "holiday" in names:
            names.remove("holiday")
        self.prophet_regressors_ = names
        if X is not None and names:
            cols = [self.regressor_names_.index(n) for n in names]
            fill = np.nanmean(X[:, cols], axis=0) if len(X) else np.zeros(len(cols))
            self.reg_fill_ = np.nan_to_num(fill, nan=0.0)
        else:
            self.reg_fill_ = np.zeros(len(names))
        holidays = self._holiday_frame(regressors, times)
        frame = self._frame(times, X)
        status = series_status(values, max(season_length(self.freq_) // 2, 2))
        categories = self.layout_.values_of("category")
        tasks = []
        for i in np.flatnonzero(status == ""):
            category = str(categories[i]) if categories is not None else None
            kwargs, extra = self._kwargs_for(category)
            f = frame.copy()
            f["y"] = values[:, i]
            tasks.append({
                "index": int(i), "frame": f, "holidays": holidays, "kwargs": kwargs,
                "regressors": names, "seasonalities": extra,
                "seed": series_seed(self.seed, int(i)),
            })  # fmt: skip
        models: list[Any] = [None] * values.shape[1]
        errors: dict[int, str] = {}
        for idx, model, err in self._map(_fit_one, tasks, "prophet fit"):
            models[idx] = model
            if model is None:
                status[idx] = FIT_FAILED
                errors[idx] = err
        self.models_ = models
        self.fit_errors_ = errors
        self.fallback_ = status

    def predict(self, horizon: int, regressors: xr.Dataset | None = None) -> xr.Dataset:
        """Forecast with every fitted Prophet (see :meth:`Forecaster.predict`)."""
        self._regressors_in = regressors
        try:
            return super().predict(horizon, regressors)
        finally:
            self._regressors_in = None

    def _predict(self, horizon: int, X: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        regressors = self._regressors_in
        future = future_times(self.fit_origin_, self.freq_, horizon)
        if self.use_holidays_:
            if regressors is None or "holiday_name" not in regressors:
                raise ValueError(
                    "this ProphetForecaster was fitted with named holidays: pass regressors "
                    "with 'holiday_name' covering the forecast periods"
                )
            future_hol = self._holiday_frame(regressors, future)
        else:
            future_hol = None
        frame = self._frame(future, X)
        S, Q = self.n_series_, len(self.levels_)
        mean = np.zeros((S, horizon))
        quant = np.zeros((S, horizon, Q))
        tasks = [
            {"index": i, "model": m, "future": frame, "future_holidays": future_hol,
             "levels": self.levels_, "seed": series_seed(self.seed, i)}
            for i, m in enumerate(self.models_) if m is not None
        ]  # fmt: skip
        done = np.zeros(S, dtype=bool)
        for idx, m_i, q_i in self._map(_predict_one, tasks, "prophet predict"):
            if m_i is None:
                self.fallback_[idx] = FIT_FAILED
                continue
            mean[idx], quant[idx] = m_i, q_i
            done[idx] = True
        if (~done).any():
            fm, fq = simple_fallback(self._train_values[:, ~done], horizon, self.levels_)
            mean[~done], quant[~done] = fm, fq
        return mean, quant
