"""The synthetic family generator: seeded, members as described, clear errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from predgov.data.synthetic_family import FAMILY, Member, family, generate, member_names


def test_same_seed_same_series_other_seed_other_series():
    a = generate("d_nb_mid", seed=3, n_series=4, years=0.5)
    b = generate("d_nb_mid", seed=3, n_series=4, years=0.5)
    c = generate("d_nb_mid", seed=4, n_series=4, years=0.5)
    assert (a["counts"] == b["counts"]).all()
    assert not (a["counts"] == c["counts"]).all()


def test_members_cover_the_issue_ranges():
    levels = [x for m in FAMILY for x in m.level]
    assert min(levels) <= 0.3 and max(levels) >= 1000
    assert any(m.size is None for m in FAMILY)  # Poisson
    assert min(m.size[0] for m in FAMILY if m.size) <= 1.0  # NB size 1
    assert {m.freq for m in FAMILY} == {"D", "W-MON", "MS"}
    assert any(m.trend for m in FAMILY) and any(m.shift[1] for m in FAMILY)
    assert any(m.holidays for m in FAMILY) and any(m.zero_prob[1] for m in FAMILY)
    assert member_names("W-MON") == ["w_nb"]


def test_levels_in_range_and_counts_around_expected():
    ds = generate("d_pois_mid", seed=0, n_series=6, years=2)
    level = ds["level"].values
    assert (level >= 1.0 * 0.999).all() and (level <= 30.0 * 1.001).all()
    # Poisson: counts minus the true mean have variance equal to the mean (moments, 4400 cells)
    y, mu = ds["counts"].values, ds["expected"].values
    ratio = ((y - mu) ** 2).sum() / mu.sum()
    assert 0.9 < ratio < 1.1
    assert np.isinf(ds["nb_size"].values).all()


def test_nb_size_recovered_by_moments():
    m = Member("t", "test", level=(50.0, 50.0), size=(2.0, 2.0), weekly=(0, 0), yearly=(0, 0))
    ds = generate(m, seed=1, n_series=4, years=3)
    y, mu = ds["counts"].values, ds["expected"].values
    alpha = (((y - mu) ** 2).sum() - mu.sum()) / (mu**2).sum()
    assert 0.45 < alpha < 0.55  # true 1/size = 0.5
    assert np.allclose(ds["size"].values, 2.0)


def test_intermittent_series_have_extra_zeros_and_keep_their_mean():
    ds = generate("d_intermittent", seed=2, n_series=5, years=3)
    y, mu = ds["counts"].values, ds["expected"].values
    zp = ds["zero_prob"].values
    assert (zp >= 0.3).all() and (zp <= 0.7).all()
    assert np.allclose(y.mean(0), mu.mean(0), rtol=0.25)
    assert ((y == 0).mean(0) > zp).all()
    assert np.isfinite(ds["size"].values).all() and (ds["size"].values > 0).all()


def test_weekly_monthly_and_holidays():
    fam = family(0, names=["w_nb", "m_nb", "d_holiday"], n_series=2)
    assert fam["w_nb"].attrs["freq"] == "W-MON" and fam["m_nb"].attrs["freq"] == "MS"
    assert fam["m_nb"].sizes["time"] == 72
    hol = fam["d_holiday"]["holiday"].values
    assert 25 <= hol.sum() <= 33  # 10 dates a year over 3 years (a date may fall outside)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown family member"):
        generate("nope")
    with pytest.raises(ValueError, match="n_series"):
        generate("d_nb_mid", n_series=-1)


#: Seed 0, every member before ``d_weekly_drift`` was added (adding a member must not shift
#: another member's stream): sha256 (first 16 hex) of the ``counts`` bytes, and the sum of
#: ``expected`` (compared to rounding: numpy's exp/log loops differ in the last bit by CPU).
_BEFORE_SEED0 = {
    "d_pois_sparse": ("469c00bdfb43e574", 7185.833291276187),
    "d_pois_mid": ("51a61501d5f4976b", 125841.40843953747),
    "d_pois_high": ("4db282d63475561a", 4237924.890629184),
    "d_nb_sparse": ("4d035cdad1839bb7", 8585.715699008579),
    "d_nb_mid": ("4db8e55004970d17", 148238.68027345187),
    "d_nb_high": ("416c69cd752f8267", 3519828.4705123226),
    "d_nb_size1": ("7906806baf555ce4", 211096.37678971735),
    "d_seasonal": ("64ee0a9fe5d0c0fa", 879590.5127846943),
    "d_trend": ("defb9ba7549b310a", 472954.6925822317),
    "d_shift": ("f284402a39de013b", 446068.7499752402),
    "d_holiday": ("18ca34d161dda735", 404526.0113762957),
    "d_intermittent": ("d9cc67c24fb3010f", 14759.674275541156),
    "w_nb": ("9591916884bcfbc2", 699609.0327212084),
    "m_nb": ("9133b0f02004d854", 141257.95994354392),
}


def test_existing_members_unchanged_by_later_members():
    for name, (digest, expected_sum) in _BEFORE_SEED0.items():
        ds = generate(name, seed=0)
        raw = np.ascontiguousarray(ds["counts"].values).tobytes()
        assert hashlib.sha256(raw).hexdigest()[:16] == digest, name
        assert float(ds["expected"].sum()) == pytest.approx(expected_sum, rel=1e-12), name
    assert member_names()[-1] == "d_weekly_drift"
    assert member_names()[: len(_BEFORE_SEED0)] == list(_BEFORE_SEED0)


def _weekend_log_ratio(y: np.ndarray, dow: np.ndarray) -> np.ndarray:
    return np.log(y[dow >= 5].mean(axis=0) / y[dow <= 3].mean(axis=0))


def test_weekly_drift_member_weekend_contrast_moves():
    ds = generate("d_weekly_drift", seed=5, n_series=8, years=3)
    mu = ds["expected"].values
    lv = ds["level"].values
    assert (lv >= 5.0 * 0.999).all() and (lv <= 200.0 * 1.001).all()
    dow = ds.indexes["time"].day_of_week.to_numpy()
    # The weekend / Mon-Thu log ratio of the true mean, quarter by quarter: it moves by at
    # least the yearly amplitude's range (0.15-0.35 each way) in every series, unlike a fixed
    # weekly profile (e.g. d_nb_mid), whose quarterly ratios agree up to the yearly cycle's
    # day-of-week imbalance.
    quarters = np.arange(mu.shape[0]) // 91

    def ratios(x: np.ndarray) -> np.ndarray:
        return np.array([_weekend_log_ratio(x[quarters == q], dow[quarters == q])
                         for q in range(quarters.max())])

    def spread(x: np.ndarray) -> np.ndarray:
        r = ratios(x)
        return r.max(axis=0) - r.min(axis=0)
    assert (spread(mu) > 0.2).all()
    fixed = generate("d_nb_mid", seed=5, n_series=8, years=3)["expected"].values
    assert (spread(fixed) < 0.05).all()
    # the counts show it too (NB noise around the mean), and weekend_sd records it
    y = ds["counts"].values.astype(float)
    assert np.abs(ratios(y) - ratios(mu)).mean() < 0.1
    assert (ds["weekend_sd"].values > 0.05).all()
    assert (generate("d_nb_mid", seed=5, n_series=2)["weekend_sd"].values == 0).all()
    # the same seed gives the same series; another seed another phase
    again = generate("d_weekly_drift", seed=5, n_series=8, years=3)
    assert (again["counts"] == ds["counts"]).all()
    other = generate("d_weekly_drift", seed=6, n_series=8, years=3)
    assert not np.allclose(other["expected"].values, mu)
