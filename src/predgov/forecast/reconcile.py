"""Forecast reconciliation over the district × category hierarchy.

Forecasts made separately for districts, categories and the city do not add up. ``reconcile``
turns them into *coherent* forecasts: every aggregate equals the sum of its children.

The hierarchy
-------------
It is the product of two small trees: districts → city, and categories → parent class → all.
That gives six **levels**, each a forecast Dataset in the ordinary cube layout
``(time, district, category)``, with an aggregated dim kept at length one:

================== ========================= =======================================
level              district dim               category dim
================== ========================= =======================================
``bottom``         districts                 categories
``district_parent`` districts                parent codes
``district``       districts                 ``["all"]``
``category``       ``["city"]``              categories
``parent``         ``["city"]``              parent codes
``city``           ``["city"]``              ``["all"]``
================== ========================= =======================================

The ``"city"`` label matches :func:`predgov.data.cube.to_city`, and the parent level matches
:func:`predgov.data.cube.to_parent` (a ``category`` dim of parent codes), so
``hierarchy_levels(cube)`` (built from those helpers) gives the observed counts of every level,
and fitting any forecaster to each of them gives base forecasts in exactly the shape
``reconcile`` takes. The ``parent`` levels exist only when the cube has a ``parent`` coordinate.

Input and output
----------------
``reconcile(forecast, method, residuals=...)`` takes the bottom forecast Dataset alone, or a
mapping ``{level: forecast Dataset}`` holding ``"bottom"`` and any aggregate levels (aggregated
dims may be left out: a district forecast over ``(time, district)`` is fine). It returns a
``dict`` ``{level: forecast Dataset}`` for every level of ``levels`` (default: all available),
each with ``mean``, ``quantiles`` and ``fallback`` like any forecast, and attrs recording the
method and how the quantiles were made. :func:`incoherence` measures the largest gap between an
aggregate and the sum of its children (0 up to rounding after ``reconcile``).

Methods
-------
``"bottom_up"``
    Aggregates are sums of the bottom forecasts; aggregate base forecasts only lend their
    quantile spread (see below).
``"mint_shrink"``
    MinT (Wickramasuriya, Athanasopoulos & Hyndman 2019) with the Schäfer–Strimmer shrinkage
    covariance of the base forecasts' errors, as ``hierarchicalforecast``'s
    ``MinTrace(method="mint_shrink")`` (same estimator and ridge; checked against it in the
    tests). Needs base forecasts of every aggregate level used and ``residuals`` (in-sample or,
    better, backtest errors — :meth:`BacktestResult.residuals`) at the same levels over the same
    samples. Samples where any node's residual is NaN are dropped (hierarchicalforecast uses
    pairwise-complete samples instead; the two agree when there are no NaNs).

    Cost: the shrunk covariance is never formed. It is a diagonal plus a matrix of rank at
    most the number of residual samples, and the summing matrix is sparse, so MinT solves one
    dense system of the size of the *aggregate* nodes (memory ``8 * n_aggregates**2`` bytes,
    time about ``n_aggregates**3 / 3`` operations) and otherwise grows linearly with the
    number of nodes. :func:`mint_cost` estimates both from the hierarchy before any work;
    above :data:`MINT_WARN_SECONDS` a :class:`MintCostWarning` names the size and the expected
    cost, and above :data:`MINT_MAX_BYTES` it is a ValueError (use ``"bottom_up"`` or fewer
    levels). Measured on 2 shared cores: 10 districts × 5,000 categories with the city,
    district and category levels (5,011 aggregate of 55,011 nodes, 40 residual samples, 28
    periods) takes 5.2 s, where the dense covariance alone would need 24 GB; 1 district ×
    2,000 categories 1.2 s instead of 7.0 s, with the same result (to 1e-10).

Non-negative counts (``nonnegative=True``, default): for MinT, the same problem as
hierarchicalforecast's ``nonnegative=True`` — the generalised least-squares projection with
bottom forecasts constrained to be ≥ 0, solved exactly by non-negative least squares
(``scipy.optimize.nnls``) for the periods where the unconstrained solution has a negative
value; aggregates are then re-summed so the result stays coherent. For bottom-up, negative
bottom means (not expected: forecasts are ≥ 0) are clipped at 0. Above
:data:`NNLS_MAX_NODES` nodes the exact NNLS is too costly: negative bottom means are clipped
at 0 (then re-summed) with a :class:`MintCostWarning` saying so.

Quantiles
---------
Only means have an exact coherent reconciliation; a sum's quantiles are not the sums of the
parts' quantiles. Two documented choices:

``quantiles="shift"`` (default)
    Every node that has a base forecast keeps its own predictive spread, moved by the change
    in its mean: ``q_rec = q_base + (mean_rec - mean_base)`` (then clipped at 0). Aggregates
    modelled directly thus keep intervals fitted to their own variability. Aggregate nodes
    without a base forecast get the **sum of their children's quantiles** — the quantiles of
    the sum if the children moved in lock-step (comonotone), i.e. an upper bound on the
    interval width: too wide when the parts are less than perfectly correlated.
``quantiles="bottom_up"``
    Bottom quantiles are shifted as above; every aggregate quantile level is the sum of the
    bottom ones (coherent level by level, and comonotone, so aggregate intervals are too wide).

Each output level records its choice in ``attrs["quantile_method"]``.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> t = pd.date_range("2025-01-01", periods=2)
>>> mean = xr.DataArray(np.ones((2, 2, 2)), dims=("time", "district", "category"),
...                     coords={"time": t, "district": ["a", "b"], "category": ["x", "y"]})
>>> fc = xr.Dataset({"mean": mean, "quantiles": mean.expand_dims(quantile=[0.5], axis=-1)})
>>> rec = reconcile(fc)
>>> sorted(rec)
['bottom', 'category', 'city', 'district']
>>> rec["city"]["mean"].values.ravel().tolist()
[4.0, 4.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import linalg, sparse
from scipy.optimize import nnls

from predgov.data.cube import rollup, to_city, to_parent

#: All levels, bottom first, as (district side, category side).
LEVELS: dict[str, tuple[str, str]] = {
    "bottom": ("district", "category"),
    "district_parent": ("district", "parent"),
    "district": ("district", "all"),
    "category": ("city", "category"),
    "parent": ("city", "parent"),
    "city": ("city", "all"),
}
#: Label of the aggregated district dim (as :func:`predgov.data.cube.to_city`).
CITY = "city"
#: Label of the aggregated category dim.
ALL = "all"

Method = Literal["bottom_up", "mint_shrink"]
QuantileMethod = Literal["shift", "bottom_up"]

_SERIES = ("district", "category")

#: Expected MinT run time (seconds) above which :func:`reconcile` warns before starting.
MINT_WARN_SECONDS = 30.0
#: Memory (bytes) of MinT's dense aggregate system above which :func:`reconcile` refuses.
MINT_MAX_BYTES = 4e9
#: Largest hierarchy (nodes) for the exact non-negative MinT (NNLS); above it, clipping.
NNLS_MAX_NODES = 3000
#: Floating-point operations per second assumed by :func:`mint_cost`: measured 1e10 for the
#: whole of :func:`reconcile` (10 × 5,000 hierarchy, 2 shared cores), rounded down.
FLOPS_PER_SECOND = 8e9


class MintCostWarning(UserWarning):
    """MinT on a large hierarchy: long run time expected, or the exact NNLS replaced by
    clipping."""


def mint_cost(n_bottom: int, n_aggregates: int, n_samples: int, n_periods: int = 1) -> dict:
    """Memory (bytes) and time (seconds) MinT is expected to take on a hierarchy.

    Dominated by the dense ``n_aggregates`` × ``n_aggregates`` system (Cholesky factor and
    solve) and the low-rank products over all nodes; see the module docstring.

    Examples
    --------
    >>> cost = mint_cost(n_bottom=50_000, n_aggregates=5_011, n_samples=40)
    >>> round(cost["bytes"] / 1e9, 2), round(cost["seconds"])
    (0.27, 6)
    """
    n_nodes = n_bottom + n_aggregates
    flops = (
        n_aggregates**3 / 3  # Cholesky
        + 2 * n_samples * n_aggregates**2  # (XU)'(XU)
        + 2 * n_aggregates**2 * (n_periods + n_samples)  # solves
        + 10 * n_samples * n_nodes * (n_samples + n_periods)  # low-rank parts, shrinkage
    )
    memory = 8 * (n_aggregates**2 + 4 * n_samples * n_nodes + 2 * n_periods * n_nodes)
    return {"bytes": float(memory), "seconds": float(flops / FLOPS_PER_SECOND)}


# -------------------------------------------------------------------------------- hierarchy


@dataclass(frozen=True)
class Hierarchy:
    """The levels over given bottom labels: node labels per level and the summing matrix."""

    districts: tuple[str, ...]
    categories: tuple[str, ...]
    parent_of: tuple[str, ...] | None
    levels: tuple[str, ...]

    @classmethod
    def from_bottom(cls, bottom: xr.Dataset | xr.DataArray,
                    levels: Sequence[str] | None = None) -> Hierarchy:
        missing = set(_SERIES) - set(bottom.dims)
        if missing:
            raise ValueError(f"bottom forecast needs dims district and category; has {bottom.dims}")
        extra = set(bottom.dims) - {"time", "quantile", *_SERIES}
        if extra:
            raise ValueError(f"unexpected dims {sorted(map(str, extra))} in the bottom level")
        parent = (
            tuple(str(p) for p in bottom["parent"].values) if "parent" in bottom.coords else None
        )
        available = [lv for lv, (_, c) in LEVELS.items() if c != "parent" or parent is not None]
        if levels is None:
            levels = available
        unknown = [lv for lv in levels if lv not in available]
        if unknown:
            hint = " (the parent levels need a 'parent' coordinate on category)" if (
                parent is None and any("parent" in u for u in unknown)) else ""
            raise ValueError(f"unknown levels {unknown}; available {available}{hint}")
        ordered = tuple(lv for lv in LEVELS if lv in set(levels) | {"bottom"})
        return cls(
            tuple(str(d) for d in bottom["district"].values),
            tuple(str(c) for c in bottom["category"].values),
            parent,
            ordered,
        )

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.parent_of or ()))

    def labels(self, level: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(district labels, category labels) of a level."""
        dside, cside = LEVELS[level]
        districts = self.districts if dside == "district" else (CITY,)
        categories = {"category": self.categories, "parent": self.parents, "all": (ALL,)}[cside]
        return districts, categories

    def matrix(self, level: str) -> np.ndarray:
        """0/1 matrix (nodes of ``level``, bottom nodes), row-major over (district, category)."""
        return self.sparse_matrix(level).toarray()

    def sparse_matrix(self, level: str) -> sparse.csr_array:
        """:meth:`matrix` as a sparse array (what reconciliation works with)."""
        dside, cside = LEVELS[level]
        nd, nc = len(self.districts), len(self.categories)
        dmap = sparse.eye_array(nd) if dside == "district" else sparse.csr_array(np.ones((1, nd)))
        if cside == "category":
            cmap = sparse.eye_array(nc)
        elif cside == "parent":
            index = {q: i for i, q in enumerate(self.parents)}
            rows = [index[p] for p in self.parent_of]
            cmap = sparse.csr_array(
                (np.ones(nc), (rows, np.arange(nc))), shape=(len(self.parents), nc)
            )
        else:
            cmap = sparse.csr_array(np.ones((1, nc)))
        return sparse.csr_array(sparse.kron(dmap, cmap, format="csr"), dtype=float)

    def n_nodes(self, level: str) -> int:
        """Number of nodes of ``level``."""
        districts, categories = self.labels(level)
        return len(districts) * len(categories)

    @property
    def aggregates(self) -> tuple[str, ...]:
        return tuple(lv for lv in reversed(self.levels) if lv != "bottom")

    def summing_matrix(self, levels: Sequence[str] | None = None) -> np.ndarray:
        """S: rows are the nodes of ``levels`` (aggregates, coarsest first) then the bottom."""
        aggs = self.aggregates if levels is None else tuple(
            lv for lv in self.aggregates if lv in levels)
        blocks = [*(self.sparse_matrix(lv) for lv in aggs), self.sparse_matrix("bottom")]
        return sparse.vstack(blocks, format="csr").toarray()


