"""``detect(counts, method)``: run one detector over every series of a cube.

Returns an ``xr.Dataset`` with the counts' dims and coordinates and

* ``score`` (float; NaN where not scored: unobserved periods, too little history, quiet
  series, outside ``start..end``),
* ``threshold`` (float; the alarm threshold on the score for that cell),
* ``alarm`` (bool; ``score > threshold``, never where the count is NaN),
* ``expected`` (the detector's expected count: baseline mean, model mean or forecast),
* ``upper`` (the count above which the period alarms, where the detector has one).

Attrs: ``detector``, ``method`` (the name asked for), ``params`` (JSON), ``freq``,
``n_quiet_series`` and ``quiet_series`` (series that are all zero / unobserved, never alarmed),
and ``warning`` when the detector could score no period at all (also issued as a
:class:`NoScoreWarning` naming the history it needs and the detectors that need less).

Counts are validated as the forecasters validate them (:func:`predgov.forecast.base.as_counts`):
negative or infinite values are a ValueError naming how many cells, series and periods hold
them; NaN means "not observed" and is allowed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import xarray as xr

from predgov.forecast.base import as_counts as validated_counts
from predgov.warn._common import as_counts, freq_of, quiet_series, resolve_range, stack
from predgov.warn.baseline import BaselineCache
from predgov.warn.cusum import nb_cusum
from predgov.warn.ears import ears
from predgov.warn.exceedance import exceedance
from predgov.warn.farrington import farrington
from predgov.warn.farrington import min_history as farrington_min_history
from predgov.warn.trend import trend


@dataclass(frozen=True)
class Detector:
    """A registered detector: the function on ``values[time, series]`` and how to tune it.

    ``threshold`` is the name of the keyword that sets the score threshold (every detector
    accepts it); ``path_dependent`` is True when the score itself depends on the threshold
    (the CUSUM resets after an alarm), so a threshold sweep must re-run the recursion.
    """

    name: str
    func: Callable[..., dict[str, np.ndarray]]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    path_dependent: bool = False
    uses_range: bool = False  # the function takes start/end itself (expensive detectors)
    uses_model: bool = False  # takes city / regressors / groups (calendar expected counts)


DETECTORS: dict[str, Detector] = {
    "ears_c1": Detector(
        "ears_c1", partial(ears, method="C1"), "EARS C1: 7-period baseline, no guard"
    ),
    "ears_c2": Detector(
        "ears_c2", partial(ears, method="C2"), "EARS C2: 7-period baseline, 2-period guard"
    ),
    "ears_c3": Detector(
        "ears_c3", partial(ears, method="C3"), "EARS C3: sum of max(0, C2 - 1) over 3 periods"
    ),
    "farrington": Detector(
        "farrington",
        farrington,
        "Farrington-flexible (Noufaily et al. 2013), quasi-Poisson GLM, NB threshold",
        uses_range=True,
    ),
    "nb_cusum": Detector(
        "nb_cusum",
        nb_cusum,
        "negative-binomial CUSUM against an expected count (rolling level x weekday, or a "
        "calendar-aware NB GLM refitted weekly), reset on alarm",
        defaults={"baseline": "calendar"},
        path_dependent=True,
        uses_range=True,
        uses_model=True,
    ),
    "exceedance": Detector(
        "exceedance",
        exceedance,
        "count above an upper quantile of a one-step negative-binomial forecast",
        defaults={"baseline": "calendar"},
        uses_range=True,
        uses_model=True,
    ),
    "trend": Detector(
        "trend", trend, "rolling log-linear slope score test (NB variance) for slow rises"
    ),
}

#: Each detector's name in words (Chinese, English) for figures and briefs; the codes stay in
#: machine-readable outputs. The one mapping every figure uses (:func:`method_label`).
METHOD_NAMES: dict[str, tuple[str, str]] = {
    "ears_c1": ("EARS C1 法", "EARS C1"),
    "ears_c2": ("EARS C2 法", "EARS C2"),
    "ears_c3": ("EARS C3 法", "EARS C3"),
    "farrington": ("Farrington 灵活法", "Farrington flexible"),
    "nb_cusum": ("负二项累积和（CUSUM）", "Negative-binomial CUSUM"),
    "exceedance": ("超出预测上限", "Forecast exceedance"),
    "trend": ("趋势检验", "Trend test"),
}


def method_label(name: str, lang: str = "both") -> str:
    """A detector's name in words: ``lang`` "zh", "en" or "both"; unknown names as given.

    Examples
    --------
    >>> method_label("nb_cusum", "en"), method_label("nb_cusum", "zh")
    ('Negative-binomial CUSUM', '负二项累积和（CUSUM）')
    >>> method_label("ears_c2")
    'EARS C2 法 EARS C2'
    """
    zh, en = METHOD_NAMES.get(str(name), (str(name), str(name)))
    return {"zh": zh, "en": en}.get(lang, zh if zh == en else f"{zh} {en}")


#: The recommended detector per frequency, with its tuned parameters (chosen by measurement:
#: ``benchmarks/warn_quality.py``; see the module docstring of :mod:`predgov.warn`).
DEFAULT: dict[str, tuple[str, dict[str, Any]]] = {
    # No fixed h: each cell's threshold gives fa = 1 false alarm per series-year under the
    # baseline's self-calibrated predictive distribution (predgov.warn.arl), chosen on the
    # synthetic family of benchmarks/calibration.py.
    "D": ("nb_cusum", {"baseline": "calendar", "delta": 2.0, "fa": 1.0}),
    # Farrington's one-sided level follows the same stated rate: alpha = fa / periods_per_year
    # (1/52 weekly, 1/12 monthly; surveillance's alpha = 0.05 gives 2.6 a year weekly), and its
    # NB threshold is that of the predictive distribution (the estimated mean's variance added
    # to the quasi-Poisson dispersion; Noufaily's plug-in ignores it and alarms ~1.4x as often).
    "W-MON": ("farrington", {"fa": 1.0, "predictive": True}),
    "MS": ("farrington", {"fa": 1.0, "predictive": True}),
}

VARIABLES = ("score", "threshold", "alarm", "expected", "upper")

#: Detectors that score from a few weeks of history (suggested when another scores nothing).
SHORT_HISTORY = ("ears_c2", "nb_cusum", "exceedance")


class NoScoreWarning(UserWarning):
    """A detector scored no period of the counts (too little history for it)."""


def check_counts(da: xr.DataArray) -> None:
    """Raise ValueError unless ``da`` holds counts the forecasters accept: the check of
    :func:`predgov.forecast.base.as_counts` (time axis, no negative or infinite values; NaN
    = not observed is fine), whose message counts the cells, series and periods concerned.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.date_range("2024-01-01", periods=3, freq="D")
    >>> da = xr.DataArray([[1.0, 2.0], [-1.0, np.nan], [3.0, -2.0]], dims=("time", "s"),
    ...                   coords={"time": t}, attrs={"freq": "D"})
    >>> check_counts(da)
    Traceback (most recent call last):
    ...
    ValueError: counts contain negative values: 2 cells in 2 of 2 series and 2 of 3 periods \
