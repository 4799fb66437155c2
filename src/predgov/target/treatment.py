"""The off-season treatment list: which units to treat before the season, at what cost.

"冬病夏治" in SEED_BRIEF.md: the heating company analysed last season's 44,000 heating calls to
find trouble-prone estates and flushed them in summer. :func:`treatment_list` turns a cube (real
or simulated) into that work list: every unit (district, grid, estate, ward) with the calls it
is expected to make next season, the calls a treatment would avert, its cost, and the running
total down the list against the budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import rollup
from predgov.forecast.base import as_counts, check_freq, infer_freq
from predgov.target.shrink import shrink_rates
from predgov.target.window import season_window

#: How units are chosen, written into ``attrs["selection"]``.
SELECTION = (
    "greedy knapsack: units in decreasing calls averted per unit cost (ties: more calls averted, "
    "then unit label), funded down the list while the cumulative cost stays within the budget; "
    "the list stops at the first unit that does not fit (no skipping ahead to cheaper units); "
    "units expected to avert no calls (or with no history and no shrinkage) are never funded"
)

#: How a published copy of the list is made, written into ``attrs["publication"]``.
PUBLICATION = (
    "values are exact; publish with predgov.target.treatment_table, which withholds history "
    "counts of 1..4 calls and every column derived from them"
)


def _positive_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    number = float(value)
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def _labels_text(labels: Sequence[Any], limit: int = 8) -> str:
    shown = [str(x) for x in list(labels)[:limit]]
    more = f" ... ({len(labels)} in all)" if len(labels) > limit else ""
    return f"{shown}{more}"


def _resolve_unit(da: xr.DataArray, unit: str | None) -> tuple[xr.DataArray, str]:
    """The counts with ``unit`` as a dim: a dim as is, or a 1-D coordinate rolled up."""
    if unit is None:
        candidates = [d for d in da.dims if d not in ("time", "category")]
        if not candidates:
            raise ValueError(
                f"unit: observed has no unit dim besides time and category (dims {da.dims})"
            )
        return da, str(candidates[0])
    if unit == "time" or not isinstance(unit, str):
        raise ValueError(f"unit must name a dim of observed other than time, got {unit!r}")
    if unit in da.dims:
        return da, unit
    coord = da.coords.get(unit)
    if coord is not None and coord.ndim == 1 and coord.dims[0] != "time":
        return rollup(da, str(coord.dims[0]), unit), unit
    raise ValueError(
        f"unit: {unit!r} is neither a dim of observed nor a coordinate to group one by "
        f"(dims {da.dims})"
    )


def _select(
    da: xr.DataArray, category: str | Sequence[str] | None, unit: str | None, name: str
) -> tuple[xr.DataArray, str]:
    """Select categories, roll up to ``unit`` and sum every other non-time dim (NaN kept)."""
    label = "all"
    if category is not None:
        if "category" not in da.dims:
            raise ValueError(f"category: {name} has no 'category' dim (dims {da.dims})")
        wanted = [category] if isinstance(category, str) else list(category)
        known = [str(c) for c in da["category"].values]
        unknown = [c for c in wanted if str(c) not in known]
        if not wanted or unknown:
            raise ValueError(
                f"category: unknown {unknown or wanted!r} in {name}; it has {_labels_text(known)}"
            )
        wanted_text = {str(c) for c in wanted}
        da = da.sel(category=[c for c in da["category"].values if str(c) in wanted_text])
        label = ", ".join(map(str, wanted))
    da, unit = _resolve_unit(da, unit)
    rest = [d for d in da.dims if d not in ("time", unit)]
    if rest:
        da = da.sum(rest, skipna=False)
    return da.transpose("time", unit), label


def _per_unit(
    value: Any,
    name: str,
    units: pd.Index,
    unit: str,
    *,
    low: float,
    high: float | None,
    open_low: bool,
) -> np.ndarray:
    """A scalar, a DataArray over ``unit`` or a mapping unit → value, as an array over units."""
    if isinstance(value, pd.Series):
        value = value.to_dict()
    if isinstance(value, xr.DataArray):
        if value.dims != (unit,):
            raise ValueError(
                f"{name} must be a scalar or a DataArray over ({unit!r},), got dims {value.dims}"
            )
        have = pd.Index(value[unit].values)
        missing = units[~units.isin(have)]
        if len(missing):
            raise ValueError(f"{name}: no value for {unit} {_labels_text(missing)}")
        values = value.sel({unit: units.values}).values
    elif isinstance(value, Mapping):
        missing = [u for u in units if u not in value]
        if missing:
            raise ValueError(f"{name}: no value for {unit} {_labels_text(missing)}")
        values = [value[u] for u in units]
    elif isinstance(value, Real) and not isinstance(value, bool):
        values = np.full(len(units), float(value))
    else:
        raise ValueError(
            f"{name} must be a number, a DataArray over {unit!r} or a mapping {unit} -> number, "
            f"got {type(value).__name__}"
        )
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers") from None
    bad = ~np.isfinite(arr) | ((arr <= low) if open_low else (arr < low))
    if high is not None:
        bad |= arr > high
    if bad.any():
        where = units[bad]
        rule = f"{'>' if open_low else '>='} {low:g}" + (f" and <= {high:g}" if high else "")
        raise ValueError(
            f"{name} must be finite and {rule}; not so for {unit} {_labels_text(where)} "
            f"(values {arr[bad][:4].tolist()})"
        )
    return arr


def _forecast_window(
    forecast: xr.Dataset,
    category: Any,
    unit: str,
    units: pd.Index,
    target: Any,
    band: tuple[float, float] | None,
) -> tuple[np.ndarray, np.ndarray | None, str, str]:
    """Expected calls (and band) per unit over the target window of a forecast Dataset."""
    if not isinstance(forecast, xr.Dataset) or "mean" not in forecast.data_vars:
        raise ValueError(
            "forecast must be a forecast Dataset with a 'mean' variable "
            "(predgov.forecast ... .predict(h))"
        )
    mean = forecast["mean"]
    if "time" not in mean.dims:
        raise ValueError(f"forecast: 'mean' has no time dim (dims {mean.dims})")
    freq = forecast.attrs.get("freq") or mean["time"].attrs.get("freq")
    freq = freq or infer_freq(pd.DatetimeIndex(mean["time"].values))
    try:
        freq = check_freq(str(freq)) if freq else None
    except ValueError as err:
        raise ValueError(f"forecast: {err}") from None
    if freq is None:
        raise ValueError("forecast: cannot tell its frequency; set forecast.attrs['freq']")
    win = season_window(mean["time"].values, freq, target, pick="first", name="target")
    values = np.asarray(mean.values, dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("forecast: 'mean' holds NaN, infinite or negative values")
    picked, _ = _select(mean.isel(time=win.mask), category, unit, "forecast")
    have = pd.Index(picked[unit].values)
    missing = units[~units.isin(have)]
    if len(missing):
        raise ValueError(f"forecast: no forecast for {unit} {_labels_text(missing)}")
    expected = picked.sel({unit: units.values}).sum("time").values
    interval = None
    if band is not None and "quantiles" in forecast.data_vars:
        levels = np.asarray(forecast["quantile"].values, dtype=np.float64)
        if len(band) != 2 or not band[0] < band[1]:
            raise ValueError(f"band must be (low, high) quantile levels, got {band!r}")
        idx = [int(np.argmin(np.abs(levels - q))) for q in band]
        if not all(np.isclose(levels[i], q) for i, q in zip(idx, band, strict=True)):
            raise ValueError(
                f"band: levels {band} not among the forecast's quantiles {levels.tolist()}"
            )
        quant = forecast["quantiles"].isel(time=win.mask)
        ends = []
        for i in idx:
            summed, _ = _select(quant.isel(quantile=i, drop=True), category, unit, "forecast")
            ends.append(summed.sel({unit: units.values}).sum("time").values)
        interval = np.stack(ends)
    origin = forecast.attrs.get("fit_origin", "unknown")
    source = f"forecast {forecast.attrs.get('model', 'unknown model')} (fit origin {origin})"
    return expected, interval, source, win.label()


def treatment_list(
    observed: xr.Dataset | xr.DataArray,
    forecast: xr.Dataset | None = None,
    *,
    budget: float,
    cost: float | xr.DataArray | Mapping[Any, float],
    efficacy: float | xr.DataArray,
    unit: str | None = None,
    category: str | Sequence[str] | None = None,
    season: Sequence[Any] | None = None,
    target: Sequence[Any] | None = None,
    shrink: bool | None = None,
    exposure: str | xr.DataArray | None = None,
    band: tuple[float, float] | None = (0.1, 0.9),
    cost_units: str = "cost units",
) -> xr.Dataset:
    """Rank units for off-season treatment by expected calls averted per unit cost.

    Parameters
    ----------
    observed
        A cube (``xr.Dataset`` with ``counts``, or the counts ``xr.DataArray``) over ``time``
        and unit dims (``district``, ``grid``, ``estate``, ...), usually ``category``. NaN is
        "not observed" (never read as zero); negative or infinite counts are refused.
    forecast
        Optional forecast Dataset from :mod:`predgov.forecast` (``mean``, ``quantiles``): the
        sum of ``mean`` over the ``target`` window *replaces* history as the expected calls
        next season (a fitted model already pools the history; history is still reported in
        ``history_calls``).
    budget
        Total money (or staff days) available, in ``cost_units``; > 0.
    cost
        Cost of treating one unit: a number (every unit the same), a DataArray over the unit
        dim (e.g. ``households × cost per household``), or a mapping (or ``pandas.Series``)
        unit → cost; each > 0 and finite. Units beyond the cube's are ignored.
    efficacy
        Share of a unit's expected calls that treatment averts, in [0, 1]: a number or a
        DataArray over the unit dim (its ``attrs["source"]`` is copied into the result). This
        is an **assumption** to be stated with its source. The seed's −42.31 % (heating calls
        year on year after the 2025 flushing campaign, SEED_BRIEF.md case 1) is *not* an
        efficacy: it is a raw city-wide year-on-year change that mixes weather, the season-start
        surge that flushing does not touch, and the many units never flushed. Paired
        simulations (:mod:`predgov.sim`) estimate efficacies; a pilot with controls measures
        them.
    unit
        The dim to rank (default: the first dim that is neither ``time`` nor ``category``), or
        a 1-D coordinate of one (``unit="district"`` on a ``grid`` cube sums grids into
        districts).
    category
        Category label or labels whose calls count (summed); default all categories.
    season
        History window: ``None`` (the whole cube), ``("MM-DD", "MM-DD")`` (the last complete
        occurrence of a recurring season, e.g. heating ``("11-15", "04-05")``) or
        ``(start_date, end_date)``. A period belongs to it when at least half its days do.
    target
        Window of ``forecast`` to sum (same forms; a recurring season takes its *first*
        complete occurrence); default the whole forecast horizon. Unused without a forecast.
    shrink
        Shrink each unit's history rate towards the mean of all units (empirical Bayes,
        gamma–Poisson, :func:`predgov.target.shrink.shrink_rates`) before ranking. Default
        (None): on for history, off with a forecast; ``True`` with a forecast is refused.
        ``False`` ranks on raw history (last season's calls, the seed's practice), which
        favours units that were unlucky last season: their calls regress to the mean and the
        work buys less than the list promised.
    exposure
        Size of each unit for the shrinkage (households, population): a DataArray over the
        unit dim or the name of a coordinate on it. Rates are shrunk per unit of exposure, so a
        large estate is not pulled towards a small one's count. Default: units equally large.
        Only the shrinkage uses it.
    band
        Quantile levels of the forecast for ``calls_averted_low``/``_high`` (with a forecast
        holding ``quantiles``; None for no band). Per-period quantiles are summed over the
        window: exact if forecast errors move together over the season, wider than the band
        of the season total if they are independent.
    cost_units
        Units of ``cost`` and ``budget`` for the attrs (e.g. ``"CNY"``, ``"staff days"``).

    Returns
    -------
    xr.Dataset
        Over the unit dim, sorted by ``rank``; the unit's coordinates are kept. Variables:
        ``rank`` (1 = most calls averted per unit cost), ``history_calls`` (calls in the history
        window; NaN when no period of it was observed), ``observed_periods``,
        ``expected_calls`` (next season), ``shrinkage_weight`` (with shrinkage: weight on the
        unit's own rate), ``efficacy``, ``calls_averted`` (and ``calls_averted_low``/``_high``
        with a forecast band), ``cost``, ``averted_per_cost``, ``cumulative_cost`` (down the
        list) and ``within_budget``. ``attrs`` hold the budget, the totals of the funded units
        (``total_cost``, ``total_calls_averted``, ``budget_left``, ``n_within_budget``), the
        windows, where the expectation came from and the rule in ``selection``.

        A unit whose history window was never observed (all NaN) gets the group mean with
        shrinkage; without shrinkage (raw) its expectation is NaN, it is ranked last and never
        funded, and ``attrs["n_units_without_history"]`` counts it. A unit with zero calls and
        no shrinkage expects 0 and is never funded. Ranks are never NaN.

        Values are exact: publish with :func:`predgov.target.treatment_table`, which withholds
        small history counts (1..4) and what is derived from them.

    Raises
    ------
    ValueError
        Naming the argument: an unknown unit or category, an empty or malformed window,
        negative or infinite counts, ``budget`` ≤ 0, a cost ≤ 0 or NaN or missing for a unit,
        an efficacy outside [0, 1], a forecast that does not cover the units or the band.

    Notes
    -----
    Expected calls next season, without a forecast: the unit's rate over the observed periods
    of the history window times the window's length (persistence: next season like the last,
    for a fully observed unit its calls), the rate shrunk first unless ``shrink=False``.
    Calls averted are ``expected_calls × efficacy``; the selection is in ``attrs["selection"]``
    (a greedy knapsack, optimal when units are small against the budget; the money left is
    less than the cost of the next unit on the list).

    Examples
    --------
    Five estates, last heating season's calls, treatment at 20 per household. A small estate
    (A) with a bad season tops the raw list; shrinking rates per household puts the large,
    consistently busy D first and lifts E above B:

    >>> import pandas as pd, xarray as xr
    >>> cube = xr.DataArray(
    ...     [[5, 14, 22, 35, 4], [3, 16, 18, 40, 6]], dims=("time", "estate"),
    ...     coords={"time": pd.date_range("2024-11-01", periods=2, freq="MS"),
    ...             "estate": ["A", "B", "C", "D", "E"],
    ...             "households": ("estate", [150, 1200, 1800, 2000, 400])})
    >>> cost = cube["households"] * 20.0
    >>> raw = treatment_list(cube, budget=45_000, cost=cost, efficacy=0.3, shrink=False)
    >>> raw["estate"].values.tolist()
    ['A', 'D', 'B', 'E', 'C']
    >>> tl = treatment_list(cube, budget=45_000, cost=cost, efficacy=0.3,
    ...                     exposure="households")
    >>> tl["estate"].values.tolist(), tl["within_budget"].values.tolist()
    (['D', 'A', 'E', 'B', 'C'], [True, True, False, False, False])
    >>> tl["expected_calls"].values.round(1).tolist()
    [71.3, 5.1, 11.0, 31.7, 43.2]
    >>> tl["cumulative_cost"].values.tolist(), tl.attrs["budget_left"]
    ([40000.0, 43000.0, 51000.0, 75000.0, 111000.0], 2000.0)
    """
    budget = _positive_number(budget, "budget")
    try:
        da, freq = as_counts(observed)
    except (TypeError, ValueError) as err:
        raise ValueError(f"observed: {err}") from None
    if forecast is not None and shrink:
        raise ValueError(
            "shrink=True with a forecast: the forecast is already a model estimate; "
            "shrinkage applies to history-based lists (leave shrink=None)"
        )
    shrink = forecast is None if shrink is None else bool(shrink)
    counts, category_label = _select(da, category, unit, "observed")
    unit = str(counts.dims[1])
    labels = pd.Index(counts[unit].values)
    if labels.has_duplicates:
        dup = labels[labels.duplicated()]
        raise ValueError(f"observed: duplicate {unit} labels {_labels_text(dup)}")
    # Work in one canonical order (by label text), so the result does not depend on the order
    # of the units in the input, not even in the last bit of a sum.
    counts = counts.isel({unit: np.argsort(labels.astype(str).to_numpy(), kind="stable")})
    units = pd.Index(counts[unit].values, name=unit)

    window = season_window(counts["time"].values, freq, season)
    hist = counts.isel(time=window.mask)
    n_window = int(window.mask.sum())
    observed_periods = hist.notnull().sum("time").values.astype(np.int64)
    history = hist.sum("time", skipna=True, min_count=1).values.astype(np.float64)
    seen = observed_periods > 0

    size = np.ones(len(units))
    exposure_label = "equal"
    if exposure is not None:
        if isinstance(exposure, str):
            if exposure not in counts.coords or counts.coords[exposure].dims != (unit,):
                raise ValueError(f"exposure: {exposure!r} is not a coordinate on {unit!r}")
            exposure_label, exposure = exposure, counts.coords[exposure]
        else:
            exposure_label = str(exposure.name or "given per unit")
        size = _per_unit(exposure, "exposure", units, unit, low=0.0, high=None, open_low=True)

    extra: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    if forecast is not None:
        expected, interval, source, target_label = _forecast_window(
            forecast, category, unit, units, target, band
        )
        attrs["target_window"] = target_label
    else:
        interval, target_label = None, window.label()
        if shrink:
            post = shrink_rates(np.where(seen, history, 0.0), observed_periods * size)
            expected = post.rate * n_window * size
            extra["shrinkage_weight"] = (
                post.weight,
                {
                    "long_name": "weight of the unit's own rate against the group mean (0..1)",
                    "units": "1",
                },
            )
            attrs.update(
                prior_rate=post.prior_rate, prior_size=post.prior_size, exposure=exposure_label
            )
            source = "history, empirical-Bayes shrunk (gamma-Poisson, method of moments)"
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                expected = np.where(seen, history / observed_periods * n_window, np.nan)
            source = "history, raw (persistence: next season as the last)"

    eff = _per_unit(efficacy, "efficacy", units, unit, low=0.0, high=1.0, open_low=False)
    price = _per_unit(cost, "cost", units, unit, low=0.0, high=None, open_low=True)
    averted = expected * eff
    ratio = averted / price

    order = (
        pd.DataFrame(
            {
                "missing": np.isnan(ratio),
                "ratio": np.nan_to_num(ratio, nan=0.0),
                "averted": np.nan_to_num(averted, nan=0.0),
                "label": units.astype(str),
            }
        )
        .sort_values(
            ["missing", "ratio", "averted", "label"],
            ascending=[True, False, False, True],
            kind="mergesort",
        )
        .index.to_numpy()
    )
    cumulative = np.cumsum(price[order])
    funded = (cumulative <= budget) & (averted[order] > 0)

    req = {"units": "requests"}
    data_vars = {
        "rank": (
            np.arange(1, len(units) + 1, dtype=np.int64),
            {"long_name": "priority rank (1 = most calls averted per unit cost)"},
        ),
        "history_calls": (history[order], {**req, "long_name": "calls in the history window"}),
        "observed_periods": (
            observed_periods[order],
            {"long_name": "periods of the history window observed", "units": "1"},
        ),
        "expected_calls": (expected[order], {**req, "long_name": "expected calls next season"}),
        **{k: (v[order], a) for k, (v, a) in extra.items()},
        "efficacy": (
            eff[order],
            {
                "long_name": "share of expected calls averted by treatment",
                "units": "1",
                "source": _efficacy_source(efficacy),
            },
        ),
        "calls_averted": (averted[order], {**req, "long_name": "expected calls averted"}),
    }
    if interval is not None:
        for name, row, q in (("low", 0, band[0]), ("high", 1, band[1])):  # type: ignore[index]
            data_vars[f"calls_averted_{name}"] = (
                (interval[row] * eff)[order],
                {
                    **req,
                    "long_name": f"expected calls averted, forecast quantile {q:g}",
                    "quantile": float(q),
                    "note": "per-period quantiles summed over the target window",
                },
            )
    data_vars.update(
        {
            "cost": (price[order], {"long_name": "cost of treating the unit", "units": cost_units}),
            "averted_per_cost": (
                ratio[order],
                {
                    "long_name": "expected calls averted per unit cost",
                    "units": f"requests per {cost_units}",
                },
            ),
            "cumulative_cost": (
                cumulative,
                {"long_name": "cost of every unit down to this rank", "units": cost_units},
            ),
            "within_budget": (funded, {"long_name": "funded: cumulative cost within the budget"}),
        }
    )
    unit_coords = {k: c for k, c in counts.coords.items() if c.dims == (unit,)}
    ds = xr.Dataset(
        {k: ((unit,), v, a) for k, (v, a) in data_vars.items()},
        coords={k: ((unit,), c.values[order], c.attrs) for k, c in unit_coords.items()},
    )
    spent = float(cumulative[funded][-1]) if funded.any() else 0.0
    ds.attrs = {
        "title": "off-season treatment list",
        "Conventions": "CF-1.8",
        "unit": unit,
        "category": category_label,
        "freq": freq,
        "history_window": window.label(),
        "history_periods": n_window,
        **attrs,
        "expected_from": source,
        "efficacy": _efficacy_text(efficacy, eff),
        "budget": budget,
        "cost_units": cost_units,
        "total_cost": spent,
        "total_calls_averted": float(np.nansum(averted[order][funded])),
        "budget_left": budget - spent,
        "n_units": len(units),
        "n_within_budget": int(funded.sum()),
        "n_units_without_history": int((~seen).sum()),
        "selection": SELECTION,
        "publication": PUBLICATION,
    }
    if forecast is None:
        ds.attrs["target_window"] = f"next season, {n_window} periods like {target_label}"
    return ds


def _efficacy_source(efficacy: Any) -> str:
    if isinstance(efficacy, xr.DataArray):
        return str(efficacy.attrs.get("source", "not stated"))
    return "not stated (an assumption of the caller)"


def _efficacy_text(efficacy: Any, values: np.ndarray) -> str:
    if isinstance(efficacy, xr.DataArray | Mapping):
        return f"per unit, {values.min():g}..{values.max():g}"
    return f"{values[0]:g} for every unit" if len(values) else "none"
