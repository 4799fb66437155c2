"""Forecast stage: fit the configured model, forecast ahead, backtest against a baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import write_cube
from predgov.experiment.config import ConfigError, ForecastConfig, VizConfig
from predgov.experiment.stages.data import figure_date, save_and_close


def future_axis(cube: xr.Dataset, horizon: int) -> pd.DatetimeIndex:
    """The cube's time axis extended by ``horizon`` periods (for calendar regressors)."""
    times = pd.DatetimeIndex(cube["time"].values)
    return pd.date_range(times[0], periods=len(times) + horizon, freq=cube_freq(cube),
                         name="time")  # fmt: skip


def cube_freq(cube: xr.Dataset) -> str:
    """The cube's period ("D", "W-MON", "MS") from its time attrs."""
    return str(cube["time"].attrs.get("freq", cube.attrs.get("freq", "D")))


def check_backtest_fits(cfg: ForecastConfig, time: np.ndarray, horizon: int, step: int) -> None:
    """A config error naming the keys when the cube is too short for the backtest asked for."""
    from predgov.experiment.config import ConfigError
    from predgov.forecast.backtest import rolling_origins

    try:
        rolling_origins(time, horizon, cfg.backtest_origins, step)
    except ValueError as err:
        raise ConfigError(
            f"invalid config value at 'forecast.backtest_origins': {err}; lower "
            "forecast.backtest_origins / backtest_horizon / backtest_step, or 0 for no backtest"
        ) from None


def busiest_series(cube: xr.Dataset, n: int = 2) -> list[tuple[str, str]]:
    """The ``n`` (district, category) series with the most requests."""
    totals = cube["counts"].sum("time", skipna=True).stack(series=("district", "category"))
    order = np.argsort(-totals.values, kind="stable")[:n]
    return [tuple(map(str, totals["series"].values[i])) for i in order]


def _forecast_blocked(cfg: ForecastConfig, counts: xr.DataArray, horizon: int,
                      train_reg: xr.Dataset | None, future_reg: xr.Dataset | None) -> xr.Dataset:
    """The forecast over blocks of whole categories (``forecast.block_series``/``backend``);
    a model that pools over all series in a way blocks cannot reduce is a config error."""
    from predgov.forecast import make_forecaster
    from predgov.forecast.distributed import forecast_blocked, global_pooling
    from predgov.parallel import DEFAULT_BLOCK_SERIES

    model = make_forecaster(cfg.model, **cfg.params)
    reasons = global_pooling(model, counts)
    if reasons:
        raise ConfigError(f"invalid config value at 'forecast.block_series': {cfg.model} pools "
                          f"over series of different blocks ({'; '.join(reasons)}); run it in "
                          "one process (forecast.block_series=null, backend=serial)")  # fmt: skip
    return forecast_blocked(model, counts, horizon, train_reg, future_reg,
                            block_series=cfg.block_series or DEFAULT_BLOCK_SERIES,
                            backend=cfg.backend, scheduler=cfg.scheduler,
                            n_workers=cfg.n_workers)  # fmt: skip


def run_forecast_stage(
    cfg: ForecastConfig,
    cube: xr.Dataset,
    regressors: xr.Dataset | None,
    viz: VizConfig,
    out_dir: Path,
) -> dict[str, Path]:
    """Write ``forecast.nc``, backtest score tables and fan charts into ``out_dir``."""
    from predgov.forecast import make_forecaster
    from predgov.forecast.backtest import backtest
    from predgov.viz.forecast_figures import fan_chart

    out_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    counts = cube["counts"]
    horizon, back_horizon, back_step = cfg.periods(cube_freq(cube))
    train_reg = future_reg = None
    if regressors is not None:
        train_reg = regressors.sel(time=counts["time"])
        future_reg = regressors.isel(time=slice(counts.sizes["time"], None))

    if cfg.blocked:
        forecast = _forecast_blocked(cfg, counts, horizon, train_reg, future_reg)
    else:
        model = make_forecaster(cfg.model, **cfg.params).fit(counts, regressors=train_reg)
        forecast = model.predict(horizon, regressors=future_reg)
    out["forecast"] = out_dir / "forecast.nc"
    write_cube(forecast, out["forecast"])

    if cfg.backtest_origins > 0:
        check_backtest_fits(cfg, counts["time"].values, back_horizon, back_step)
        kwargs = dict(
            horizon=back_horizon,
            n_origins=cfg.backtest_origins,
            step=back_step,
            regressors=regressors,
        )
        result = backtest(make_forecaster(cfg.model, **cfg.params), counts, **kwargs)
        base = backtest(make_forecaster(cfg.baseline), counts, **kwargs)
        scores = pd.concat(
            {cfg.model: result.scores, cfg.baseline: base.scores}, names=["model"]
        )
        out["backtest_scores"] = out_dir / "backtest_scores.csv"
        scores.to_csv(out["backtest_scores"], float_format="%.6g")
        out["backtest_relative"] = out_dir / "backtest_relative.csv"
        result.relative_to(base).to_csv(out["backtest_relative"], float_format="%.6g")

    if not {"district", "category"} <= set(counts.dims):
        return out
    series = [tuple(s.split("/")) for s in cfg.fan_series] or busiest_series(cube)
    for district, category in series:
        stem = out_dir / "figures" / fan_chart_name(cube, district, category)
        fig = fan_chart(
            cube,
            forecast,
            district=district,
            category=category,
            n_history=3 * horizon,
            lang=viz.lang,
            min_count=viz.min_count,
            source=cube.attrs.get("source", ""),
            date=figure_date(viz, cube),
        )
        out.update(save_and_close(fig, stem, viz))
    return out


def fan_chart_name(cube: xr.Dataset, district: str, category: str) -> str:
    """File name (no suffix) of a series' fan chart: ``fan_d<i>_<code>``, from the district's
    position and the category's taxonomy code (its position, ``c<j>``, when the code is not a
    known one), never from label text (:func:`predgov.viz.save.file_slug`).

    Examples
    --------
    >>> cube = xr.Dataset(coords={"district": ["市南", "市北 13912345678"],
    ...                           "category": ["heating", "张三丰"]})
    >>> fan_chart_name(cube, "市北 13912345678", "heating")
    'fan_d01_heating'
    >>> fan_chart_name(cube, "市南", "张三丰")
    'fan_d00_c01'
    """
    from predgov.data.taxonomy import load_taxonomy
    from predgov.viz.save import file_slug

    districts = [str(v) for v in cube["district"].values]
    categories = [str(v) for v in cube["category"].values]
    for value, have, dim in ((district, districts, "district"), (category, categories,
                                                                 "category")):
        if value not in have:
            raise ValueError(f"forecast.fan_series: no such {dim} in the cube")
    try:
        known = set(load_taxonomy(str(cube.attrs.get("taxonomy") or cube.attrs.get("city")
                                      or "qingdao")).categories.index)
    except (FileNotFoundError, ValueError, KeyError):
        known = set()
    d = file_slug(district, districts.index(district), "d")
    c = file_slug(category, categories.index(category), "c", known)
    return f"fan_{d}_{c}"