def summing_matrix(bottom: xr.Dataset | xr.DataArray,
                   levels: Sequence[str] | None = None) -> pd.DataFrame:
    """The summing matrix S of the hierarchy over ``bottom``'s districts and categories.

    Rows are nodes labelled ``"level/district/category"`` (aggregate levels coarsest first, then
    the bottom); columns are the bottom nodes ``"district/category"``.

    Examples
    --------
    >>> b = xr.DataArray(np.zeros((2, 2)), dims=("district", "category"),
    ...                  coords={"district": ["a", "b"], "category": ["x", "y"]})
    >>> S = summing_matrix(b, levels=["city", "district"])
    >>> S.index.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['city/city/all', 'district/a/all', 'district/b/all',
     'bottom/a/x', 'bottom/a/y', 'bottom/b/x', 'bottom/b/y']
    >>> S.loc["district/b/all"].tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    h = Hierarchy.from_bottom(bottom, levels)
    rows = [f"{lv}/{d}/{c}" for lv in (*h.aggregates, "bottom")
            for d in h.labels(lv)[0] for c in h.labels(lv)[1]]
    cols = [f"{d}/{c}" for d in h.districts for c in h.categories]
    return pd.DataFrame(h.summing_matrix(), index=rows, columns=cols)


def hierarchy_levels(
    cube: xr.Dataset | xr.DataArray, levels: Sequence[str] | None = None
) -> dict[str, xr.Dataset]:
    """Observed counts at every level of the hierarchy, each in the cube layout.

    Built with :func:`predgov.data.cube.to_city`, :func:`~predgov.data.cube.to_parent` and
    :func:`~predgov.data.cube.rollup`, so NaN (not observed) propagates to the aggregates. Fit a
    forecaster to each level to get the base forecasts for :func:`reconcile`.

    Examples
    --------
    >>> ds = xr.Dataset({"counts": (("time", "district", "category"), [[[1, 2], [3, 4]]])},
    ...                 coords={"district": ["a", "b"], "category": ["x", "y"],
    ...                         "parent": ("category", ["p", "p"])})
    >>> lv = hierarchy_levels(ds)
    >>> sorted(lv)
    ['bottom', 'category', 'city', 'district', 'district_parent', 'parent']
    >>> lv["district"]["counts"].values.ravel().tolist(), lv["city"]["counts"].item()
    ([3, 7], 10)
    """
    if isinstance(cube, xr.DataArray):
        cube = cube.to_dataset(name=cube.name or "counts")
    if "counts" not in cube:
        raise ValueError("cube has no 'counts' variable")
    cube = cube[["counts"]]
    h = Hierarchy.from_bottom(cube, levels)
    out: dict[str, xr.Dataset] = {}
    for level in h.levels:
        dside, cside = LEVELS[level]
        ds = cube
        if cside == "parent":
            ds = to_parent(ds)
        elif cside == "all":
            cats = [n for n, c in ds.coords.items() if "category" in c.dims and n != "category"]
            ds = ds.drop_vars(cats).assign_coords(_all=("category", [ALL] * ds.sizes["category"]))
            ds = rollup(ds, "category", "_all").rename(_all="category")
        if dside == "city":
            ds = to_city(ds, CITY)
        out[level] = ds.transpose("time", "district", "category", ...)
    return out


# ------------------------------------------------------------------------- input handling


def _as_level(ds: xr.Dataset | xr.DataArray, level: str, h: Hierarchy, what: str) -> xr.Dataset:
    """A level's Dataset (or residual DataArray) in the layout (..., district, category)."""
    districts, categories = h.labels(level)
    for dim, labels in (("district", districts), ("category", categories)):
        if dim not in ds.dims:
            if len(labels) != 1:
                raise ValueError(f"{what} for level {level!r} lacks the {dim!r} dim")
            ds = ds.expand_dims({dim: list(labels)})
        elif (len(labels) == 1 and ds.sizes[dim] == 1) or (
            dim not in ds.coords and ds.sizes[dim] == len(labels)
        ):
            ds = ds.assign_coords({dim: list(labels)})
        else:
            have = [str(v) for v in ds[dim].values]
            if set(have) != set(labels) or len(have) != len(labels):
                raise ValueError(
                    f"{what} for level {level!r}: {dim} labels {have[:5]}... do not match the "
                    f"hierarchy's {list(labels)[:5]}..."
                )
            ds = ds.sel({dim: list(labels)})
    return ds


