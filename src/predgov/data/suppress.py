"""Small-cell suppression for published tables and figures (DESIGN.md, "Privacy").

This is the disclosure-control rule of every published output, so it lives with the data layer
(beside :mod:`predgov.data.privacy`, which keeps personal fields out): tables (warn, target,
sim, the data stage) and figures (:mod:`predgov.viz`) both apply it, and neither depends on the
other for it. ``predgov.viz.suppress`` still imports it under its old name.

The rule, the usual one of statistical disclosure control: a cell counting between 1 and
``min_count - 1`` requests (default 1..4) is not published, because a handful of requests can
point at a household. Zero is published: it says nobody called, which identifies no one, and
hiding zeros would also reveal the suppressed cells by elimination no less than showing them.
Missing values (NaN, "not observed") stay missing and are not counted as suppressed. Values are
compared as they are, so apply the rule to counts (totals), not to rates or means.

Suppression must survive subtraction and division within one run directory:

* **Complementary cells** (:func:`complementary_mask`): in a table whose row and column totals
  are published or derivable (the cube total, district or category totals elsewhere), a row or
  column with exactly one suppressed cell gives that cell back as total minus the others. So a
  second cell of that line is withheld too — the smallest other positive cell (a zero only when
  no positive cell is left) — and this is repeated until every row and column holds no
  suppressed cell or at least two. Every published count table goes through it
  (:func:`publishable_counts` with ``lines=``).
* **Derived columns** (:func:`publishable_counts`): a ratio, excess, rate or any column computed
  from a suppressed cell is withheld with it (``observed ÷ ratio`` must not give ``expected``
  back).
* **Machine-readable tables** (CSV) hold plain numbers: a withheld cell is empty (NA), and a
  ``suppressed`` column names the withheld columns of each row (``;``-separated, empty when
  none), so "withheld" and "not observed" (also empty) stay apart. ``"<5"`` strings
  (:func:`format_table`) are for tables printed in figures and briefs only.
* **Plotted counts**: a figure never draws a count of 1..min_count-1 at its value. The period
  is drawn as a grey bar from 0 to ``min_count`` labelled ``"<5"`` (alert timeline), or left as a
  gap with a tick on the axis (fan chart); alarm marks on such periods sit at ``min_count``.
  Lines derived from the counts (expected level, alarm threshold) are drawn only where they are
  0 or at least ``min_count`` too, so they cannot show a small value either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

#: Default minimum publishable count (DESIGN.md: "default 5").
MIN_COUNT = 5

#: Keys of the metadata (``.attrs``) recording what was suppressed.
ATTR_MIN_COUNT = "suppressed_min_count"
ATTR_N_SUPPRESSED = "suppressed_cells"

_Data = TypeVar("_Data", xr.DataArray, pd.DataFrame, pd.Series)


def _check_min_count(min_count: int) -> int:
    if isinstance(min_count, bool) or not isinstance(min_count, int | np.integer):
        raise TypeError(f"min_count must be an integer, got {min_count!r}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1 (1 publishes every cell), got {min_count}")
    return int(min_count)


def small_cell_mask(data: _Data, min_count: int = MIN_COUNT) -> _Data:
    """True where a cell holds a count that must not be published (``0 < value < min_count``).

    Examples
    --------
    >>> import pandas as pd
    >>> small_cell_mask(pd.Series([0, 3, 5, float("nan")])).tolist()
    [False, True, False, False]
    """
    min_count = _check_min_count(min_count)
    if not isinstance(data, xr.DataArray | pd.DataFrame | pd.Series):
        raise TypeError(
            f"expected an xarray DataArray or pandas DataFrame/Series, got {type(data).__name__}"
        )
    # NaN compares False on both sides, so not-observed cells are never flagged.
    return (data > 0) & (data < min_count)


def suppress_small(data: _Data, min_count: int = MIN_COUNT) -> _Data:
    """Replace counts in ``1 .. min_count-1`` by NaN; keep zeros, larger counts and NaN.

    Parameters
    ----------
    data
        Counts as an ``xr.DataArray``, ``pd.DataFrame`` or ``pd.Series`` (numeric).
    min_count
        Smallest count that is published (default 5). 1 suppresses nothing.

    Returns
    -------
    Same type as ``data``
        A float copy with suppressed cells set to NaN and ``attrs`` recording
        ``suppressed_min_count`` and ``suppressed_cells`` (how many were suppressed). NaN in
        the result is either suppressed or not observed; use :func:`small_cell_mask` on the
        input, or :func:`format_table`, to tell them apart.

    Raises
    ------
    ValueError
        If ``min_count`` < 1.

    Examples
    --------
    >>> import xarray as xr
    >>> out = suppress_small(xr.DataArray([0, 1, 4, 5, 12], dims="district"))
    >>> out.values.tolist()
    [0.0, nan, nan, 5.0, 12.0]
    >>> out.attrs["suppressed_cells"], out.attrs["suppressed_min_count"]
    (2, 5)
    """
    mask = small_cell_mask(data, min_count)
    n_suppressed = int(np.asarray(mask).sum())
    as_float = data.astype(float)
    out = as_float.where(~mask) if isinstance(data, xr.DataArray) else as_float.mask(mask)
    out.attrs = {**data.attrs, ATTR_MIN_COUNT: int(min_count), ATTR_N_SUPPRESSED: n_suppressed}
    return out


def format_table(
    df: pd.DataFrame | pd.Series,
    min_count: int = MIN_COUNT,
    *,
    fmt: str = "{:,.0f}",
    not_observed: str = "–",
) -> pd.DataFrame | pd.Series:
    """Strings for publishing a count table: ``"<5"`` for suppressed cells.

    Parameters
    ----------
    df
        Raw (unsuppressed) counts. NaN means not observed.
    min_count
        Smallest published count; suppressed cells read ``f"<{min_count}"``.
    fmt
        Format for published numbers (default: thousands separator, no decimals).
    not_observed
        Text for NaN cells (default an en dash), distinct from ``"0"`` and from ``"<5"``.

    Returns
    -------
    Same type as ``df``, of strings, with ``attrs`` as in :func:`suppress_small`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"供热 Heating": [0, 3, 1250], "燃气 Gas": [7, float("nan"), 4]},
    ...                  index=["市南", "市北", "崂山"])
    >>> format_table(t)
         供热 Heating 燃气 Gas
    市南          0        7
    市北         <5        –
    崂山      1,250       <5
    """
    if not isinstance(df, pd.DataFrame | pd.Series):
        raise TypeError(f"expected a pandas DataFrame or Series, got {type(df).__name__}")
    mask = small_cell_mask(df, min_count)
    missing = df.isna()

    out = df.astype(object).map(fmt.format, na_action="ignore")
    out = out.mask(missing, not_observed).mask(mask, f"<{min_count}")
    out.attrs = {
        **df.attrs,
        ATTR_MIN_COUNT: int(min_count),
        ATTR_N_SUPPRESSED: int(np.asarray(mask).sum()),
    }
    return out


#: Name of the column of :func:`publishable_counts` that names the withheld columns of a row.
SUPPRESSED_COLUMN = "suppressed"


def complementary_mask(
    table: pd.DataFrame,
    min_count: int = MIN_COUNT,
    *,
    lines: Literal["both", "rows", "columns"] = "both",
) -> pd.DataFrame:
    """Cells of a count table to withhold: the small cells and their complementary cells.

    A row (or column) that holds exactly one withheld cell gets a second one, its smallest
    other positive cell (a zero if no positive cell is left; NaN cells are never chosen),
    until every row and column holds none or at least two withheld cells. Then neither the
    row and column totals nor the grand total give a small cell back by subtraction.

    Parameters
    ----------
    table
        Raw counts, rows × columns (NaN = not observed).
    min_count
        Smallest published count (cells 1..min_count-1 are withheld first).
    lines
        Which totals can be known: ``"both"`` (rows and columns, a two-way table),
        ``"columns"`` (column totals only, e.g. one column per measure) or ``"rows"``.

    Returns
    -------
    pandas.DataFrame
        Booleans like ``table``: True where the cell is withheld.

    Examples
    --------
    Two small cells in column ``a``; each of their rows gives up its next smallest cell:

    >>> t = pd.DataFrame({"a": [3, 4, 10], "b": [20, 30, 15], "c": [50, 60, 70]})
    >>> complementary_mask(t).to_numpy().astype(int).tolist()
    [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    """
    if lines not in ("both", "rows", "columns"):
        raise ValueError(f"lines must be 'both', 'rows' or 'columns', got {lines!r}")
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(table).__name__}")
    values = table.to_numpy(dtype=float)
    mask = np.array(small_cell_mask(table, min_count).to_numpy(dtype=bool))
    candidate = np.isfinite(values)
    # Smaller cells first; zeros only after every positive cell.
    largest = float(np.max(values[candidate], initial=0.0))
    cost = np.where(values > 0, values, np.where(values == 0, largest + 1.0, np.inf))
    axes = {"both": (1, 0), "rows": (1,), "columns": (0,)}[lines]
    changed = True
    while changed:
        changed = False
        for axis in axes:  # axis 1: each row is a line; axis 0: each column
            view_mask = mask if axis == 1 else mask.T
            view_cost = cost if axis == 1 else cost.T
            view_ok = candidate if axis == 1 else candidate.T
            for i in np.flatnonzero(view_mask.sum(axis=1) == 1):
                free = view_ok[i] & ~view_mask[i]
                if not free.any():
                    continue  # nothing else in the line: its total is the cell itself
                j = int(np.argmin(np.where(free, view_cost[i], np.inf)))
                view_mask[i, j] = True
                changed = True
    return pd.DataFrame(mask, index=table.index, columns=table.columns)


def publishable_counts(
    frame: pd.DataFrame,
    counts: Sequence[str],
    *,
    derived: Mapping[str, Sequence[str]] | None = None,
    min_count: int = MIN_COUNT,
    lines: Literal["both", "rows", "columns"] | None = None,
) -> pd.DataFrame:
    """Machine-readable copy of a table with counts: plain numbers, withheld cells empty.

    Parameters
    ----------
    frame
        The raw table.
    counts
        Columns holding counts: values 1..min_count-1 are withheld.
    derived
        ``{column: [source columns]}``: a column computed from others (ratio, excess, rate) is
        withheld wherever one of its sources is.
    min_count
        Smallest published count; 1 withholds nothing.
    lines
        Also withhold complementary cells among ``counts`` (:func:`complementary_mask`):
        ``"columns"`` when each count column has a known total, ``"both"`` when the count
        columns form a two-way table whose row totals are known too; None: no complement.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with withheld cells set to NA (integer columns stay integers, as pandas'
        nullable ``Int64``), and a ``suppressed`` column naming the withheld columns of each
        row (``;``-separated, ``""`` when none). ``attrs`` record ``suppressed_min_count`` and
        ``suppressed_cells`` (count cells withheld).

    Examples
    --------
    >>> t = pd.DataFrame({"observed": [12, 40], "expected": [3.2, 12.5], "ratio": [3.75, 3.2]})
    >>> out = publishable_counts(t, ["observed", "expected"], derived={"ratio": ["observed",
    ...                          "expected"]})
    >>> print(out.to_csv(index=False).strip())
    observed,expected,ratio,suppressed
    12,,,expected;ratio
    40,12.5,3.2,
    """
    min_count = _check_min_count(min_count)
    counts = list(counts)
    derived = dict(derived or {})
    missing = [c for c in [*counts, *derived] if c not in frame.columns]
    if missing:
        raise KeyError(f"no columns {missing}; have {list(frame.columns)}")
    block = frame[counts].astype(float)
    if lines is None:
        hidden = small_cell_mask(block, min_count)
    else:
        hidden = complementary_mask(block, min_count, lines=lines)
    out = frame.copy()
    withheld = {c: hidden[c].to_numpy(dtype=bool) for c in counts}
    for col, sources in derived.items():
        withheld[col] = np.logical_or.reduce(
            [withheld[s] for s in sources if s in withheld] or [np.zeros(len(frame), bool)]
        )
    for col, mask in withheld.items():
        data = out[col]
        if pd.api.types.is_integer_dtype(data.dtype) or pd.api.types.is_bool_dtype(data.dtype):
            data = data.astype("Int64")
        out[col] = data.mask(mask)
    names = np.array(list(withheld), dtype=object)
    flags = np.column_stack(list(withheld.values())) if withheld else np.zeros((len(frame), 0))
    out[SUPPRESSED_COLUMN] = pd.Series(
        [";".join(names[row]) for row in flags.astype(bool)], index=frame.index, dtype=object
    )
    out.attrs = {
        **frame.attrs,
        ATTR_MIN_COUNT: int(min_count),
        ATTR_N_SUPPRESSED: int(sum(int(withheld[c].sum()) for c in counts)),
    }
    return out
