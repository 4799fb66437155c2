"""Alarm runs → alert table: one row per alert with severity and a bilingual one-line explanation.

A detector (:func:`predgov.warn.detect`) marks single ``(time, district, category)`` cells;
:func:`alerts` turns consecutive alarm periods of a series into *alerts* a duty officer can act
on, and :func:`publishable` masks small counts before the table leaves the building.

Runs
    Alarm periods of one series form a run; runs separated by at most ``max_gap`` quiet periods
    merge into one alert spanning ``start`` (first alarm period) .. ``end`` (last alarm period).
    ``n_periods`` is the length of that span and ``n_alarms`` how many of its periods alarmed.
    ``observed`` and ``expected`` are sums over the whole span (quiet gap periods included),
    ``ratio = observed / max(expected, EXPECTED_FLOOR)``. A period whose count is NaN (not
    observed) never alarms, whatever the detector says, and adds nothing to the sums.

Severity (see :func:`severity_level`)
    Two dimensionless signals, each mapped to a level, and the higher level wins; then a floor
    on the size of the excess in requests keeps small-number noise out of the top levels:

    ====== ========================== ============================== =====================
    level  ratio (observed/expected)  margin (max score/threshold)   needs excess ≥
    ====== ========================== ============================== =====================
    red    ≥ 3                        ≥ 2                            10 requests
    amber  ≥ 2                        ≥ 1.5                          5 requests
    yellow any other alert            any other alert                –
    ====== ========================== ============================== =====================

    The ratio says how large the rise is relative to normal; the margin says how far the
    detector's statistic went past its threshold (it ranks alerts of detectors whose
    ``expected`` is poor; used only where the threshold is positive). The excess, observed −
    expected over the run, stops a sparse series (1 request expected, 4 observed: ratio 4) from
    being red: such an alert is capped at the highest level whose excess floor it reaches.
    Without ``expected`` there is no ratio and no cap: the margin alone decides.

Parent classes and their children (``group_hierarchy=True``)
    Categories are linked to their parent class by the ``parent`` coordinate; a *parent-class
    series* is a category whose code equals its ``parent`` (as :func:`predgov.data.cube.to_parent`
    produces) or is named as the parent of another category in the same Dataset. Within one
    district, the runs of a parent-class series and of its children are clustered by overlap in
    time (each run's end widened by ``max_gap`` periods). A cluster that holds a run of the
    parent-class series, or runs of two or more different children, becomes **one row for the
    parent class**, spanning the cluster, with ``children`` listing the child codes involved
    (comma-separated) and no separate child rows. Its ``observed``/``expected`` are those of the
    parent-class series over the span when that series alarmed in the cluster (it already sums
    the children), else the sums over the involved children. A lone child run stays a row of
    its own with ``children`` empty.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> t = pd.date_range("2024-03-01", periods=6)
>>> coords = {"time": t, "district": ["市南"], "district_label_en": ("district", ["Shinan"]),
...           "category": ["consumer_dispute"], "parent": ("category", ["market"]),
...           "label_zh": ("category", ["消费纠纷"]),
...           "label_en": ("category", ["Consumer disputes"])}
>>> dims = ("time", "district", "category")
>>> counts = xr.DataArray(np.array([5, 4, 12, 13, 11, 5]).reshape(6, 1, 1), dims=dims,
...                       coords=coords)
>>> alarm = xr.DataArray(np.array([0, 0, 1, 1, 1, 0], bool).reshape(6, 1, 1), dims=dims,
...                      coords=coords)
>>> alarms = xr.Dataset({"alarm": alarm, "expected": xr.full_like(counts, 5.0, float),
...                      "score": counts * 1.0, "threshold": xr.full_like(counts, 10.0, float)},
...                     attrs={"detector": "ears_c2"})
>>> table = alerts(alarms, counts)
>>> table[["start", "end", "observed", "expected", "ratio", "severity"]]
       start        end  observed  expected  ratio severity
0 2024-03-03 2024-03-05        36      15.0    2.4    amber
>>> table.loc[0, "explanation_en"]
'Shinan · Consumer disputes: 3 days at 2.4× the expected level'
>>> table.loc[0, "explanation_zh"]
'市南 · 消费纠纷：连续3天为预期水平的2.4倍'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from predgov.data.cube import counts_of
from predgov.data.suppress import (
    ATTR_MIN_COUNT,
    ATTR_N_SUPPRESSED,
    SUPPRESSED_COLUMN,
    format_table,
    publishable_counts,
    small_cell_mask,
)
from predgov.data.taxonomy import Taxonomy, load_taxonomy

#: Severity levels, most urgent first (the sort order of the alert table).
SEVERITIES = ("red", "amber", "yellow")
#: Ratio (observed / expected over the run) from which an alert is at least red / amber.
RATIO_LEVELS = {"red": 3.0, "amber": 2.0}
#: Margin (largest score / threshold over the run's alarm periods) for red / amber.
MARGIN_LEVELS = {"red": 2.0, "amber": 1.5}
#: Smallest excess (observed − expected, requests over the run) of a red / amber alert.
EXCESS_LEVELS = {"red": 10.0, "amber": 5.0}
#: Smallest expected value (requests summed over the run) used as the ratio's denominator, so a
#: run expected at 0 gives a finite ratio (3 requests against an expected 0 → ratio 6).
EXPECTED_FLOOR = 0.5
#: Text written in :func:`publishable` where a ratio would reveal a suppressed count.
SUPPRESSED_TEXT = "suppressed"
#: The multiple in an explanation, removed by :func:`publishable` when observed is suppressed.
_RATIO_ZH = r"为预期水平的[0-9.,]+倍"
_RATIO_EN = r"at [0-9.,]+× the expected level"

#: Columns of the alert table, in order.
COLUMNS = (
    "district",
    "district_label_en",
    "category",
    "label_zh",
    "label_en",
    "parent",
    "children",
    "start",
    "end",
    "n_periods",
    "n_alarms",
    "observed",
    "expected",
    "ratio",
    "margin",
    "detector",
    "severity",
    "explanation_zh",
    "explanation_en",
)
_DTYPES = {
    "start": "datetime64[ns]",
    "end": "datetime64[ns]",
    "n_periods": "int64",
    "n_alarms": "int64",
    "observed": "int64",
    "expected": "float64",
    "ratio": "float64",
    "margin": "float64",
}

#: Period names per cube frequency: (Chinese unit, Chinese unit after 连续, English singular).
_UNITS = {"D": ("天", "天", "day"), "W-MON": ("周", "周", "week"), "MS": ("个月", "个月", "month")}
_NO_PARENT = {"", "unmapped", "nan", "None"}


# --------------------------------------------------------------------------- severity


def severity_level(ratio: float, margin: float = float("nan"), excess: float = float("nan")) -> str:
    """Severity of an alert from its ratio, score/threshold margin and excess in requests.

    Each of ``ratio`` and ``margin`` gives a level (``ratio`` ≥ 3 or ``margin`` ≥ 2: red;
    ``ratio`` ≥ 2 or ``margin`` ≥ 1.5: amber; else yellow) and the more severe wins; the
    result is then capped by ``excess`` (red needs ≥ 10 requests above expected, amber ≥ 5).
    NaN ratio or margin count as yellow; a NaN excess (expected unknown) caps nothing.

    Parameters
    ----------
    ratio
        Observed / expected over the run.
    margin
        Largest score / threshold over the run's alarm periods.
    excess
        Observed − expected over the run, in requests.

    Examples
    --------
    >>> severity_level(3.2), severity_level(2.4), severity_level(1.3)
    ('red', 'amber', 'yellow')
    >>> severity_level(1.3, margin=2.5), severity_level(float("nan"), margin=1.6)
    ('red', 'amber')
    >>> severity_level(4.0, excess=3.0), severity_level(4.0, excess=7.0)
    ('yellow', 'amber')
    """
    ratio, margin, excess = float(ratio), float(margin), float(excess)
    for level in ("red", "amber"):
        big_enough = np.isnan(excess) or excess >= EXCESS_LEVELS[level]
        if big_enough and (ratio >= RATIO_LEVELS[level] or margin >= MARGIN_LEVELS[level]):
            return level
    return "yellow"


# --------------------------------------------------------------------------- explanations


def _fmt_ratio(ratio: float) -> str:
    return f"{ratio:.1f}" if ratio < 100 else f"{ratio:,.0f}"


def explain(
    where_zh: str,
    where_en: str,
    *,
    n_periods: int,
    n_alarms: int,
    ratio: float | None,
    freq: str | None,
) -> tuple[str, str]:
    """One-line explanation of an alert in Chinese and English.

    Parameters
    ----------
    where_zh, where_en
        Series names, e.g. ``"市南 · 消费纠纷"`` and ``"Shinan · Consumer disputes"``.
    n_periods, n_alarms
        Length of the run and how many of its periods alarmed.
    ratio
        Observed / expected; None or NaN leaves the level out (expected unknown, or the ratio
        would reveal a suppressed count).
    freq
        The cube's frequency (``"D"``, ``"W-MON"``, ``"MS"``) for the period unit.

    Examples
    --------
    >>> zh, en = explain("市南 · 消费纠纷", "Shinan · Consumer disputes", n_periods=3,
    ...                  n_alarms=3, ratio=2.4, freq="W-MON")
    >>> zh
    '市南 · 消费纠纷：连续3周为预期水平的2.4倍'
    >>> en
    'Shinan · Consumer disputes: 3 weeks at 2.4× the expected level'
    >>> explain("市南", "Shinan", n_periods=5, n_alarms=4, ratio=None, freq="D")[1]
    'Shinan: alarms on 4 of 5 days, above the expected level'
    """
    unit_zh, unit_zh_run, unit_en = _UNITS.get(str(freq), ("期", "期", "period"))
    plural = unit_en if n_periods == 1 else f"{unit_en}s"
    if ratio is not None and np.isfinite(ratio):
        level_zh = f"为预期水平的{_fmt_ratio(ratio)}倍"
        level_en = f"at {_fmt_ratio(ratio)}× the expected level"
    else:
        level_zh, level_en = "高于预期水平", "above the expected level"
    if n_alarms == n_periods:
        when_zh = f"{n_periods}{unit_zh}" if n_periods == 1 else f"连续{n_periods}{unit_zh_run}"
        return f"{where_zh}：{when_zh}{level_zh}", f"{where_en}: {n_periods} {plural} {level_en}"
    when_zh = f"{n_periods}{unit_zh}内{n_alarms}{unit_zh}报警"
    when_en = f"alarms on {n_alarms} of {n_periods} {plural}"
    return f"{where_zh}：{when_zh}，{level_zh}", f"{where_en}: {when_en}, {level_en}"


# --------------------------------------------------------------------------- inputs


def _cube_freq(*objs: xr.Dataset | xr.DataArray) -> str | None:
    for obj in objs:
        if "time" in obj.coords and obj["time"].attrs.get("freq"):
            return str(obj["time"].attrs["freq"])
        if obj.attrs.get("freq"):
            return str(obj.attrs["freq"])
    times = pd.DatetimeIndex(objs[0]["time"].values)
    if len(times) < 2:
        return None
    steps = set(np.diff(times.values).astype("timedelta64[D]").astype(int).tolist())
    if steps == {1}:
        return "D"
    if steps == {7} and (times.day_of_week == 0).all():
        return "W-MON"
    if steps <= {28, 29, 30, 31} and (times.day == 1).all():
        return "MS"
    return None


def _coord_values(name: str, dim: str, *objs: xr.Dataset | xr.DataArray) -> list[str] | None:
    for obj in objs:
        if name in obj.coords and obj.coords[name].dims == (dim,):
            return [str(v) for v in obj.coords[name].values]
    return None


def _as_taxonomy(
    taxonomy: Taxonomy | str | None, *objs: xr.Dataset | xr.DataArray
) -> Taxonomy | None:
    if taxonomy is None:
        for obj in objs:
            if obj.attrs.get("taxonomy"):
                taxonomy = str(obj.attrs["taxonomy"])
                break
    if taxonomy is None:
        taxonomy = "qingdao"
    if isinstance(taxonomy, str):
        try:
            return load_taxonomy(taxonomy)
        except (FileNotFoundError, ValueError, KeyError):
            return None
    return taxonomy


@dataclass
class _Series:
    """Per-category metadata of the alarms Dataset."""

    codes: list[str]
    label_zh: list[str]
    label_en: list[str]
    parent: list[str | None]
    is_parent: list[bool]

    @classmethod
    def from_objs(cls, *objs: xr.Dataset | xr.DataArray) -> _Series:
        codes = [str(c) for c in objs[0]["category"].values]
        zh = _coord_values("label_zh", "category", *objs) or codes
        en = _coord_values("label_en", "category", *objs) or codes
        raw = _coord_values("parent", "category", *objs) or [""] * len(codes)
        parent = [None if p in _NO_PARENT else p for p in raw]
        named = {p for c, p in zip(codes, parent, strict=True) if p is not None and p != c}
        is_parent = [c == p or c in named for c, p in zip(codes, parent, strict=True)]
        # A parent-class series is its own group, whatever its parent coordinate says.
        parent = [c if isp else p for c, p, isp in zip(codes, parent, is_parent, strict=True)]
        return cls(codes, zh, en, parent, is_parent)


@dataclass
class _Run:
    district: int
    category: int
    t0: int
    t1: int
    alarm_idx: np.ndarray
    margin: float


# --------------------------------------------------------------------------- alerts


def _empty_table() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=_DTYPES.get(c, "str")) for c in COLUMNS})
    return frame


def _runs_of(alarm_idx: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Split sorted alarm indices into runs separated by more than ``max_gap`` quiet periods."""
    breaks = np.flatnonzero(np.diff(alarm_idx) > max_gap + 1) + 1
    return np.split(alarm_idx, breaks)