def _level_forecasts(
    forecast: xr.Dataset | Mapping[str, xr.Dataset]
) -> dict[str, xr.Dataset]:
    if isinstance(forecast, xr.Dataset):
        return {"bottom": forecast}
    if not isinstance(forecast, Mapping) or "bottom" not in forecast:
        raise TypeError("forecast must be the bottom forecast Dataset or a mapping with 'bottom'")
    unknown = set(forecast) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown levels {sorted(unknown)}; levels are {list(LEVELS)}")
    return dict(forecast)


def _node_block(ds: xr.Dataset, var: str) -> np.ndarray:
    """(nodes, time[, quantile]) array of a level Dataset, nodes row-major over (d, c)."""
    da = ds[var]
    order = ["district", "category", "time"] + (["quantile"] if "quantile" in da.dims else [])
    arr = da.transpose(*order).values.astype(float)
    return arr.reshape(arr.shape[0] * arr.shape[1], *arr.shape[2:])


# ------------------------------------------------------------------------------- MinT parts


def shrinkage_factors(
    residuals: np.ndarray, ridge: float = 2e-8
) -> tuple[np.ndarray, np.ndarray, float]:
    """The Schäfer–Strimmer shrunk covariance as ``X.T @ X + diag(d)``, never forming it.

    ``residuals`` is ``(samples, nodes)`` without NaN. Returns ``(X, d, lambda)`` with ``X``
    ``(samples, nodes)``: the shrunk covariance (:func:`shrunk_covariance`) has off-diagonal
    entries ``(1 - lambda) * cov`` and diagonal ``max(cov_ii, ridge)``. The intensity is
    computed from ``samples × samples`` products only, so memory and time grow linearly with
    the number of nodes.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = rng.normal(size=(50, 3))
    >>> X, d, lam = shrinkage_factors(r)
    >>> bool(np.allclose(X.T @ X + np.diag(d), shrunk_covariance(r)[0]))
    True
    """
    r = np.asarray(residuals, dtype=float)
    n, m = r.shape
    if n < 2:
        raise ValueError("need at least 2 residual samples for a covariance")
    eps = 2e-8
    xc = r - r.mean(axis=0)
    var = (xc**2).sum(axis=0) / (n - 1)
    xs = xc / (r.std(axis=0) + eps)
    xs = xs - xs.mean(axis=0)
    sq = xs**2
    # Off-diagonal sums of the empirical correlations w_ij (ddof 0) and of their variances,
    # sum_t (xs_ti xs_tj - w_ij)**2 = sum_t sq_ti sq_tj - n w_ij**2, through n × n products.
    gram = xs @ xs.T
    w2_all = float((gram**2).sum()) / n**2
    w2_diag = float((sq.sum(axis=0) ** 2).sum()) / n**2
    s4_all = float((sq.sum(axis=1) ** 2).sum())
    s4_diag = float((sq**2).sum())
    off_w2 = w2_all - w2_diag
    off_var = (s4_all - s4_diag) - n * off_w2
    num = off_var / (n * (n - 1))
    lam = float(np.clip(num / (off_w2 + eps), 0.0, 1.0)) if m > 1 else 1.0
    X = xc * np.sqrt((1.0 - lam) / (n - 1))
    d = np.maximum(var, ridge) - (1.0 - lam) * var
    return X, d, lam


