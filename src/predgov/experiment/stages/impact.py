"""Impact stage: how many calls a past action prevented, per treated unit and in total (issue 12).

Given the run's counts (the data stage's cube, or with ``impact.source=sim`` the sim stage's
simulated city) and a treated set (``impact.treated`` + ``impact.start``, or
``impact.treated_csv`` with columns ``unit,start``), the stage sums the selected categories,
optionally sums days into weeks or months (``impact.freq``), and calls
:func:`predgov.impact.estimate`, with the units' exposure when ``impact.exposure`` names a
cube coordinate or variable over the unit dim (``households``) or ``impact.exposure_csv`` a
CSV with columns ``unit,exposure`` (:func:`exposure_over`). It writes into ``impact/``:

* ``impact.nc`` — the estimate Dataset as returned (observed, counterfactual with its band,
  pointwise and cumulative effect, totals, the naive figure, attrs ``method``, ``level``,
  ``start``, ``checks``) plus the stage's own attrs (categories, source);
* ``impact.csv`` — one row per treated unit and a ``total`` row: observed and counterfactual
  calls over the post-period, effect (observed − counterfactual; negative = calls prevented)
  with its interval, relative effect, and the naive before/after figure (the same number of
  periods just before the start against the post-period; labelled naive: it mixes the action
  with season and chance). Plain numbers; counts of 1..min_count-1 and every column derived
  from them are withheld (empty, named in ``suppressed``), with complementary cells so the
  total row cannot give them back (:func:`predgov.data.suppress.publishable_counts`);
  simulated counts (``impact.source=sim``) count no person and are not suppressed (said in
  the CSV's first line, as in ``sim/effects.csv``);
* ``figures/impact.*`` — observed against counterfactual, pointwise and cumulative effect
  (:func:`predgov.viz.impact_figures.impact_figure`).

With ``impact.source=sim`` the truth is known: the paired difference between the arm's calls
and the reactive city's of the same seed (common random numbers) is added as
``true_effect`` (Dataset) and ``simulated_true_effect`` (CSV).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import read_cube, write_cube
from predgov.experiment.config import ConfigError, ImpactConfig, VizConfig, did_you_mean
from predgov.experiment.stages.sim import SIMULATED_NOTE

log = logging.getLogger("predgov")

#: Columns of ``impact.csv`` that hold counts of calls (withheld when 1..min_count-1).
COUNT_COLUMNS = ("observed", "naive_calls_before", "naive_calls_after")
#: Columns computed from the counts (withheld with them).
DERIVED_COLUMNS = {
    "effect": ["observed"],
    "effect_lo": ["observed"],
    "effect_hi": ["observed"],
    "relative_effect": ["observed"],
    "naive_change": ["naive_calls_before", "naive_calls_after"],
    "naive_relative_change": ["naive_calls_before", "naive_calls_after"],
}


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"invalid config value at '{key}': {message}")


def select_categories(da: xr.DataArray, category: str | list[str] | None) -> xr.DataArray:
    """``da`` summed over the chosen categories (every category when None); a ConfigError
    names unknown ones.

    Examples
    --------
    >>> da = xr.DataArray(np.ones((2, 3)), dims=("time", "category"),
    ...                   coords={"category": ["noise", "heating", "gas"]})
    >>> select_categories(da, ["noise", "gas"]).values.tolist()
    [2.0, 2.0]
    >>> select_categories(da, "nois")
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: invalid config value at 'impact.category': unknown \
['nois'] (did you mean 'noise'?)...
    """
    if "category" not in da.dims:
        if category is not None:
            raise _fail("impact.category", "the counts have no category dim; leave it null")
        return da
    have = [str(c) for c in da["category"].values]
    wanted = have if category is None else [category] if isinstance(category, str) else category
    unknown = [c for c in wanted if c not in have]
    if unknown:
        raise _fail("impact.category", f"unknown {unknown}{did_you_mean(unknown[0], have)}; "
                                       f"the counts have {have}")  # fmt: skip
    return da.sel(category=list(wanted)).sum("category", skipna=False, keep_attrs=True)


def unit_counts(cfg: ImpactConfig, counts: xr.DataArray) -> tuple[xr.DataArray, str]:
    """Counts over ``(time, unit)``: categories selected and summed, other dims summed, days
    summed into ``cfg.freq`` periods, cut at ``cfg.end``, partly observed edge periods dropped.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=14)
    >>> da = xr.DataArray(np.ones((14, 2, 2)), dims=("time", "district", "category"),
    ...                   coords={"time": t, "district": ["a", "b"], "category": ["x", "y"]})
    >>> da["time"].attrs["freq"] = "D"
    >>> out, unit = unit_counts(ImpactConfig(category="x", freq="W-MON"), da)
    >>> unit, out.dims, out.values[:, 0].tolist()
    ('district', ('time', 'district'), [7.0, 7.0])
    """
    from predgov.data.cube import resample_counts
    from predgov.data.freq import freq_of

    da = select_categories(counts, cfg.category)
    others = [str(d) for d in da.dims if d != "time"]
    if not others:
        raise _fail("impact.unit", "the counts have no unit dim besides time")
    unit = cfg.unit if cfg.unit is not None else others[0]
    if unit not in others:
        raise _fail("impact.unit", f"no unit dim {unit!r}{did_you_mean(unit, others)}; the "
                                   f"counts have {others}")  # fmt: skip
    extra = [d for d in others if d != unit]
    if extra:
        da = da.sum(extra, skipna=False, keep_attrs=True)
    freq = freq_of(counts)
    da = da.transpose("time", unit)
    da["time"].attrs["freq"] = freq
    if cfg.end is not None:
        da = da.sel(time=slice(None, pd.Timestamp(cfg.end)))
    if cfg.freq is not None and cfg.freq != freq:
        ds = resample_counts(da.rename("counts").to_dataset(), cfg.freq, partial="mask")
        da = ds["counts"]
        da["time"].attrs["freq"] = cfg.freq
    observed = np.isfinite(np.asarray(da.values, dtype=float)).all(axis=1)
    if not observed.any():
        raise _fail("impact", "no period of the counts is observed for every unit")
    first, last = np.flatnonzero(observed)[[0, -1]]
    da = da.isel(time=slice(int(first), int(last) + 1))
    if not np.isfinite(np.asarray(da.values, dtype=float)).all():
        raise _fail("impact", "the counts have unobserved periods inside the period analysed")
    return da.rename("counts"), unit


def check_treated(treated: dict[str, str], da: xr.DataArray, unit: str, key: str) -> None:
    """A ConfigError naming every treated unit the counts do not have, and starts that leave
    no pre- or post-period.

    Examples
    --------
    >>> da = xr.DataArray(np.ones((3, 2)), dims=("time", "district"),
    ...                   coords={"time": pd.date_range("2024-01-01", periods=3),
    ...                           "district": ["市南", "市北"]})
    >>> check_treated({"市南": "2024-01-02", "崂山": "2024-01-02", "X": "2024-01-02"}, da,
    ...               "district", "impact.treated")
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: invalid config value at 'impact.treated': unknown \
district ['崂山', 'X']; the counts have ['市南', '市北']
    """
    have = [str(u) for u in da[unit].values]
    unknown = [u for u in treated if u not in have]
    if unknown:
        shown = have if len(have) <= 20 else [*have[:20], "..."]
        raise _fail(key, f"unknown {unit} {unknown}{did_you_mean(unknown[0], have)}; the "
                         f"counts have {shown}")  # fmt: skip
    if len(treated) >= len(have):
        raise _fail(key, f"every {unit} is treated: the estimate needs untreated units too "
                         "(or method its)")  # fmt: skip
    times = pd.DatetimeIndex(da["time"].values)
    skey = "impact.start" if key == "impact.treated" else key
    for u, day in treated.items():
        ts = pd.Timestamp(day)
        if not times[0] < ts <= times[-1]:
            raise _fail(skey, f"start {day} of {u} leaves no pre- or post-period in the data "
                              f"{times[0].date()}..{times[-1].date()}")  # fmt: skip


def covariates_over(names: list[str], cube: xr.Dataset, regressors: xr.Dataset | None,
                    times: pd.DatetimeIndex, freq: str) -> xr.Dataset | None:  # fmt: skip
    """The named covariates over ``times``: variables of ``cube`` over time only
    (``temperature``) or of the place's calendar ``regressors``, averaged over each period
    when ``freq`` is coarser than the source; a ConfigError names an unknown one.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=14)
    >>> cube = xr.Dataset({"temperature": ("time", np.arange(14.0))}, coords={"time": t})
    >>> cov = covariates_over(["temperature"], cube, None, pd.DatetimeIndex(t[[0, 7]]), "W-MON")
    >>> cov["temperature"].values.tolist()
    [3.0, 10.0]
    """
    if not names:
        return None
    from predgov.data.freq import period_start

    known: dict[str, xr.DataArray] = {}
    for source in (regressors, cube):
        if source is None:
            continue
        for name, var in source.data_vars.items():
            if var.dims == ("time",) and (np.issubdtype(var.dtype, np.number) or var.dtype == bool):
                known[str(name)] = var
    out = {}
    for name in names:
        if name not in known:
            raise _fail("impact.covariates", f"unknown covariate {name!r}"
                                             f"{did_you_mean(name, known)}; have "
                                             f"{sorted(known)}")  # fmt: skip
        var = known[name].astype(float)
        if freq != "D":
            labels = period_start(var["time"].values, freq)
            var = var.assign_coords(time=labels).groupby("time").mean()
        missing = ~pd.DatetimeIndex(times).isin(pd.DatetimeIndex(var["time"].values))
        if missing.any():
            raise _fail("impact.covariates", f"{name!r} does not cover "
                                             f"{pd.DatetimeIndex(times)[missing][0].date()}")
        out[name] = var.sel(time=times).reset_coords(drop=True)
    return xr.Dataset(out)


def exposure_over(cfg: ImpactConfig, cube: xr.Dataset | None, counts: xr.DataArray,
                  unit: str) -> xr.DataArray | None:  # fmt: skip
    """The units' exposure (households, residents) for :func:`predgov.impact.estimate`: from
    ``impact.exposure``, a coordinate or variable of ``cube`` over the unit dim (a level per
    unit; one over time too is averaged over each period of ``counts``), or from
    ``impact.exposure_csv`` (columns ``unit,exposure``); None when neither is set. A
    ConfigError names the key when the name is unknown, the variable is not over the unit dim,
    or a unit of the counts has no positive exposure.

    Examples
    --------
    >>> da = xr.DataArray(np.ones((3, 2)), dims=("time", "district"),
    ...                   coords={"time": pd.date_range("2024-01-01", periods=3),
    ...                           "district": ["a", "b"]})
    >>> cube = xr.Dataset(coords={"district": ["a", "b"], "households": ("district", [5, 7])})
    >>> exposure_over(ImpactConfig(exposure="households"), cube, da, "district").values.tolist()
    [5.0, 7.0]
    >>> exposure_over(ImpactConfig(exposure="houshold"), cube, da, "district")
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: invalid config value at 'impact.exposure': unknown \
'houshold' (did you mean 'households'?); the cube has ['households'] over district
    """
    units = [str(u) for u in counts[unit].values]
    if cfg.exposure_csv is not None:
        table = cfg.exposure_table()
        missing = [u for u in units if u not in table]
        if missing:
            raise _fail("impact.exposure_csv", f"no exposure for {unit} {missing[:10]}")
        return xr.DataArray([table[u] for u in units], dims=unit, coords={unit: counts[unit]},
                            name="exposure")  # fmt: skip
    if cfg.exposure is None:
        return None
    key, name = "impact.exposure", cfg.exposure
    if cfg.source == "sim" or cube is None:
        raise _fail(key, "with impact.source=sim there is no cube to take it from: give "
                         "impact.exposure_csv (columns unit,exposure)")  # fmt: skip
    over = {str(n): v for n, v in {**cube.coords, **cube.data_vars}.items()
            if unit in v.dims and set(map(str, v.dims)) <= {"time", unit}
            and np.issubdtype(v.dtype, np.number)}  # fmt: skip
    if name not in over:
        raise _fail(key, f"unknown {name!r}{did_you_mean(name, list(over))}; the cube has "
                         f"{sorted(over)} over {unit}")  # fmt: skip
    var = over[name].astype(float).reset_coords(drop=True)
    var = var.assign_coords({unit: [str(u) for u in var[unit].values]})
    gone = [u for u in units if u not in set(var[unit].values.tolist())]
    if gone:
        raise _fail(key, f"{name!r} has no value for {unit} {gone[:10]}")
    var = var.sel({unit: units})
    if "time" in var.dims:
        from predgov.data.freq import freq_of, period_start

        freq = freq_of(counts)
        if freq != "D":
            labels = period_start(var["time"].values, freq)
            var = var.assign_coords(time=labels).groupby("time").mean()
        times = pd.DatetimeIndex(counts["time"].values)
        if not times.isin(pd.DatetimeIndex(var["time"].values)).all():
            raise _fail(key, f"{name!r} does not cover the periods of the counts")
        var = var.sel(time=times).transpose("time", unit)
    values = np.asarray(var.values, dtype=float)
    if not (np.isfinite(values) & (values > 0)).all():
        raise _fail(key, f"{name!r} must be positive for every {unit}")
    return var.assign_coords({unit: counts[unit].values}).rename(name)


def sim_counts(cfg: ImpactConfig, files: dict[str, Path]) -> tuple[xr.DataArray, xr.DataArray]:
    """The simulated city's calls of one run (``policy`` arm, ``budget``, ``seed``) and of
    the reactive city of the same seed: ``(observed, reactive)`` over (time, district,
    category). A reactive season without interventions is its own baseline (true effect 0).
    """
    if "experiment" in files:
        ds = read_cube(files["experiment"])
        calls = ds["calls"]
        baseline = str(ds.attrs.get("baseline", "reactive"))
        arms = [str(p) for p in ds["policy"].values if str(p) != baseline]
        policy = cfg.sim_policy if cfg.sim_policy is not None else arms[0]
        if policy not in arms:
            raise _fail("impact.sim_policy", f"no arm {policy!r}{did_you_mean(policy, arms)}; "
                                             f"the experiment ran {arms}")  # fmt: skip
        budgets = [float(b) for b in ds["budget"].values]
        budget = cfg.sim_budget if cfg.sim_budget is not None else budgets[0]
        if budget not in budgets:
            raise _fail("impact.sim_budget", f"no budget {budget:g}; the experiment ran "
                                             f"{budgets}")  # fmt: skip
        seeds = [int(s) for s in ds["seed"].values]
        seed = cfg.sim_seed if cfg.sim_seed is not None else seeds[0]
        if seed not in seeds:
            raise _fail("impact.sim_seed", f"no seed {seed}; the experiment ran {seeds}")
        run = calls.sel(budget=budget, seed=seed)
        observed, reactive = run.sel(policy=policy), run.sel(policy=baseline)
        label = f"simulated city, arm {policy}, budget {budget:g}, seed {seed}"
    elif "sim" in files:
        if cfg.sim_policy is not None or cfg.sim_budget is not None:
            raise _fail("impact.sim_policy", "the sim stage ran the reactive city only (no "
                                             "sim.interventions): leave it null")  # fmt: skip
        counts = read_cube(files["sim"])["counts"]
        if "seed" in counts.dims:
            seeds = [int(s) for s in counts["seed"].values]
            seed = cfg.sim_seed if cfg.sim_seed is not None else seeds[0]
            if seed not in seeds:
                raise _fail("impact.sim_seed", f"no seed {seed}; the simulation ran {seeds}")
            counts = counts.sel(seed=seed)
        observed = reactive = counts
        label = "simulated reactive city (no action: the true effect is 0)"
    else:
        raise _fail("impact.source", "impact.source=sim needs the sim stage's output")
    observed = observed.reset_coords(drop=True)
    observed["time"].attrs["freq"] = "D"
    observed.attrs["source"] = label
    reactive = reactive.reset_coords(drop=True)
    reactive["time"].attrs["freq"] = "D"
    return observed, reactive


def _post(est: xr.Dataset, unit: str) -> xr.DataArray:
    """``post(time, unit)`` of the estimate as booleans."""
    return est["post"].astype(bool).transpose("time", unit)


def _total_over_post(var: xr.DataArray, post: xr.DataArray) -> xr.DataArray:
    return var.where(post, 0.0).sum("time")


def naive_before_after(da: xr.DataArray, post: xr.DataArray, unit: str) -> pd.DataFrame:
    """Per unit, the raw comparison officials quote (the rule of the estimate's
    ``naive_effect``, so the table's total row equals it): year on year — the post-period's
    calls against the same periods a year earlier — when the data reach back, else before vs
    after — against as many periods just before the start (scaled to the post-period's length
    when the data hold fewer). Columns ``naive_calls_before``, ``naive_calls_after``,
    ``naive_kind``.

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=6)
    >>> da = xr.DataArray([[5, 1], [5, 1], [9, 1], [2, 1], [2, 1], [2, 1]], dims=("time", "d"),
    ...                   coords={"time": t, "d": ["a", "b"]})
    >>> da["time"].attrs["freq"] = "D"
    >>> post = xr.zeros_like(da, dtype=bool)
    >>> post[3:, 0] = True
    >>> naive_before_after(da, post.sel(d=["a"]), "d").to_dict("index")
    {'a': {'naive_calls_before': 19.0, 'naive_calls_after': 6.0, 'naive_kind': 'before_after'}}
    """
    from predgov.data.freq import freq_of, year_lag

    lag = year_lag(freq_of(da))
    T = da.sizes["time"]
    starts = {}
    for u in post[unit].values:
        mask = np.asarray(post.sel({unit: u}).values, dtype=bool)
        starts[u] = int(np.argmax(mask)) if mask.any() else T
    yoy = all(s - lag >= 0 and T - s <= lag for s in starts.values())
    rows = {}
    for u, s in starts.items():
        values = np.asarray(da.sel({unit: u}).values, dtype=float)
        h = T - s
        if yoy:
            before = float(values[s - lag : T - lag].sum())
        else:
            lo = max(0, s - h)
            before = float(values[lo:s].sum()) * h / (s - lo) if s > lo else float("nan")
        rows[str(u)] = {"naive_calls_before": before, "naive_calls_after": float(values[s:].sum()),
                        "naive_kind": "year_on_year" if yoy else "before_after"}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index")


def impact_frame(est: xr.Dataset, counts: xr.DataArray, unit: str, starts: dict[str, str],
                 truth: xr.DataArray | None = None) -> pd.DataFrame:  # fmt: skip
    """The raw table: one row per treated unit and a ``total`` row (post-period totals).

    ``starts`` maps each treated unit to its configured first treated day (``start``);
    ``first_post_period`` is the first period the estimate counts as treated (a week or month
    holding the start day counts as before it when the start falls inside it).

    ``effect_lo``/``effect_hi`` of a unit are its cumulative effect's bounds at the end of the
    post-period; the total row takes ``total_effect_lo``/``_hi``. ``truth`` (time, unit),
    when known (simulation), adds ``simulated_true_effect``.
    """
    post = _post(est, unit)
    treated = [u for u in post[unit].values if bool(post.sel({unit: u}).any())]
    post = post.sel({unit: treated})
    observed = _total_over_post(est["observed"].sel({unit: treated}), post)
    counterfactual = _total_over_post(est["counterfactual"].sel({unit: treated}), post)
    frame = pd.DataFrame({unit: [str(u) for u in treated]})
    frame["start"] = [str(starts.get(str(u), "")) for u in treated]
    frame["first_post_period"] = [str(pd.Timestamp(est["time"].values[int(np.argmax(
        post.sel({unit: u}).values))]).date()) for u in treated]  # fmt: skip
    frame["post_periods"] = [int(post.sel({unit: u}).sum()) for u in treated]
    frame["observed"] = np.round(observed.values.astype(float), 6)
    frame["counterfactual"] = counterfactual.values.astype(float)
    frame["effect"] = frame["observed"] - frame["counterfactual"]
    cum = est["cumulative_effect_lo"], est["cumulative_effect_hi"]
    for col, var in zip(("effect_lo", "effect_hi"), cum, strict=True):
        if unit in var.dims:
            last = var.sel({unit: treated}).isel(time=-1)
            frame[col] = last.values.astype(float)
        else:
            frame[col] = np.nan
    frame["relative_effect"] = frame["effect"] / frame["counterfactual"].where(
        frame["counterfactual"] > 0)
    naive = naive_before_after(counts, post, unit)
    frame["naive_calls_before"] = naive["naive_calls_before"].values
    frame["naive_calls_after"] = naive["naive_calls_after"].values
    frame["naive_kind"] = naive["naive_kind"].values
    total = {unit: "total", "start": min(frame["start"]),
             "first_post_period": min(frame["first_post_period"]),
             "post_periods": int(post.any(unit).sum()),
             "observed": float(frame["observed"].sum()),
             "counterfactual": float(frame["counterfactual"].sum())}  # fmt: skip
    total["effect"] = total["observed"] - total["counterfactual"]
    total["effect_lo"] = float(est["total_effect_lo"])
    total["effect_hi"] = float(est["total_effect_hi"])
    total["relative_effect"] = (total["effect"] / total["counterfactual"]
                                if total["counterfactual"] > 0 else np.nan)  # fmt: skip
    total["naive_calls_before"] = float(frame["naive_calls_before"].sum())
    total["naive_calls_after"] = float(frame["naive_calls_after"].sum())
    total["naive_kind"] = str(frame["naive_kind"].iloc[0])
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    frame["naive_change"] = frame["naive_calls_after"] - frame["naive_calls_before"]
    frame["naive_relative_change"] = frame["naive_change"] / frame["naive_calls_before"].where(
        frame["naive_calls_before"] > 0)
    if truth is not None:
        true = _total_over_post(truth.sel({unit: treated}), post).values.astype(float)
        frame["simulated_true_effect"] = [*true, float(true.sum())]
    frame["level"] = float(est.attrs.get("level", np.nan))
    frame["method"] = str(est.attrs.get("method", ""))
    return frame


def impact_table(frame: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """The published table: plain numbers rounded to 0.1 call (relative effects to 0.001);
    counts of 1..min_count-1, their complementary cells (the total row is known) and the
    columns derived from them withheld (empty) and named in ``suppressed``.

    Examples
    --------
    >>> f = pd.DataFrame({"district": ["a", "b", "total"], "observed": [3.0, 40.0, 43.0],
    ...                   "counterfactual": [6.0, 50.0, 56.0], "effect": [-3.0, -10.0, -13.0],
    ...                   "effect_lo": [-6.0, -20.0, -25.0], "effect_hi": [0.0, 0.0, -1.0],
    ...                   "relative_effect": [-0.5, -0.2, -0.23],
    ...                   "naive_calls_before": [9.0, 50.0, 59.0],
    ...                   "naive_calls_after": [3.0, 40.0, 43.0],
    ...                   "naive_change": [-6.0, -10.0, -16.0],
    ...                   "naive_relative_change": [-0.67, -0.2, -0.27]})
    >>> t = impact_table(f, 5)
    >>> t["observed"].isna().tolist(), t.loc[0, "effect"] is pd.NA or pd.isna(t.loc[0, "effect"])
    ([True, True, False], True)
    """
    from predgov.data.suppress import publishable_counts

    out = frame.copy()
    for col in out.columns:
        if col.startswith("relative") or col.endswith("relative_change"):
            out[col] = out[col].round(3)
        elif col in ("level",):
            continue
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(1)
    derived = {c: s for c, s in DERIVED_COLUMNS.items() if c in out}
    if "simulated_true_effect" in out:
        derived["simulated_true_effect"] = ["observed"]
    return publishable_counts(out, list(COUNT_COLUMNS), derived=derived, min_count=min_count,
                              lines="columns")  # fmt: skip


def run_impact_stage(
    cfg: ImpactConfig,
    cube: xr.Dataset,
    regressors: xr.Dataset | None,
    viz: VizConfig,
    out_dir: Path,
    sim_files: dict[str, Path] | None = None,
) -> dict[str, Path]:
    """Estimate the effect of the configured action and write ``impact.nc``, ``impact.csv``
    and ``figures/impact.*`` into ``out_dir``; return the files by role.

    A config value the counts cannot honour (an unknown unit, category or covariate, a start
    outside the data) is a ConfigError naming the key.
    """
    from predgov.data.freq import freq_of
    from predgov.experiment.stages.data import save_and_close
    from predgov.impact import estimate
    from predgov.viz.impact_figures import impact_figure

    truth = None
    if cfg.source == "sim":
        raw, reactive = sim_counts(cfg, dict(sim_files or {}))
        source = str(raw.attrs["source"])
    else:
        raw = cube["counts"]
        source = str(cube.attrs.get("source", "the run's cube"))
    counts, unit = unit_counts(cfg, raw)
    if cfg.source == "sim":
        base, _ = unit_counts(cfg, reactive)
        truth = (counts - base.sel(time=counts["time"])).rename("true_effect")
    key = "impact.treated_csv" if cfg.treated_csv is not None else "impact.treated"
    treated = cfg.treated_set()
    check_treated(treated, counts, unit, key)
    freq = freq_of(counts)
    times = pd.DatetimeIndex(counts["time"].values)
    covariates = covariates_over(list(cfg.covariates), cube if cfg.source == "cube" else
                                 xr.Dataset(), regressors, times, freq)  # fmt: skip
    exposure = exposure_over(cfg, cube if cfg.source == "cube" else None, counts, unit)
    starts = set(treated.values())
    start = next(iter(starts)) if len(starts) == 1 else dict(treated)
    try:
        est = estimate(counts, treated=list(treated), start=start, method=cfg.method,
                       covariates=covariates, level=cfg.level, unit_dim=unit,
                       seed=cfg.seed, exposure=exposure)  # fmt: skip
    except ValueError as err:
        text = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"invalid config value at 'impact': {text}") from None
    categories = cfg.category if cfg.category is not None else "all"
    est.attrs.update(
        categories=categories if isinstance(categories, str) else ",".join(categories),
        counts_source=source, unit=unit, freq=freq, covariates=",".join(cfg.covariates),
        treated_from=key,
        exposure=cfg.exposure or ("impact.exposure_csv" if cfg.exposure_csv else ""),
    )  # fmt: skip
    if truth is not None:
        truth = truth.sel({unit: est[unit].values})
        est["true_effect"] = truth.assign_attrs(
            long_name="simulated true effect: the arm's calls minus the reactive city's of the "
                      "same seed (common random numbers)", units="requests")  # fmt: skip
        post = _post(est, unit)
        est["true_total_effect"] = truth.where(post, 0.0).sum().assign_attrs(units="requests")

    out_dir.mkdir(parents=True, exist_ok=True)
    out = {"impact": out_dir / "impact.nc"}
    write_cube(est, out["impact"])
    frame = impact_frame(est, counts, unit, treated, truth)
    out["impact_table"] = out_dir / "impact.csv"
    # Simulated calls count no person: small-cell suppression does not apply (as in sim/).
    min_count = 1 if cfg.source == "sim" else viz.min_count
    table = impact_table(frame, min_count)
    with open(out["impact_table"], "w", encoding="utf-8", newline="") as fh:
        if cfg.source == "sim":
            fh.write(f"# {SIMULATED_NOTE} (read with pandas.read_csv(..., comment='#'))\n")
        table.to_csv(fh, index=False, float_format="%.10g")
    date = viz.date or str(times[-1].date())
    fig = impact_figure(est, lang=viz.lang, date=date, source=source, min_count=min_count)
    out.update(save_and_close(fig, out_dir / "figures" / "impact", viz))
    total, lo, hi = (float(est[v]) for v in ("total_effect", "total_effect_lo",
                                             "total_effect_hi"))  # fmt: skip
    naive = table["naive_change"].iloc[-1]
    log.info("impact: %s, effect %+.1f calls (%.0f %% interval %+.1f..%+.1f); naive %s %s "
             "(not an effect)", est.attrs.get("method"), total, 100 * cfg.level, lo, hi,
             str(frame["naive_kind"].iloc[-1]).replace("_", " "),
             "withheld" if pd.isna(naive) else f"{float(naive):+.1f}")  # fmt: skip
    return out