def alerts(
    alarms: xr.Dataset,
    counts: xr.Dataset | xr.DataArray,
    *,
    detector: str | None = None,
    max_gap: int = 0,
    group_hierarchy: bool = True,
    taxonomy: Taxonomy | str | None = None,
) -> pd.DataFrame:
    """Table of alerts, one row per run of alarms (parent classes and children grouped).

    The rules for runs, severity and parent/child grouping are in the module docstring of
    :mod:`predgov.warn.alerts`.

    Parameters
    ----------
    alarms
        Detector output: ``alarm`` (bool) over ``(time, district, category)``, and ideally
        ``expected`` (float, requests), ``score`` and ``threshold`` on the same grid.
    counts
        The cube (Dataset with ``counts``) or the ``counts`` DataArray the detector ran on; it
        is aligned to the alarms' coordinates. NaN counts never produce an alert.
    detector
        Name written in the ``detector`` column; default ``alarms.attrs["detector"]``.
    max_gap
        Runs of one series separated by at most this many quiet periods merge into one alert.
    group_hierarchy
        Group alerts of a parent class and its children into one row (see the module
        docstring); False gives one row per run of every series.
    taxonomy
        Taxonomy (or its name) for labels of parent classes that are not themselves a series of
        the Dataset; default ``attrs["taxonomy"]`` of the inputs, else ``"qingdao"``; codes it
        does not know are used as labels.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: the series (``district``, ``district_label_en``,
        ``category``, ``label_zh``, ``label_en``, ``parent``, ``children``), the run
        (``start``, ``end`` = last alarm period, ``n_periods``, ``n_alarms``), ``observed``,
        ``expected``, ``ratio``, ``margin``, ``detector``, ``severity`` and
        ``explanation_zh``/``explanation_en``; sorted by severity (red first), start, district,
        category. Empty (with these columns) when nothing alarmed.

    Examples
    --------
    Two children of "utilities" alarm together in 市北: one grouped row for the parent class.

    >>> import numpy as np, pandas as pd, xarray as xr
    >>> dims = ("time", "district", "category")
    >>> coords = {"time": pd.date_range("2024-01-01", periods=4), "district": ["市北"],
    ...           "district_label_en": ("district", ["Shibei"]),
    ...           "category": ["heating", "gas"], "parent": ("category", ["utilities"] * 2),
    ...           "label_zh": ("category", ["供热", "燃气"]),
    ...           "label_en": ("category", ["Heating", "Gas"])}
    >>> counts = xr.DataArray(np.array([[2, 1], [9, 1], [8, 6], [2, 1]]).reshape(4, 1, 2),
    ...                       dims=dims, coords=coords)
    >>> alarm = xr.zeros_like(counts, dtype=bool)
    >>> alarm[1:3, 0, 0] = True
    >>> alarm[2, 0, 1] = True
    >>> alarms = xr.Dataset({"alarm": alarm, "expected": xr.full_like(counts, 2.0, float)})
    >>> row = alerts(alarms, counts, detector="ears_c1").iloc[0]
    >>> row["category"], row["children"], int(row["observed"]), float(row["expected"])
    ('utilities', 'heating, gas', 24, 8.0)
    >>> row["explanation_en"]
    'Shibei · Utilities (Heating, Gas): 2 days at 3.0× the expected level'
    """
    if not isinstance(alarms, xr.Dataset) or "alarm" not in alarms.data_vars:
        raise ValueError("alarms must be a Dataset with an 'alarm' variable (detector output)")
    if isinstance(max_gap, bool) or not isinstance(max_gap, int | np.integer) or max_gap < 0:
        raise ValueError(f"max_gap must be a non-negative integer, got {max_gap!r}")
    max_gap = int(max_gap)
    dims = ("time", "district", "category")
    if set(alarms["alarm"].dims) != set(dims):
        raise ValueError(f"alarm must have dims {dims}, got {alarms['alarm'].dims}")
    obs_da = counts_of(counts)
    if set(obs_da.dims) != set(dims):
        raise ValueError(f"counts must have dims {dims}, got {obs_da.dims}")
    obs_da = obs_da.transpose(*dims).reindex(
        time=alarms["time"].values,
        district=alarms["district"].values,
        category=alarms["category"].values,
    )
    if detector is None:
        detector = str(alarms.attrs.get("detector", ""))
    freq = _cube_freq(alarms, obs_da)

    obs = obs_da.values.astype(float)
    alarm = alarms["alarm"].transpose(*dims).values
    alarm = np.asarray(alarm == True, dtype=bool) & np.isfinite(obs)  # noqa: E712 (NaN → False)

    def var(name: str) -> np.ndarray:
        if name in alarms.data_vars:
            return alarms[name].transpose(*dims).values.astype(float)
        return np.full(obs.shape, np.nan)

    expected = var("expected")
    score, threshold = var("score"), var("threshold")
    with np.errstate(divide="ignore", invalid="ignore"):
        margin_cells = np.where(threshold > 0, score / threshold, np.nan)

    # Prefix sums for sums over spans: counts, expected, and how many expected are known.
    zeros = np.zeros((1, *obs.shape[1:]))
    cum_obs = np.concatenate([zeros, np.cumsum(np.nan_to_num(obs), axis=0)])
    cum_exp = np.concatenate([zeros, np.cumsum(np.nan_to_num(expected), axis=0)])
    cum_nexp = np.concatenate([zeros, np.cumsum(np.isfinite(expected), axis=0)])

    def span_sums(t0: int, t1: int, d: int, cats: list[int]) -> tuple[float, float]:
        o = float(sum(cum_obs[t1 + 1, d, c] - cum_obs[t0, d, c] for c in cats))
        known = sum(cum_nexp[t1 + 1, d, c] - cum_nexp[t0, d, c] for c in cats)
        e = float(sum(cum_exp[t1 + 1, d, c] - cum_exp[t0, d, c] for c in cats))
        return o, (e if known > 0 else float("nan"))

    # Runs of every series.
    runs: list[_Run] = []
    for d, c in zip(*np.nonzero(alarm.any(axis=0)), strict=True):
        for idx in _runs_of(np.flatnonzero(alarm[:, d, c]), max_gap):
            m = margin_cells[idx, d, c]
            runs.append(
                _Run(
                    int(d),
                    int(c),
                    int(idx[0]),
                    int(idx[-1]),
                    idx,
                    float(np.nanmax(m)) if np.isfinite(m).any() else float("nan"),
                )
            )
    if not runs:
        return _empty_table()

    series = _Series.from_objs(alarms, obs_da)
    tax = _as_taxonomy(taxonomy, alarms, obs_da)
    times = pd.DatetimeIndex(alarms["time"].values)
    districts = [str(v) for v in alarms["district"].values]
    district_en = _coord_values("district_label_en", "district", alarms, obs_da) or districts

    def parent_labels(code: str) -> tuple[str, str]:
        if code in series.codes:
            i = series.codes.index(code)
            return series.label_zh[i], series.label_en[i]
        if tax is not None and code in tax.table.index:
            return tax.parent_label(code, "zh"), tax.parent_label(code, "en")
        return code, code

    rows = []

    def add_row(
        members: list[_Run],
        category: str,
        label_zh: str,
        label_en: str,
        parent: str | None,
        children: list[int],
        sum_cats: list[int],
    ) -> None:
        d = members[0].district
        t0 = min(r.t0 for r in members)
        t1 = max(r.t1 for r in members)
        n_alarms = len(np.unique(np.concatenate([r.alarm_idx for r in members])))
        observed, exp = span_sums(t0, t1, d, sum_cats)
        ratio = observed / max(exp, EXPECTED_FLOOR) if np.isfinite(exp) else float("nan")
        margins = [r.margin for r in members if np.isfinite(r.margin)]
        margin = max(margins) if margins else float("nan")
        child_zh = [series.label_zh[c] for c in children]
        child_en = [series.label_en[c] for c in children]
        where_zh = f"{districts[d]} · {label_zh}"
        where_en = f"{district_en[d]} · {label_en}"
        if children:
            where_zh += f"（{'、'.join(child_zh)}）"
            where_en += f" ({', '.join(child_en)})"
        zh, en = explain(
            where_zh, where_en, n_periods=t1 - t0 + 1, n_alarms=n_alarms, ratio=ratio, freq=freq
        )
        rows.append(
            {
                "district": districts[d],
                "district_label_en": district_en[d],
                "category": category,
                "label_zh": label_zh,
                "label_en": label_en,
                "parent": parent or "",
                "children": ", ".join(series.codes[c] for c in children),
                "start": times[t0],
                "end": times[t1],
                "n_periods": t1 - t0 + 1,
                "n_alarms": n_alarms,
                "observed": round(observed),
                "expected": exp,
                "ratio": ratio,
                "margin": margin,
                "detector": detector,
                "severity": severity_level(ratio, margin, observed - exp),
                "explanation_zh": zh,
                "explanation_en": en,
            }
        )

    def add_single(run: _Run) -> None:
        c = run.category
        add_row(
            [run],
            series.codes[c],
            series.label_zh[c],
            series.label_en[c],
            series.parent[c],
            [],
            [c],
        )

    if not group_hierarchy:
        for run in runs:
            add_single(run)
    else:
        groups: dict[tuple[int, str | None], list[_Run]] = {}
        for run in runs:
            key = series.parent[run.category]
            if key is None:
                add_single(run)
            else:
                groups.setdefault((run.district, key), []).append(run)
        for (_, parent_code), members in groups.items():
            members.sort(key=lambda r: (r.t0, r.t1, r.category))
            clusters: list[list[_Run]] = []
            end = -np.inf
            for run in members:
                if clusters and run.t0 <= end + max_gap:
                    clusters[-1].append(run)
                    end = max(end, run.t1)
                else:
                    clusters.append([run])
                    end = run.t1
            for cluster in clusters:
                has_parent = any(series.is_parent[r.category] for r in cluster)
                children = sorted({r.category for r in cluster if not series.is_parent[r.category]})
                if not has_parent and len(children) < 2:
                    for run in cluster:
                        add_single(run)
                    continue
                zh, en = parent_labels(parent_code)
                sum_cats = [series.codes.index(parent_code)] if has_parent else children
                add_row(cluster, parent_code, zh, en, parent_code, children, sum_cats)

    table = pd.DataFrame(rows, columns=list(COLUMNS)).astype(_DTYPES)
    table.attrs.update(detector=detector, freq=freq or "", max_gap=max_gap)
    rank = table["severity"].map({s: i for i, s in enumerate(SEVERITIES)})
    order = np.lexsort(
        (
            table["category"].to_numpy(),
            table["district"].to_numpy(),
            table["start"].to_numpy(),
            rank.to_numpy(),
        )
    )
    return table.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- publication


