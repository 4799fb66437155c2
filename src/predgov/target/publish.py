"""A treatment list as a table fit to publish: small history counts withheld (DESIGN.md, "Privacy").

:func:`predgov.target.treatment_list` keeps every value exact. A list handed to a department or
printed in a brief is a published table, and a unit's calls last season are counts of requests:
1..4 calls can point at a household. :func:`treatment_table` applies the package's one rule
(:func:`predgov.viz.suppress.publishable_counts`): ``history_calls`` of 1..4 are withheld, with a
complementary cell so the column total gives none of them back, and so is every column computed
from them (expected calls, calls averted and its band, calls averted per cost: with shrinkage
``expected = w·history + (1 − w)·mean`` and ``w`` is published, so it would give the count back).
Rank, cost, the running cost and the funded flag stay: they reveal no count.

Totals for a published brief are to be summed from this table, not taken from the Dataset's
attrs (``total_calls_averted`` includes withheld units and would give one back by subtraction).
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

#: Columns computed from ``history_calls`` (withheld with it).
DERIVED = (
    "expected_calls",
    "calls_averted",
    "calls_averted_low",
    "calls_averted_high",
    "averted_per_cost",
)


def treatment_table(treatments: xr.Dataset, min_count: int = 5) -> pd.DataFrame:
    """The treatment list as a publishable table in rank order, small counts withheld.

    Parameters
    ----------
    treatments
        The Dataset of :func:`predgov.target.treatment_list`.
    min_count
        Smallest history count published (default 5; 1 withholds nothing).

    Returns
    -------
    pandas.DataFrame
        One row per unit in rank order: the unit label and its coordinates, then the list's
        variables. Withheld cells are empty (NA) and the ``suppressed`` column names them
        (:func:`predgov.viz.suppress.publishable_counts`); ``attrs`` record how many count
        cells were withheld.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> from predgov.target import treatment_list
    >>> cube = xr.DataArray(
    ...     [[3, 30, 40, 0], [1, 25, 45, 0]], dims=("time", "estate"),
    ...     coords={"time": pd.date_range("2024-11-01", periods=2, freq="MS"),
    ...             "estate": ["A", "B", "C", "D"]})
    >>> tl = treatment_list(cube, budget=200, cost=100, efficacy=0.5, shrink=False)
    >>> t = treatment_table(tl)

    A's 4 calls are withheld, and B's 55 with them (else the column total gives A back):

    >>> print(t[["estate", "rank", "history_calls", "calls_averted"]].to_csv(index=False))
    estate,rank,history_calls,calls_averted
    C,1,85.0,42.5
    B,2,,
    A,3,,
    D,4,0.0,0.0
    <BLANKLINE>
    >>> t["suppressed"].iloc[2]
    'history_calls;expected_calls;calls_averted;averted_per_cost'
    """
    from predgov.viz.suppress import publishable_counts

    if not isinstance(treatments, xr.Dataset) or "history_calls" not in treatments:
        raise ValueError("treatments must be the Dataset of treatment_list (no 'history_calls')")
    unit = str(treatments["history_calls"].dims[0])
    frame = treatments.to_dataframe().reset_index()
    frame = frame.sort_values("rank", kind="mergesort").reset_index(drop=True)
    derived = {c: ["history_calls"] for c in DERIVED if c in frame.columns}
    labels = [str(c) for c in treatments.coords if c != unit]
    first = [unit, "rank", *labels]
    frame = frame[[*first, *[c for c in frame.columns if c not in first]]]
    return publishable_counts(
        frame, ["history_calls"], derived=derived, min_count=min_count, lines="columns"
    )