(first 2024-01-02); counts must be finite and >= 0 (NaN = not observed)
    """
    validated_counts(da)


def no_score_reason(name: str, freq: str, n_periods: int, params: dict[str, Any]) -> str:
    """Why ``name`` scored nothing on ``n_periods`` periods, and what to use instead.

    Examples
    --------
    >>> print(no_score_reason("farrington", "D", 120, {}))  # doctest: +NORMALIZE_WHITESPACE
    farrington scored no period: it needs 385 daily periods of history before the first period
    it can score (whole years of reference periods plus its comparison window and guard band),
    the counts hold 120; use 'ears_c2', 'nb_cusum', 'exceedance' for short series
    """
    unit = {"D": "daily", "W-MON": "weekly", "MS": "monthly"}.get(freq, freq)
    others = ", ".join(repr(d) for d in SHORT_HISTORY if d != name)
    if name == "farrington":
        need = farrington_min_history(freq, **params)
        why = (
            f"it needs {need} {unit} periods of history before the first period it can score "
            f"(whole years of reference periods plus its comparison window and guard band), "
            f"the counts hold {n_periods}"
        )
    else:
        why = (
            f"the {n_periods} {unit} periods hold too little history or too few requests "
            "for it"
        )
    return f"{name} scored no period: {why}; use {others} for short series"


def _warn_if_nothing_scored(
    res: dict[str, np.ndarray], values: np.ndarray, time: np.ndarray, name: str, freq: str,
    params: dict[str, Any], start: object, end: object,
) -> str | None:
    """Issue a :class:`NoScoreWarning` (and return its text) when no scoreable cell got a
    score: scoreable = observed, in a series that is not quiet, inside ``start..end``."""
    i0, i1 = resolve_range(time, start, end)
    scoreable = ~np.isnan(values[i0:i1]) & ~res["quiet"][None, :]
    if not scoreable.any() or np.isfinite(res["score"][i0:i1][scoreable]).any():
        return None
    message = no_score_reason(name, freq, values.shape[0], params)
    warnings.warn(message, NoScoreWarning, stacklevel=3)
    return message


def resolve_method(method: str, freq: str) -> tuple[str, dict[str, Any]]:
    """Registered detector name and default parameters for ``method`` at frequency ``freq``.

    Examples
    --------
    >>> resolve_method("default", "MS")
    ('farrington', {'fa': 1.0, 'predictive': True})
    >>> resolve_method("default", "D")
    ('nb_cusum', {'baseline': 'calendar', 'delta': 2.0, 'fa': 1.0})
    """
    key = str(method).lower()
    if key == "default":
        name, params = DEFAULT[freq]
        return name, dict(params)
    if key not in DETECTORS:
        raise ValueError(f"unknown method {method!r}; choose from {[*DETECTORS, 'default']}")
    return key, dict(DETECTORS[key].defaults)


def run_detector(
    name: str,
    values: np.ndarray,
    time: np.ndarray,
    freq: str,
    params: dict[str, Any],
    start: object = None,
    end: object = None,
) -> dict[str, np.ndarray]:
    """Call a registered detector on ``values[time, series]`` and mask what must not alarm.

    Cells that are unobserved, outside ``start..end`` or in quiet series get a NaN score.
    The result also holds ``alarm`` and ``quiet`` (per series).
    """
    det = DETECTORS[name]
    kwargs = dict(params)
    if not det.uses_model:
        for key in MODEL_KEYS:
            kwargs.pop(key, None)
    if det.uses_range:
        kwargs.update(start=start, end=end)
    out = det.func(values, time, freq, **kwargs)
    T = values.shape[0]
    quiet = quiet_series(values)
    i0, i1 = resolve_range(time, start, end)
    inside = np.zeros(T, dtype=bool)
    inside[i0:i1] = True
    masked = np.isnan(values) | quiet[None, :] | ~inside[:, None]
    score = np.where(masked, np.nan, out["score"])
    thr = np.broadcast_to(np.asarray(out["threshold"], dtype=np.float64), values.shape)
    with np.errstate(invalid="ignore"):
        alarm = np.asarray(score > thr) & ~masked
    res = dict(out)
    res.update(score=score, threshold=np.array(thr), alarm=alarm, quiet=quiet)
    return res


#: Parameters only detectors with an expected-count model take (others ignore them).
MODEL_KEYS = ("city", "regressors", "groups", "cache")


def series_groups(stacked, pool: str | None) -> np.ndarray | None:
    """Group id per stacked series: its position along the ``pool`` dim (series of one category
    share a calendar shape); None when the counts have no such dim.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((3, 2, 2)), dims=("time", "district", "category"))
    >>> series_groups(stack(da), "category").tolist()
    [0, 1, 0, 1]
    """
    return None if pool is None else stacked.layout.positions(pool)


def model_params(
    stacked, city: str | None, regressors: Any, pool: str | None,
    cache: BaselineCache | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``city``, ``regressors``, ``groups`` and ``cache`` keywords for the calendar
    expected-count model."""
    out: dict[str, Any] = {} if cache is None else {"cache": cache}
    if city is not None:
        out["city"] = city
    if regressors is not None:
        out["regressors"] = regressors
    groups = series_groups(stacked, pool)
    if groups is not None:
        out["groups"] = groups
    return out