def publishable(
    alerts_df: pd.DataFrame, min_count: int = 5, *, numbers: bool = False
) -> pd.DataFrame:
    """Copy of an alert table safe to publish: small counts and what they can be derived from.

    ``observed`` and ``expected`` between 0 (exclusive) and ``min_count`` are withheld (rule of
    :mod:`predgov.data.suppress`; zeros are published). Where either is withheld, the columns
    derived from them are withheld too: ``ratio`` (``observed ÷ ratio`` would give ``expected``
    back, ``ratio × expected`` the observed count) and ``margin``, and the explanations say
    "above the expected level" without the multiple. Other columns are kept.

    Parameters
    ----------
    alerts_df
        The table of :func:`alerts`.
    min_count
        Smallest published count; 1 withholds nothing.
    numbers
        False (default): a table to print, with ``"<5"`` for withheld counts, ``"suppressed"``
        for a withheld ratio and ``"–"`` for an unknown one
        (:func:`predgov.data.suppress.format_table`).
        True: a machine-readable table (for CSV) with plain numbers, withheld cells empty (NA)
        and a ``suppressed`` column naming them (:func:`predgov.data.suppress.publishable_counts`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"observed": [3, 40, 12], "expected": [0.5, 12.0, 2.5],
    ...                   "ratio": [6.0, 3.33, 4.8], "margin": [2.0, 1.2, 1.9],
    ...                   "explanation_zh": ["市南 · 燃气：1天为预期水平的6.0倍", "…", "…"],
    ...                   "explanation_en": ["Shinan · Gas: 1 day at 6.0× the expected level",
    ...                                      "…", "…"]})
    >>> publishable(t)[["observed", "expected", "ratio"]]
      observed expected       ratio
    0       <5       <5  suppressed
    1       40     12.0         3.3
    2       12       <5  suppressed
    >>> publishable(t).loc[0, "explanation_en"]
    'Shinan · Gas: 1 day above the expected level'
    >>> publishable(t).loc[0, "explanation_zh"]
    '市南 · 燃气：1天高于预期水平'
    >>> publishable(t, numbers=True)[["observed", "expected", "ratio", "suppressed"]]
       observed  expected  ratio                        suppressed
    0      <NA>       NaN    NaN  observed;expected;ratio;margin
    1        40      12.0   3.33
    2        12       NaN    NaN           expected;ratio;margin
    """
    counts = [c for c in ("observed", "expected") if c in alerts_df]
    derived = {c: counts for c in ("ratio", "margin") if c in alerts_df}
    if numbers:
        out = publishable_counts(alerts_df, counts, derived=derived, min_count=min_count)
        rounded = [c for c in ("expected", "ratio", "margin") if c in out]
        out[rounded] = out[rounded].astype(float).round(3)
        hidden = out[SUPPRESSED_COLUMN].to_numpy(dtype=str) != ""
    else:
        out = alerts_df.copy()
        if out.empty:
            return out.astype({c: object for c in ("observed", "expected", "ratio") if c in out})
        masks = [small_cell_mask(alerts_df[c].astype(float), min_count).to_numpy() for c in counts]
        hidden = np.logical_or.reduce(masks) if masks else np.zeros(len(out), bool)
        for col, fmt in (("observed", "{:,.0f}"), ("expected", "{:,.1f}")):
            if col in out:
                out[col] = format_table(alerts_df[col].astype(float), min_count, fmt=fmt).to_numpy()
        if "ratio" in out:
            ratio = alerts_df["ratio"].map(lambda r: "–" if pd.isna(r) else _fmt_ratio(r))
            out["ratio"] = ratio.astype(object).mask(hidden, SUPPRESSED_TEXT).to_numpy()
        if "margin" in out:
            out["margin"] = alerts_df["margin"].astype(float).mask(hidden)
        out.attrs = {
            **alerts_df.attrs,
            ATTR_MIN_COUNT: int(min_count),
            ATTR_N_SUPPRESSED: int(sum(int(m.sum()) for m in masks)),
        }
    for col, pattern, plain in (
        ("explanation_zh", _RATIO_ZH, "高于预期水平"),
        ("explanation_en", _RATIO_EN, "above the expected level"),
    ):
        if col in out and hidden.any():
            text = alerts_df[col].astype(str)
            out[col] = text.where(~hidden, text.str.replace(pattern, plain, regex=True))
    return out