def shrunk_covariance(residuals: np.ndarray, ridge: float = 2e-8) -> tuple[np.ndarray, float]:
    """Schäfer–Strimmer shrinkage of the residual covariance towards its diagonal.

    ``residuals`` is ``(samples, nodes)`` without NaN. Returns ``(W, lambda)``: off-diagonal
    covariances are multiplied by ``1 - lambda``, diagonal entries floored at ``ridge``. The
    intensity ``lambda = sum Var(r_ij) / sum r_ij**2`` over pairs ``i != j`` of the empirical
    correlations (clipped to [0, 1]), as in hierarchicalforecast's ``mint_shrink``. Dense
    (``nodes × nodes``): reconciliation itself uses :func:`shrinkage_factors`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W, lam = shrunk_covariance(rng.normal(size=(50, 3)))
    >>> W.shape, 0 <= lam <= 1, bool(np.allclose(W, W.T))
    ((3, 3), True, True)
    """
    X, d, lam = shrinkage_factors(residuals, ridge)
    W = X.T @ X
    W[np.diag_indices_from(W)] += d
    return W, lam


def _mint_bottom(
    S_agg: sparse.csr_array, X: np.ndarray, d: np.ndarray, y_hat: np.ndarray
) -> np.ndarray:
    """MinT bottom forecasts ``y_b - J W U (U' W U)^-1 U' y`` (Wickramasuriya et al.) with
    ``W = X' X + diag(d)`` and ``U' = [I, -S_agg]``, solving only an aggregates × aggregates
    system: ``U' W U = (X U)'(X U) + diag(d_a) + S_agg diag(d_b) S_agg'`` and
    ``J W U = X_b'(X U) - diag(d_b) S_agg'``."""
    n_aggs = S_agg.shape[0]
    X_a, X_b = X[:, :n_aggs], X[:, n_aggs:]
    d_a, d_b = d[:n_aggs], d[n_aggs:]
    y_a, y_b = y_hat[:n_aggs], y_hat[n_aggs:]
    XU = X_a - (S_agg @ X_b.T).T  # (samples, aggregates)
    St = S_agg.T.tocsr()
    M = XU.T @ XU + (S_agg @ (St * d_b[:, None])).toarray()
    M[np.diag_indices_from(M)] += d_a
    gap = y_a - S_agg @ y_b  # U' y, (aggregates, T)
    try:
        z = linalg.cho_solve(linalg.cho_factor(M, check_finite=False), gap, check_finite=False)
    except linalg.LinAlgError as exc:  # pragma: no cover - guarded by the ridge
        raise ValueError("MinT is ill-conditioned: increase ridge or use bottom_up") from exc
    return y_b - (X_b.T @ (XU @ z) - d_b[:, None] * (St @ z))