@dataclass
class Prepared:
    """Inputs of one detector run, prepared once for :func:`detect` and
    :func:`predgov.warn.evaluate.run`: validated counts, their frequency, the detector and its
    parameters (defaults merged, DataArrays stacked, calendar-model keywords added), the
    stacked series and the time stamps."""

    da: xr.DataArray
    freq: str
    name: str
    params: dict[str, Any]
    call: dict[str, Any]
    stacked: Any
    time: np.ndarray


def prepare(
    counts: xr.Dataset | xr.DataArray,
    method: str,
    params: dict[str, Any],
    *,
    city: str | None = None,
    regressors: Any = None,
    pool: str | None = "category",
    cache: BaselineCache | None = None,
) -> Prepared:
    """Validate ``counts`` and resolve ``method`` and ``params`` the way every entry point
    does (:func:`detect`, :func:`predgov.warn.evaluate.run`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> da = xr.DataArray(np.ones((10, 2)), coords={"time": t}, dims=("time", "s"))
    >>> p = prepare(da, "default", {})
    >>> p.freq, p.name, p.stacked.values.shape
    ('D', 'nb_cusum', (10, 2))
    """
    da = as_counts(counts)
    check_counts(da)
    freq = freq_of(da, counts if isinstance(counts, xr.Dataset) else None)
    name, merged = resolve_method(method, freq)
    merged.update(params)
    stacked = stack(da)
    time = np.asarray(da["time"].values)
    call = {k: _as_array(v, stacked) for k, v in merged.items()}
    call.update(model_params(stacked, city, regressors, pool, cache))
    return Prepared(da, freq, name, merged, call, stacked, time)


