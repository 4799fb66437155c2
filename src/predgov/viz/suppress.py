"""Small-cell suppression for published tables and figures (DESIGN.md, "Privacy").

The rule, the usual one of statistical disclosure control: a cell counting between 1 and
``min_count - 1`` requests (default 1..4) is not published, because a handful of requests can
point at a household. Zero is published: it says nobody called, which identifies no one, and
hiding zeros would also reveal the suppressed cells by elimination no less than showing them.
Missing values (NaN, "not observed") stay missing and are not counted as suppressed. Values are
compared as they are, so apply the rule to counts (totals), not to rates or means.
"""

from __future__ import annotations

from typing import TypeVar

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