def _nonnegative_mint(S: np.ndarray, W: np.ndarray, y_hat: np.ndarray,
                      bottom: np.ndarray) -> np.ndarray:
    """Replace periods with negative bottom values by the NNLS solution of the GLS problem."""
    bad = (bottom < 0).any(axis=0)
    if not bad.any():
        return bottom
    vals, vecs = np.linalg.eigh(W)
    w_inv_half = (vecs / np.sqrt(np.maximum(vals, 1e-300))) @ vecs.T
    A = w_inv_half @ S
    out = bottom.copy()
    for t in np.flatnonzero(bad):
        out[:, t], _ = nnls(A, w_inv_half @ y_hat[:, t], maxiter=50 * A.shape[1])
    return out


def _residual_matrix(
    residuals: Mapping[str, xr.DataArray | Any], h: Hierarchy, used: Sequence[str]
) -> np.ndarray:
    """(samples, nodes) residuals in the node order of ``used`` (aggregates then bottom)."""
    missing = [lv for lv in used if lv not in residuals]
    if missing:
        raise ValueError(f"mint_shrink needs residuals for levels {missing}")
    blocks = []
    for level in used:
        res = residuals[level]
        if hasattr(res, "residuals") and callable(res.residuals):
            res = res.residuals()
        if isinstance(res, xr.Dataset):
            res = res[next(iter(res.data_vars))]
        res = _as_level(res, level, h, "residuals")
        sample_dims = [d for d in res.dims if d not in _SERIES]
        res = res.transpose(*sample_dims, "district", "category")
        blocks.append(res)
    blocks = list(xr.align(*blocks, join="inner", exclude=_SERIES))
    out = []
    for res in blocks:
        sample_dims = [d for d in res.dims if d not in _SERIES]
        arr = res.values.astype(float)
        n_samples = int(np.prod([res.sizes[d] for d in sample_dims])) if sample_dims else 1
        out.append(arr.reshape(n_samples, -1))
    matrix = np.hstack(out)
    keep = np.isfinite(matrix).all(axis=1)
    if keep.sum() < 2:
        raise ValueError("fewer than 2 residual samples are observed at every node")
    return matrix[keep]