def detect(
    counts: xr.Dataset | xr.DataArray,
    method: str = "default",
    *,
    start: object = None,
    end: object = None,
    city: str | None = None,
    regressors: Any = None,
    pool: str | None = "category",
    cache: BaselineCache | None = None,
    **params: Any,
) -> xr.Dataset:
    """Score every (time, series) cell of a cube with one detector, without look-ahead.

    Parameters
    ----------
    counts
        A cube Dataset (its ``counts`` is used) or a counts DataArray with a ``time`` dim and
        ``attrs["freq"]`` in "D", "W-MON", "MS" (inferred from the time stamps if missing).
        NaN = not observed: no score, no alarm, never used as baseline.
    method
        "ears_c1", "ears_c2", "ears_c3", "farrington", "nb_cusum", "exceedance", "trend" or
        "default" (the recommended detector for the cube's frequency, :data:`DEFAULT`).
    start, end
        Only score periods in ``start..end`` (inclusive); earlier data still serve as history.
        Saves time with "farrington" and the calendar baseline.
    city, regressors, pool
        For detectors with an expected-count model ("nb_cusum", "exceedance"; the daily
        default uses the calendar-aware model, :mod:`predgov.warn.expected`): the city whose
        calendar (holidays, make-up workdays, heating / tourist seasons) to build from
        ``conf/city/<city>.yaml``; an ``xr.Dataset`` over ``time`` of calendar variables
        (as :func:`predgov.data.calendar.calendar` returns) and/or exogenous regressors such
        as ``temperature`` (observed values of the scored day); and the dim whose series share
        a calendar shape (pooled fit; default "category"). Neither ``city`` nor
        ``regressors``: trend, weekday and yearly Fourier terms only. Ignored by the other
        detectors.
    cache
        A :class:`~predgov.warn.baseline.BaselineCache` the caller keeps, so that detectors
        scoring the same counts with the calendar baseline fit it once.
    **params
        Detector parameters (see each detector's function), e.g. ``threshold=``, ``alpha=``.
        ``expected`` / ``size`` / ``upper`` for "exceedance" and "nb_cusum" may be DataArrays
        aligned with the counts (a forecaster's one-step means).

    Returns
    -------
    xr.Dataset
        ``score``, ``threshold``, ``alarm``, ``expected``, ``upper`` with the counts' dims.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2024-01-01", periods=60, freq="D")
    >>> y = np.full((60, 1), 5)
    >>> y[-1] = 30
    >>> da = xr.DataArray(y, coords={"time": t, "series": ["a"]}, dims=("time", "series"))
    >>> out = detect(da, "ears_c2")
    >>> out["alarm"].isel(time=-1).item(), out.attrs["detector"]
    (True, 'ears_c2')
    """
    prep = prepare(counts, method, params, city=city, regressors=regressors, pool=pool,
                   cache=cache)  # fmt: skip
    freq, name, merged, stacked, time = prep.freq, prep.name, prep.params, prep.stacked, prep.time
    res = run_detector(name, stacked.values, time, freq, prep.call, start, end)
    nothing = _warn_if_nothing_scored(
        res, stacked.values, time, name, freq, _scalars(merged), start, end
    )
    labels = np.asarray(stacked.series_labels())
    quiet = labels[res["quiet"]].tolist() if len(labels) == len(res["quiet"]) else []
    variables = {}
    for var in VARIABLES:
        arr = np.asarray(res[var])
        variables[var] = stacked.unstack(arr, name=var)
    ds = xr.Dataset(variables)
    ds["score"].attrs["long_name"] = f"{name} score"
    ds["threshold"].attrs["long_name"] = "alarm threshold on the score"
    ds["alarm"].attrs["long_name"] = "score above threshold"
    ds["expected"].attrs.update(long_name="expected count (detector baseline)", units="requests")
    ds["upper"].attrs.update(long_name="count above which the period alarms", units="requests")
    if city is not None:
        merged["city"] = city
    if regressors is not None:
        merged["regressors"] = regressors
    ds.attrs.update(
        detector=name,
        method=str(method),
        params=json.dumps(_jsonable(merged), sort_keys=True, ensure_ascii=False),
        freq=freq,
        n_quiet_series=len(quiet),
        quiet_series="; ".join(quiet),
    )
    if nothing is not None:
        ds.attrs["warning"] = nothing
    if start is not None:
        ds.attrs["start"] = str(start)
    if end is not None:
        ds.attrs["end"] = str(end)
    return ds


def _as_array(value: Any, stacked) -> Any:
    """DataArray parameters (a forecaster's ``expected`` etc.) → ``[time, series]`` arrays."""
    if isinstance(value, xr.DataArray):
        aligned = value.broadcast_like(stacked.template).transpose(*stacked.template.dims)
        return stack(aligned).values
    return value


def _scalars(params: dict[str, Any]) -> dict[str, Any]:
    """The plain (non-array) parameters."""
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool))}


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if isinstance(v, (xr.DataArray, np.ndarray)):
            out[k] = f"<{type(v).__name__} {getattr(v, 'shape', '')}>"
        elif isinstance(v, xr.Dataset):
            out[k] = f"<Dataset {sorted(map(str, v.data_vars))}>"
        elif isinstance(v, (np.integer, np.floating)):
            out[k] = v.item()
        elif isinstance(v, tuple):
            out[k] = list(v)
        else:
            out[k] = v if isinstance(v, (int, float, str, bool, list, type(None))) else str(v)
    return out
