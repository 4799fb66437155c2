"""The door of predgov.impact: output contract, sign convention, categories, bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from predgov.impact import METHODS, estimate

SMALL = {"T": 120, "U": 8, "K": 2, "start": 100}
TIME_UNIT = ["observed", "counterfactual", "counterfactual_lo", "counterfactual_hi", "effect",
             "effect_lo", "effect_hi", "cumulative_effect", "cumulative_effect_lo",
             "cumulative_effect_hi", "post"]  # fmt: skip
SCALARS = ["total_effect", "total_effect_lo", "total_effect_hi", "naive_effect",
           "total_relative_effect", "total_relative_effect_lo", "total_relative_effect_hi"]


def quiet_estimate(*args, **kwargs) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(*args, **kwargs)


@pytest.mark.parametrize("method", ["its", "did", "synth"])
def test_output_contract_and_sign_convention(make_planted, method):
    p = make_planted(1, effect=0.5, **SMALL)
    out = quiet_estimate(p.counts, p.treated, p.start, method=method, n_draws=200)
    for name in TIME_UNIT:
        assert out[name].dims == ("time", "estate"), name
    assert list(out["estate"].values) == p.treated
    assert out.sizes["time"] == p.counts.sizes["time"]
    for name in SCALARS:
        assert out[name].dims == (), name
    for name in ["effect_pooled", "effect_pooled_lo", "effect_pooled_hi",
                 "cumulative_effect_pooled"]:
        assert out[name].dims == ("time",)
    assert out["relative_effect"].dims == ("estate",)
    # effect = observed - counterfactual; a halving is negative (calls prevented)
    xr.testing.assert_allclose(out.effect, out.observed - out.counterfactual)
    assert float(out.total_effect) < 0 and float(out.total_effect_hi) < 0
    assert float(out.total_effect_lo) <= float(out.total_effect) <= float(out.total_effect_hi)
    assert (out.counterfactual_lo <= out.counterfactual_hi).all()
    assert (out.effect_lo <= out.effect_hi).all()
    # the total is the cumulative effect at the end, summed over units
    final = out.cumulative_effect.isel(time=-1).sum()
    np.testing.assert_allclose(float(out.total_effect), float(final))
    np.testing.assert_allclose(float(out.cumulative_effect_pooled[-1]), float(final))
    # cumulative effect is 0 before the start
    pre = ~out.post
    assert float(np.abs(out.cumulative_effect.where(pre, 0.0)).max()) == 0.0
    assert out.post.sum("time").values.tolist() == [20, 20]
    # joint interval of the total is narrower than the sum of pointwise bounds
    post = out.post
    naive_width = float((out.effect_hi - out.effect_lo).where(post, 0.0).sum())
    assert float(out.total_effect_hi - out.total_effect_lo) < naive_width
    # attrs
    assert out.attrs["method"] == method
    assert out.attrs["level"] == 0.9
    assert out.attrs["start"] == str(p.start.date())
    checks = json.loads(out.attrs["checks"])
    assert {"pre_trend", "regression_to_mean", "placebo_in_time"} <= set(checks)
    assert "NOT an effect estimate" in out.naive_effect.attrs["long_name"]
    assert out.effect.attrs["units"] == "requests"
    assert out.relative_effect.attrs["units"] == "1"


def test_naive_effect_is_the_raw_year_on_year_difference(make_planted):
    p = make_planted(2, **SMALL)  # 100 weeks before the start: a year back is in the data
    out = quiet_estimate(p.counts, p.treated, p.start, method="its", n_draws=50, calibrate=False)
    y = p.counts.sel(estate=p.treated).values
    expected = y[100:].sum() - y[100 - 52 : 120 - 52].sum()
    assert float(out.naive_effect) == expected
    assert out.naive_effect.attrs["kind"] == "year_on_year"


def test_naive_effect_before_after_when_no_year_back(make_planted):
    p = make_planted(2, T=60, U=6, K=1, start=40)
    out = quiet_estimate(p.counts, p.treated, p.start, method="its", n_draws=50, calibrate=False)
    y = p.counts.sel(estate=p.treated).values[:, 0]
    assert float(out.naive_effect) == y[40:].sum() - y[20:40].sum()
    assert out.naive_effect.attrs["kind"] == "before_after"


def test_same_seed_same_answer_other_seed_other_draws(make_planted):
    p = make_planted(3, **SMALL)
    a = quiet_estimate(p.counts, p.treated, p.start, method="its", n_draws=100, seed=5)
    b = quiet_estimate(p.counts, p.treated, p.start, method="its", n_draws=100, seed=5)
    c = quiet_estimate(p.counts, p.treated, p.start, method="its", n_draws=100, seed=6)
    xr.testing.assert_identical(a, b)
    assert float(a.total_effect) == float(c.total_effect)  # the point estimate has no noise
    assert float(a.total_effect_lo) != float(c.total_effect_lo)


def test_dataset_input_boolean_treated_and_level(make_planted):
    p = make_planted(4, **SMALL)
    cube = p.counts.to_dataset(name="counts")
    mask = xr.DataArray(np.isin(p.counts.estate, p.treated), dims="estate",
                        coords={"estate": p.counts.estate})  # fmt: skip
    a = quiet_estimate(cube, mask, p.start, method="its", n_draws=200, calibrate=False)
    b = quiet_estimate(p.counts, p.treated, p.start, method="its", n_draws=200, calibrate=False)
    xr.testing.assert_identical(a, b)
    wide = quiet_estimate(cube, mask, p.start, method="its", n_draws=200, calibrate=False,
                          level=0.99)  # fmt: skip
    assert float(wide.total_effect_hi - wide.total_effect_lo) > float(a.total_effect_hi
                                                                      - a.total_effect_lo)


def test_categories_per_category_sum_and_one(make_planted):
    p1, p2 = make_planted(5, **SMALL), make_planted(6, **SMALL)
    da = xr.concat([p1.counts, p2.counts], dim=pd.Index(["heating", "noise"], name="category"))
    da = da.transpose("time", "estate", "category")
    per = quiet_estimate(da, p1.treated, p1.start, method="its", n_draws=50, calibrate=False)
    assert per.total_effect.dims == ("category",)
    assert per.effect.dims == ("category", "time", "estate") or set(per.effect.dims) == {
        "category", "time", "estate"}
    one = quiet_estimate(p1.counts, p1.treated, p1.start, method="its", n_draws=50,
                         calibrate=False)  # fmt: skip
    np.testing.assert_allclose(float(per.total_effect.sel(category="heating")),
                               float(one.total_effect))  # fmt: skip
    picked = quiet_estimate(da, p1.treated, p1.start, method="its", n_draws=50, calibrate=False,
                            category="noise")  # fmt: skip
    assert "category" not in picked.dims
    summed = quiet_estimate(da, p1.treated, p1.start, method="its", n_draws=50, calibrate=False,
                            category="sum")  # fmt: skip
    np.testing.assert_allclose(summed.observed.values,
                               da.sum("category").sel(estate=p1.treated).values)  # fmt: skip


def test_staggered_starts(make_planted):
    p = make_planted(7, **SMALL)
    starts = {p.treated[0]: p.counts.time.values[100], p.treated[1]: p.counts.time.values[110]}
    out = quiet_estimate(p.counts, p.treated, starts, method="its", n_draws=100,
                         calibrate=False)  # fmt: skip
    assert out.post.sum("time").values.tolist() == [20, 10]
    assert json.loads(out.attrs["start"]) == {k: str(pd.Timestamp(v).date())
                                              for k, v in starts.items()}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"start": "2030-01-01"}, "outside the period"),
        ({"start": "2021-01-01"}, "outside the period"),
        ({"treated": ["nowhere"]}, r"labels \['nowhere'\] are not in counts"),
        ({"start_index": 3}, "pre-period is too short"),
        ({"negative": True}, "non-negative"),
        ({"nan": True}, "missing values"),
        ({"method": "magic"}, "method must be one of"),
        ({"level": 1.5}, "level must be in"),
        ({"treated": []}, "no treated units"),
        ({"category": "heating"}, "no 'category' dim"),
        ({"unit_dim": "district"}, "not a unit dimension"),
    ],
)
def test_bad_input_clear_errors(make_planted, change, match):
    p = make_planted(8, **SMALL)
    counts = p.counts.copy()
    kwargs = {"treated": p.treated, "start": p.start, "method": "its", "n_draws": 50}
    if change.pop("negative", False):
        counts[5, 3] = -1
    if change.pop("nan", False):
        counts = counts.astype(float)
        counts[7, 2] = np.nan
    if "start_index" in change:
        kwargs["start"] = counts.time.values[change.pop("start_index")]
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        estimate(counts, **kwargs)


def test_methods_listed():
    assert METHODS == ("auto", "its", "did", "synth")


def test_unknown_option_is_a_type_error(make_planted):
    p = make_planted(9, **SMALL)
    with pytest.raises(TypeError, match="takes no options"):
        estimate(p.counts, p.treated, p.start, method="its", bogus=1)


def test_pooling_allocates_by_pre_period_shares(make_planted):
    p = make_planted(10, level=(0.5, 1.5), K=3)  # about one call a week: sparse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = estimate(p.counts, p.treated, p.start, method="its", n_draws=100, rtm="warn")
        unpooled = estimate(p.counts, p.treated, p.start, method="its", n_draws=100, pool=False)
    assert json.loads(auto.attrs["checks"])["pooled"].startswith("yes")
    assert json.loads(unpooled.attrs["checks"])["pooled"] == "no"
    pre = p.counts.sel(estate=p.treated).isel(time=slice(0, 130)).sum("time")
    share = (pre / pre.sum()).values
    cf = auto.counterfactual.values
    np.testing.assert_allclose(cf / cf.sum(axis=1, keepdims=True), np.tile(share, (156, 1)),
                               rtol=1e-5)  # fmt: skip
    # the pooled fit is the fit of the treated total
    total = p.counts.sel(estate=p.treated).sum("estate").expand_dims(estate=["T"], axis=1)
    rest = p.counts.drop_sel(estate=p.treated)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = estimate(xr.concat([total, rest], "estate"), ["T"], p.start, method="its",
                       n_draws=100, rtm="warn")  # fmt: skip
    np.testing.assert_allclose(cf.sum(axis=1), one.counterfactual.values[:, 0], rtol=1e-6)
    assert float(auto.total_effect) == pytest.approx(float(one.total_effect))


def test_pool_true_needs_one_start(make_planted):
    p = make_planted(10, **SMALL)
    t = p.counts.time.values
    with pytest.raises(ValueError, match="pool=True needs one start"):
        estimate(p.counts, p.treated, {p.treated[0]: t[100], p.treated[1]: t[105]},
                 method="its", pool=True)
