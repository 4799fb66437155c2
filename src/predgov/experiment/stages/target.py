"""Target stage: the off-season treatment list for the run's cube (issue 10 §3, §5).

Writes ``target/treatment_list.nc`` (the exact Dataset of
:func:`predgov.target.treatment_list`) and ``target/treatment_table.csv`` (the publishable
table of :func:`predgov.target.treatment_table`: plain numbers, withheld cells empty and named
in the ``suppressed`` column, like the other CSV tables of a run).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import xarray as xr

from predgov.data.cube import write_cube
from predgov.experiment.config import ConfigError, TargetConfig, VizConfig

log = logging.getLogger("predgov")

#: Leading word of a :func:`treatment_list` error → the config key it is about.
ERROR_KEYS = {
    "category": "target.category",
    "unit": "target.unit",
    "season": "target.season",
    "target": "target.forecast_window",
    "budget": "target.budget",
    "cost": "target.cost",
    "efficacy": "target.efficacy",
    "exposure": "target.exposure",
    "band": "target.use_forecast",
    "forecast": "target.use_forecast",
}


def config_error(err: ValueError, cfg: TargetConfig) -> ConfigError:
    """A :func:`treatment_list` error as a one-line ConfigError naming the config key.

    Examples
    --------
    >>> str(config_error(ValueError("category: unknown ['x'] in observed"), TargetConfig()))
    "invalid config value at 'target.category': unknown ['x'] in observed"
    >>> str(config_error(ValueError("cost must be ..."), TargetConfig(cost_per_household=2.0)))
    "invalid config value at 'target.cost_per_household': cost must be ..."
    """
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    match = re.match(r"(\w+)(?::\s*|=)", text)
    word = match.group(1) if match else text.split(" ", 1)[0]
    key = ERROR_KEYS.get(word, "target")
    if key == "target.cost" and cfg.cost_per_household is not None:
        key = "target.cost_per_household"
    if match and word in ERROR_KEYS and match.group(0).startswith(f"{word}:"):
        text = text[match.end() :]
    return ConfigError(f"invalid config value at '{key}': {text}")


def unit_cost(cfg: TargetConfig, cube: xr.Dataset) -> float | xr.DataArray:
    """The cost of treating each unit: ``cfg.cost``, or ``cfg.cost_per_household`` times the
    unit's ``households`` coordinate (a ConfigError when the cube has none on the unit).

    Examples
    --------
    >>> cube = xr.Dataset(coords={"district": ["a", "b"], "households": ("district", [10, 30])})
    >>> unit_cost(TargetConfig(cost_per_household=2.0), cube).values.tolist()
    [20.0, 60.0]
    >>> unit_cost(TargetConfig(cost=5.0), cube)
    5.0
    """
    if cfg.cost is not None:
        return float(cfg.cost)
    households = cube.coords.get("households")
    if households is None or households.dims != (cfg.unit,):
        raise ConfigError(
            "invalid config value at 'target.cost_per_household': the cube has no "
            f"'households' coordinate on {cfg.unit!r}; give target.cost (per unit) instead"
        )
    cost = households.astype("float64") * float(cfg.cost_per_household)  # type: ignore[arg-type]
    cost.name = "cost"
    return cost.reset_coords(drop=True)


def run_target_stage(
    cfg: TargetConfig,
    cube: xr.Dataset,
    forecast: xr.Dataset | None,
    viz: VizConfig,
    out_dir: Path,
) -> dict[str, Path]:
    """Write ``treatment_list.nc`` and ``treatment_table.csv`` into ``out_dir``.

    ``forecast`` is the forecast stage's Dataset (None when it did not run); it replaces history
    as next season's expected calls when ``cfg.use_forecast``. A config value the cube cannot
    honour (an unknown category or unit, no complete season) is a ConfigError naming the key.
    """
    from predgov.target import treatment_list, treatment_table

    use = forecast if cfg.use_forecast else None
    cost = unit_cost(cfg, cube)
    try:
        treatments = treatment_list(
            cube,
            use,
            budget=float(cfg.budget),  # type: ignore[arg-type]
            cost=cost,
            efficacy=float(cfg.efficacy),  # type: ignore[arg-type]
            unit=cfg.unit,
            category=cfg.category,
            season=None if cfg.season is None else list(cfg.season),
            target=None if cfg.forecast_window is None else list(cfg.forecast_window),
            shrink=None if use is not None else cfg.shrink,
            exposure=cfg.exposure,
            cost_units=cfg.cost_units,
        )
    except ValueError as err:
        raise config_error(err, cfg) from None
    treatments["efficacy"].attrs["source"] = str(cfg.efficacy_source)
    treatments.attrs["efficacy_source"] = str(cfg.efficacy_source)
    if forecast is not None and use is None:
        treatments.attrs["forecast"] = "not used (target.use_forecast=false)"
    elif use is None:
        treatments.attrs["forecast"] = "none (the forecast stage did not run)"
    if use is not None and cfg.shrink:
        log.info("target: ranking on the forecast; target.shrink applies to history only")

    out_dir.mkdir(parents=True, exist_ok=True)
    out = {"treatment_list": out_dir / "treatment_list.nc"}
    write_cube(treatments, out["treatment_list"])
    out["treatment_table"] = out_dir / "treatment_table.csv"
    table = treatment_table(treatments, min_count=viz.min_count)
    # Plain numbers; 10 significant digits keep costs exact and drop float noise.
    table.to_csv(out["treatment_table"], index=False, float_format="%.10g")
    return out
