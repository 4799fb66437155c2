"""Reconciliation: coherence at every level, non-negativity, and agreement with
hierarchicalforecast (MinTrace mint_shrink) on a small case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.forecast.reconcile import (
    LEVELS,
    Hierarchy,
    hierarchy_levels,
    incoherence,
    reconcile,
    shrunk_covariance,
    summing_matrix,
)

QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]
DISTRICTS = ["市南", "崂山"]
CATEGORIES = ["heating", "gas", "noise"]
PARENTS = ["utilities", "utilities", "environment"]


def level_forecast(level, mean, spread=1.0, horizon=3):
    """Forecast Dataset for a level from a (nodes, horizon) mean array."""
    h = Hierarchy.from_bottom(bottom_template())
    districts, categories = h.labels(level)
    mean = np.asarray(mean, float).reshape(len(districts), len(categories), horizon)
    m = xr.DataArray(
        np.moveaxis(mean, -1, 0), dims=("time", "district", "category"),
        coords={"time": pd.date_range("2025-01-01", periods=horizon),
                "district": list(districts), "category": list(categories)},
    )
    offsets = xr.DataArray(np.array([-2, -1, 0, 1, 2.0]) * spread, dims="quantile",
                           coords={"quantile": QUANTILES})
    ds = xr.Dataset({"mean": m, "quantiles": (m + offsets * np.sqrt(m + 1)).clip(0)},
                    attrs={"model": "toy", "freq": "D", "fit_origin": "2024-12-31"})
    if level == "bottom":
        ds = ds.assign_coords(parent=("category", PARENTS),
                              label_en=("category", ["Heating", "Gas", "Noise"]))
    return ds


def bottom_template():
    return xr.DataArray(
        np.zeros((2, 3)), dims=("district", "category"),
        coords={"district": DISTRICTS, "category": CATEGORIES, "parent": ("category", PARENTS)},
    )


def base_forecasts(rng, horizon=3, bottom_scale=10.0, agg_noise=0.1):
    """Base forecasts at all six levels: noisy versions of the sums of a true bottom."""
    h = Hierarchy.from_bottom(bottom_template())
    truth = rng.gamma(2.0, bottom_scale, size=(6, horizon))
    out = {}
    for level in h.levels:
        agg = h.matrix(level) @ truth
        out[level] = level_forecast(level, agg * rng.lognormal(0, agg_noise, agg.shape),
                                    horizon=horizon)
    return out


def residuals_for(rng, levels, n=40):
    """Correlated residuals per level: a common shock plus node noise, summed like counts."""
    h = Hierarchy.from_bottom(bottom_template())
    common = rng.normal(size=(n, 1))
    bottom = common * 2 + rng.normal(size=(n, 6)) * np.linspace(1, 3, 6)
    out = {}
    for level in levels:
        districts, categories = h.labels(level)
        vals = bottom @ h.matrix(level).T + rng.normal(size=(n, len(districts) * len(categories)))
        out[level] = xr.DataArray(
            vals.reshape(n, len(districts), len(categories)),
            dims=("sample", "district", "category"),
            coords={"district": list(districts), "category": list(categories)},
        )
    return out


def assert_coherent_nonnegative(rec):
    assert incoherence(rec) < 1e-8
    assert incoherence(rec, "mean") < 1e-8
    for level, ds in rec.items():
        assert (ds["mean"] >= 0).all(), level
        assert (ds["quantiles"] >= 0).all(), level
        assert (ds["quantiles"].diff("quantile") >= -1e-12).all(), level
        assert ds["mean"].dims == ("time", "district", "category")
        assert ds.attrs["level"] == level


def test_summing_matrix_layout():
    S = summing_matrix(bottom_template())
    # city, parent(2), category(3), district(2), district_parent(4), bottom(6)
    assert S.shape == (1 + 2 + 3 + 2 + 4 + 6, 6)
    assert S.loc["city/city/all"].sum() == 6
    assert S.loc["parent/city/utilities"].tolist() == [1, 1, 0, 1, 1, 0]
    assert S.loc["district_parent/崂山/environment"].tolist() == [0, 0, 0, 0, 0, 1]
    np.testing.assert_array_equal(S.iloc[-6:].to_numpy(), np.eye(6))


def test_hierarchy_levels_use_cube_helpers_and_add_up():
    rng = np.random.default_rng(0)
    counts = rng.poisson(5, (10, 2, 3)).astype(float)
    counts[3, 0, 1] = np.nan
    cube = xr.Dataset({"counts": (("time", "district", "category"), counts)},
                      coords={"time": pd.date_range("2024-01-01", periods=10),
                              "district": DISTRICTS, "category": CATEGORIES,
                              "parent": ("category", PARENTS)})
    lv = hierarchy_levels(cube)
    assert set(lv) == set(LEVELS)
    assert lv["city"]["counts"].sizes == {"time": 10, "district": 1, "category": 1}
    assert lv["parent"]["category"].values.tolist() == ["utilities", "environment"]
    np.testing.assert_allclose(lv["district"]["counts"][:, :, 0].isel(time=0),
                               counts[0].sum(axis=1))
    assert np.isnan(lv["city"]["counts"][3]).all()  # not observed stays not observed
    assert not np.isnan(lv["city"]["counts"][4]).any()


def test_bottom_up_from_bottom_only():
    rng = np.random.default_rng(1)
    fc = base_forecasts(rng)["bottom"]
    rec = reconcile(fc)
    assert set(rec) == set(LEVELS)
    assert_coherent_nonnegative(rec)
    xr.testing.assert_allclose(rec["bottom"]["mean"], fc["mean"])
    # without base forecasts, aggregate quantiles are sums of the bottom quantiles
    np.testing.assert_allclose(
        rec["city"]["quantiles"].values.ravel(),
        fc["quantiles"].sum(("district", "category")).values.ravel(),
    )
    assert "comonotone" in rec["city"].attrs["quantile_method"]
    # label coordinates survive where the dim is kept
    assert rec["category"]["label_en"].values.tolist() == ["Heating", "Gas", "Noise"]
    assert rec["bottom"]["parent"].values.tolist() == PARENTS


def test_bottom_up_with_aggregates_shifts_their_quantiles():
    rng = np.random.default_rng(2)
    base = base_forecasts(rng)
    rec = reconcile(base, "bottom_up", quantiles="shift")
    assert_coherent_nonnegative(rec)
    # the district level keeps its own spread around the bottom-up mean (where not clipped)
    spread_in = base["district"]["quantiles"] - base["district"]["mean"]
    spread_out = rec["district"]["quantiles"] - rec["district"]["mean"]
    unclipped = rec["district"]["quantiles"] > 0
    xr.testing.assert_allclose(spread_out.where(unclipped), spread_in.where(unclipped))
    rec_bu = reconcile(base, "bottom_up", quantiles="bottom_up")
    np.testing.assert_allclose(
        rec_bu["district"]["quantiles"].values[:, :, 0],
        rec_bu["bottom"]["quantiles"].sum("category").values,
    )


def test_mint_shrink_is_coherent_and_nonnegative():
    rng = np.random.default_rng(3)
    base = base_forecasts(rng, agg_noise=0.3)
    rec = reconcile(base, "mint_shrink", residuals=residuals_for(rng, list(base)))
    assert_coherent_nonnegative(rec)
    assert rec["bottom"].attrs["reconciliation"] == "mint_shrink"
    assert 0 <= rec["bottom"].attrs["shrinkage"] <= 1
    # an input that is already coherent is left alone by MinT
    coherent = reconcile(base)  # bottom-up: coherent
    again = reconcile(coherent, "mint_shrink", residuals=residuals_for(rng, list(base)))
    for level in LEVELS:
        xr.testing.assert_allclose(again[level]["mean"], coherent[level]["mean"])


def test_mint_needs_residuals_and_aggregates():
    rng = np.random.default_rng(4)
    base = base_forecasts(rng)
    with pytest.raises(ValueError, match="residuals"):
        reconcile(base, "mint_shrink")
    with pytest.raises(ValueError, match="aggregate"):
        reconcile(base["bottom"], "mint_shrink", residuals={})
    with pytest.raises(ValueError, match="needs residuals for levels"):
        reconcile(base, "mint_shrink", residuals=residuals_for(rng, ["bottom"]))


def test_levels_without_parent_coordinate():
    fc = base_forecasts(np.random.default_rng(5))["bottom"].drop_vars("parent")
    rec = reconcile(fc)
    assert set(rec) == {"bottom", "district", "category", "city"}
    with pytest.raises(ValueError, match="parent"):
        reconcile(fc, levels=["parent"])


# ------------------------------------------------------------------ hierarchicalforecast


def _hf_inputs(base, residuals):
    h = Hierarchy.from_bottom(base["bottom"])
    order = [*h.aggregates, "bottom"]
    y_hat = np.vstack([
        base[lv]["mean"].transpose("district", "category", "time").values.reshape(-1, 3)
        for lv in order
    ])
    res = np.hstack([
        residuals[lv].transpose("sample", "district", "category").values.reshape(
            residuals[lv].sizes["sample"], -1)
        for lv in order
    ])
    return h.summing_matrix(), y_hat, res


def _ours_stacked(rec, h):
    return np.vstack([
        rec[lv]["mean"].transpose("district", "category", "time").values.reshape(-1, 3)
        for lv in [*h.aggregates, "bottom"]
    ])


def test_shrunk_covariance_matches_hierarchicalforecast():
    utils = pytest.importorskip("hierarchicalforecast.utils")
    rng = np.random.default_rng(6)
    r = rng.normal(size=(30, 8)) + rng.normal(size=(30, 1))
    W, lam = shrunk_covariance(r)
    expected = utils._shrunk_covariance_schaferstrimmer_no_nans(np.ascontiguousarray(r.T), 2e-8)
    np.testing.assert_allclose(W, expected, rtol=1e-6, atol=1e-10)
    assert 0 < lam < 1


@pytest.mark.filterwarnings("ignore::UserWarning:qpsolvers")
@pytest.mark.parametrize("nonnegative", [False, True])
def test_mint_shrink_matches_hierarchicalforecast(nonnegative):
    methods = pytest.importorskip("hierarchicalforecast.methods")
    rng = np.random.default_rng(7)
    if nonnegative:
        # small bottom forecasts and much smaller aggregates: MinT pushes some bottoms below 0
        base = base_forecasts(rng, bottom_scale=0.5, agg_noise=0.05)
        for level in ("city", "district", "category", "parent", "district_parent"):
            base[level]["mean"] = base[level]["mean"] * 0.2
    else:
        base = base_forecasts(rng, agg_noise=0.3)
    residuals = residuals_for(rng, list(base))
    h = Hierarchy.from_bottom(base["bottom"])
    S, y_hat, res = _hf_inputs(base, residuals)

    hf = methods.MinTrace(method="mint_shrink", nonnegative=nonnegative)
    expected = hf.fit_predict(S=S, y_hat=y_hat, y_insample=res.T,
                              y_hat_insample=np.zeros_like(res.T))["mean"]
    rec = reconcile(base, "mint_shrink", residuals=residuals, nonnegative=nonnegative)
    got = _ours_stacked(rec, h)
    if nonnegative:
        unconstrained = reconcile(base, "mint_shrink", residuals=residuals, nonnegative=False)
        assert (unconstrained["bottom"]["mean"] < 0).any(), "case must exercise the constraint"
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)  # HF returns float32
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-8)


def test_bottom_up_matches_hierarchicalforecast():
    methods = pytest.importorskip("hierarchicalforecast.methods")
    base = base_forecasts(np.random.default_rng(8))
    h = Hierarchy.from_bottom(base["bottom"])
    S, y_hat, _ = _hf_inputs(base, residuals_for(np.random.default_rng(0), list(base)))
    expected = methods.BottomUp().fit_predict(S=S, y_hat=y_hat)["mean"]
    np.testing.assert_allclose(_ours_stacked(reconcile(base), h), expected)


def test_end_to_end_with_backtest_residuals():
    """hierarchy_levels -> a model per level -> backtest residuals -> MinT: coherent."""
    factory = pytest.importorskip("predgov.forecast.factory")
    from predgov.data.demo import demo_city
    from predgov.forecast.backtest import backtest

    cube = demo_city(seed=0).isel(district=[0, 5], category=[0, 1, 5, 6],
                                  time=slice(-300, None))[["counts"]]
    levels = hierarchy_levels(cube)
    horizon = 14
    forecasts, residuals = {}, {}
    for level, counts in levels.items():
        model = factory.make_forecaster("seasonal_naive")
        forecasts[level] = model.fit(counts).predict(horizon)
        residuals[level] = backtest(model, counts, horizon, n_origins=3, step=7).residuals()
    rec = reconcile(forecasts, "mint_shrink", residuals=residuals)
    assert_coherent_nonnegative(rec)
    assert rec["bottom"]["label_en"].values.tolist() == cube["label_en"].values.tolist()
    # bottom-up agrees with summing the bottom forecasts directly
    bu = reconcile(forecasts["bottom"])
    np.testing.assert_allclose(bu["city"]["mean"].values.ravel(),
                               forecasts["bottom"]["mean"].sum(("district", "category")).values)


# ------------------------------------------------------------------ cost of large hierarchies


def test_mint_warns_with_size_and_cost_before_a_long_run(monkeypatch):
    """Before: MinT over 5,000 categories ran for minutes without a word."""
    import predgov.forecast.reconcile as rec

    rng = np.random.default_rng(3)
    base = base_forecasts(rng)
    residuals = residuals_for(rng, list(base))
    monkeypatch.setattr(rec, "MINT_WARN_SECONDS", 0.0)
    with pytest.warns(rec.MintCostWarning, match=r"MinT over 18 nodes \(12 aggregate, 6 bottom, "
                                                 r"40 residual samples\): expect about"):
        reconcile(base, "mint_shrink", residuals=residuals)
    monkeypatch.setattr(rec, "MINT_MAX_BYTES", 10.0)
    with pytest.raises(ValueError, match=r"needs about .* GB .*method='bottom_up'"):
        reconcile(base, "mint_shrink", residuals=residuals)


def test_mint_cost_grows_with_the_aggregates_not_the_square_of_all_nodes():
    from predgov.forecast.reconcile import mint_cost

    small = mint_cost(n_bottom=50_000, n_aggregates=5_011, n_samples=40, n_periods=28)
    assert small["bytes"] < 1e9 and small["seconds"] < 30  # measured: 5.2 s
    # The dense covariance of the old code alone: 55,011**2 * 8 bytes = 24 GB.
    assert mint_cost(50_000, 50_000, 40)["bytes"] > 1e10


def test_large_hierarchy_mint_matches_the_dense_formula():
    """The structured solve gives the textbook MinT with the dense shrunk covariance."""
    from predgov.forecast.reconcile import _mint_bottom, shrinkage_factors

    rng = np.random.default_rng(5)
    h = Hierarchy.from_bottom(bottom_template())
    used = h.aggregates
    S = h.summing_matrix(used)
    n_aggs = S.shape[0] - S.shape[1]
    R = rng.normal(size=(30, S.shape[0])) + rng.normal(size=(30, 1))
    y = rng.gamma(2.0, 5.0, size=(S.shape[0], 4))
    W, _ = shrunk_covariance(R)
    J = np.hstack([np.zeros((S.shape[1], n_aggs)), np.eye(S.shape[1])])
    Ut = np.hstack([np.eye(n_aggs), -S[:n_aggs]])
    P = J - (J @ W @ Ut.T) @ np.linalg.solve(Ut @ W @ Ut.T, Ut)
    X, d, _ = shrinkage_factors(R)
    from scipy import sparse

    got = _mint_bottom(sparse.csr_array(S[:n_aggs]), X, d, y)
    np.testing.assert_allclose(got, P @ y, rtol=1e-9, atol=1e-9)


def test_nonnegative_mint_on_a_large_hierarchy_clips_and_says_so(monkeypatch):
    import predgov.forecast.reconcile as rec

    rng = np.random.default_rng(7)
    base = base_forecasts(rng, bottom_scale=0.5, agg_noise=0.05)
    for level in ("city", "district", "category", "parent", "district_parent"):
        base[level]["mean"] = base[level]["mean"] * 0.2
    residuals = residuals_for(rng, list(base))
    monkeypatch.setattr(rec, "NNLS_MAX_NODES", 5)
    with pytest.warns(rec.MintCostWarning, match="negative bottom means were set to 0"):
        out = reconcile(base, "mint_shrink", residuals=residuals)
    assert_coherent_nonnegative(out)