def _check_mint_cost(
    n_bottom: int, n_aggs: int, residuals: Mapping[str, Any], n_periods: int
) -> None:
    """Warn (or refuse) before a MinT that will take long (or too much memory)."""
    sizes = []
    for res in residuals.values():
        if isinstance(res, xr.DataArray | xr.Dataset):
            sizes.append(int(np.prod([n for d, n in res.sizes.items() if d not in _SERIES])))
    n_samples = max(sizes, default=100)
    cost = mint_cost(n_bottom, n_aggs, n_samples, n_periods)
    size = (
        f"MinT over {n_bottom + n_aggs:,} nodes ({n_aggs:,} aggregate, {n_bottom:,} bottom, "
        f"{n_samples:,} residual samples)"
    )
    if cost["bytes"] > MINT_MAX_BYTES:
        raise ValueError(
            f"{size} needs about {cost['bytes'] / 1e9:.1f} GB (limit {MINT_MAX_BYTES / 1e9:.0f}"
            " GB): use method='bottom_up', or fewer levels (levels=...)"
        )
    if cost["seconds"] > MINT_WARN_SECONDS:
        warnings.warn(
            f"{size}: expect about {cost['seconds']:.0f} s and {cost['bytes'] / 1e9:.1f} GB; "
            "method='bottom_up' takes under a second",
            MintCostWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- reconcile


def reconcile(
    forecast: xr.Dataset | Mapping[str, xr.Dataset],
    method: Method = "bottom_up",
    *,
    residuals: Mapping[str, Any] | None = None,
    levels: Sequence[str] | None = None,
    nonnegative: bool = True,
    quantiles: QuantileMethod = "shift",
    ridge: float = 2e-8,
) -> dict[str, xr.Dataset]:
    """Coherent forecasts at every level of the district × category hierarchy.

    Parameters
    ----------
    forecast
        The bottom (district × category) forecast Dataset, or ``{level: forecast}`` with
        ``"bottom"`` and any aggregate levels (see the module docstring for the layout).
    method
        ``"bottom_up"`` or ``"mint_shrink"``.
    residuals
        For ``"mint_shrink"``: ``{level: errors}`` for ``"bottom"`` and every aggregate level
        given in ``forecast``: DataArrays of ``actual - forecast`` over sample dims (e.g.
        ``origin, lead``) and the level's series dims, or :class:`BacktestResult` objects.
    levels
        Levels to return (default: all available). MinT uses the aggregate levels that have
        base forecasts; the others are summed from the reconciled bottom.
    nonnegative
        Keep bottom forecasts ≥ 0 (see the module docstring); aggregates stay coherent.
    quantiles
        ``"shift"`` or ``"bottom_up"`` (see the module docstring).
    ridge
        Floor of the covariance diagonal (hierarchicalforecast's ``mint_shr_ridge``).

    Returns
    -------
    dict[str, xr.Dataset]
        ``{level: forecast Dataset}`` over ``(time, district, category[, quantile])``.

    Examples
    --------
    >>> t = pd.date_range("2025-01-01", periods=1)
    >>> def fc(values, district, category):
    ...     m = xr.DataArray(np.array(values, float).reshape(1, len(district), len(category)),
    ...                      dims=("time", "district", "category"),
    ...                      coords={"time": t, "district": district, "category": category})
    ...     return xr.Dataset({"mean": m, "quantiles": m.expand_dims(quantile=[0.5], axis=-1)})
    >>> base = {"bottom": fc([1, 2, 3, 4], ["a", "b"], ["x", "y"]),
    ...         "city": fc([12], ["city"], ["all"])}
    >>> rng = np.random.default_rng(1)
    >>> res = {"bottom": xr.DataArray(rng.normal(size=(30, 2, 2)),
    ...                               dims=("sample", "district", "category")),
    ...        "city": xr.DataArray(rng.normal(size=(30, 1, 1)) * 0.5,
    ...                             dims=("sample", "district", "category"))}
    >>> rec = reconcile(base, "mint_shrink", residuals=res, levels=["city"])
    >>> total = float(rec["city"]["mean"].sum())
    >>> 10 < total < 12, round(total - float(rec["bottom"]["mean"].sum()), 9)
    (True, 0.0)
    """
    if method not in ("bottom_up", "mint_shrink"):
        raise ValueError(f"method must be 'bottom_up' or 'mint_shrink', got {method!r}")
    if quantiles not in ("shift", "bottom_up"):
        raise ValueError(f"quantiles must be 'shift' or 'bottom_up', got {quantiles!r}")
    given = _level_forecasts(forecast)
    bottom_in = given["bottom"]
    h = Hierarchy.from_bottom(bottom_in, levels)
    extra = [lv for lv in given if lv not in h.levels]
    if levels is not None and extra:
        h = Hierarchy.from_bottom(bottom_in, [*h.levels, *extra])
    base = {lv: _as_level(ds, lv, h, "forecast") for lv, ds in given.items()}
    time = base["bottom"]["time"]
    q_levels = base["bottom"]["quantile"]
    for lv, ds in base.items():
        if not np.array_equal(ds["time"].values, time.values):
            raise ValueError(f"level {lv!r} forecasts other periods than the bottom level")
        if "quantiles" in ds and not np.allclose(ds["quantile"].values, q_levels.values):
            raise ValueError(f"level {lv!r} has other quantile levels than the bottom level")

    bottom_mean = _node_block(base["bottom"], "mean")  # (n_bottom, T)
    if method == "bottom_up":
        rec_bottom = bottom_mean.copy()
        if nonnegative:
            rec_bottom = np.maximum(rec_bottom, 0.0)
        used: tuple[str, ...] = ()
        shrinkage = None
    else:
        used = tuple(lv for lv in h.aggregates if lv in base)
        if not used:
            raise ValueError("mint_shrink needs base forecasts of at least one aggregate level")
        if residuals is None:
            raise ValueError("mint_shrink needs residuals (e.g. backtest errors) per level")
        n_aggs = sum(h.n_nodes(lv) for lv in used)
        n_bottom = h.n_nodes("bottom")
        _check_mint_cost(n_bottom, n_aggs, residuals, bottom_mean.shape[1])
        S_agg = sparse.vstack([h.sparse_matrix(lv) for lv in used], format="csr")
        y_hat = np.vstack([*(_node_block(base[lv], "mean") for lv in used), bottom_mean])
        if nonnegative:
            y_hat = np.maximum(y_hat, 0.0)
        R = _residual_matrix(residuals, h, (*used, "bottom"))
        if R.shape[1] != n_aggs + n_bottom:  # pragma: no cover - guarded by _as_level
            raise ValueError("residual nodes do not match the hierarchy")
        X, d, shrinkage = shrinkage_factors(R, ridge)
        rec_bottom = _mint_bottom(S_agg, X, d, y_hat)
        if nonnegative and (rec_bottom < 0).any():
            if n_aggs + n_bottom <= NNLS_MAX_NODES:
                S = sparse.vstack([S_agg, sparse.eye_array(n_bottom)]).toarray()
                W = X.T @ X
                W[np.diag_indices_from(W)] += d
                rec_bottom = _nonnegative_mint(S, W, y_hat, rec_bottom)
            else:
                warnings.warn(
                    f"MinT over {n_aggs + n_bottom:,} nodes: the exact non-negative solution "
                    f"(NNLS) is too costly above {NNLS_MAX_NODES:,} nodes; negative bottom "
                    "means were set to 0 and the aggregates re-summed",
                    MintCostWarning,
                    stacklevel=2,
                )
            rec_bottom = np.maximum(rec_bottom, 0.0)

    bottom_q = _node_block(base["bottom"], "quantiles")  # (n_bottom, T, Q)
    shifted_bottom_q = bottom_q + (rec_bottom - bottom_mean)[..., None]
    if nonnegative:
        shifted_bottom_q = np.maximum(shifted_bottom_q, 0.0)

    model = str(bottom_in.attrs.get("model", "forecast"))
    out: dict[str, xr.Dataset] = {}
    n_b, n_t, n_q = shifted_bottom_q.shape
    for level in h.levels:
        M = h.sparse_matrix(level)
        mean = M @ rec_bottom
        if level == "bottom":
            quant, qsource = shifted_bottom_q, "base, shifted to the reconciled mean"
        elif quantiles == "shift" and level in base:
            quant = _node_block(base[level], "quantiles") + (
                mean - _node_block(base[level], "mean"))[..., None]
            if nonnegative:
                quant = np.maximum(quant, 0.0)
            qsource = "base, shifted to the reconciled mean"
        else:
            quant = (M @ shifted_bottom_q.reshape(n_b, -1)).reshape(-1, n_t, n_q)
            qsource = "sum of bottom quantiles (comonotone: intervals too wide)"
        quant = np.maximum.accumulate(quant, axis=-1)
        out[level] = _level_dataset(
            level, h, mean, quant, base.get(level), bottom_in, time, q_levels,
            attrs={
                **{k: v for k, v in bottom_in.attrs.items() if k in ("fit_origin", "freq")},
                "model": model,
                "reconciliation": method,
                "reconciled_levels": ", ".join(h.levels),
                "mint_levels": ", ".join(used) if used else "none",
                "nonnegative": int(bool(nonnegative)),
                "level": level,
                "quantile_method": qsource,
                **({"shrinkage": shrinkage} if shrinkage is not None else {}),
            },
        )
    return out


def _level_dataset(
    level: str,
    h: Hierarchy,
    mean: np.ndarray,
    quant: np.ndarray,
    given: xr.Dataset | None,
    bottom: xr.Dataset,
    time: xr.DataArray,
    q_levels: xr.DataArray,
    attrs: dict[str, Any],
) -> xr.Dataset:
    districts, categories = h.labels(level)
    nd, nc = len(districts), len(categories)
    dside, cside = LEVELS[level]
    coords: dict[Hashable, Any] = {
        "time": time.variable,
        "district": list(districts),
        "category": list(categories),
        "quantile": q_levels.variable,
    }
    # carry label coordinates of the kept (unaggregated) dims
    source = given if given is not None else bottom
    for name, c in source.coords.items():
        if name in ("district", "category") or len(c.dims) != 1:
            continue
        dim = c.dims[0]
        if (dim == "district" and dside == "district") or (
            dim == "category" and (cside == "category" or (given is not None and cside != "all"))
        ):
            coords[name] = (dim, c.values)
    if cside == "parent" and "parent" not in coords:
        coords["parent"] = ("category", list(categories))
    fallback = np.full((nd, nc), "", dtype=object)
    if given is not None and "fallback" in given:
        fb = given["fallback"]
        if "time" in fb.dims:
            fb = fb.isel(time=0)
        fallback = fb.transpose("district", "category").values.astype(str)
    ds = xr.Dataset(
        {
            "mean": (("district", "category", "time"), mean.reshape(nd, nc, -1)),
            "quantiles": (("district", "category", "time", "quantile"),
                          quant.reshape(nd, nc, *quant.shape[1:])),
            "fallback": (("district", "category"), np.asarray(fallback, dtype=str)),
        },
        coords=coords,
        attrs=attrs,
    )
    ds["mean"] = ds["mean"].transpose("time", "district", "category")
    ds["quantiles"] = ds["quantiles"].transpose("time", "district", "category", "quantile")
    return ds


def incoherence(reconciled: Mapping[str, xr.Dataset], var: str = "mean") -> float:
    """Largest absolute gap between any aggregate node and the sum of its bottom nodes.

    Examples
    --------
    >>> m = xr.DataArray(np.ones((1, 2, 2)), dims=("time", "district", "category"),
    ...                  coords={"time": [0], "district": ["a", "b"], "category": ["x", "y"]})
    >>> fc = xr.Dataset({"mean": m, "quantiles": m.expand_dims(quantile=[0.5], axis=-1)})
    >>> incoherence(reconcile(fc))
    0.0
    """
    bottom = reconciled["bottom"]
    h = Hierarchy.from_bottom(bottom, [lv for lv in reconciled if lv in LEVELS])
    b = _node_block(bottom, var)
    gap = 0.0
    for level, ds in reconciled.items():
        if level == "bottom":
            continue
        agg = _node_block(_as_level(ds, level, h, "reconciled"), var)
        summed = (h.sparse_matrix(level) @ b.reshape(b.shape[0], -1)).reshape(-1, *b.shape[1:])
        gap = max(gap, float(np.nanmax(np.abs(agg - summed))) if agg.size else 0.0)
    return gap
