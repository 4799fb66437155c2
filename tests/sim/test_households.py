import numpy as np
import pytest

from predgov.sim.households import BOTTOM, CORNER, EDGE, PROPENSITY, TOP, build_households


@pytest.fixture(scope="module")
def city():
    return build_households(seed=0, scale=0.01)


def test_sizes_scale_with_households(city):
    assert 36_000 <= len(city) <= 38_500  # 1 % of ~3.73 million
    small = build_households(seed=0, scale=0.002)
    assert abs(len(small) / len(city) - 0.2) < 0.01


def test_index_ranges_partition_the_city(city):
    for start, stop in [(city.grid_start, city.grid_stop),
                        (city.estates.start, city.estates.stop),
                        (city.district_start, city.district_stop)]:
        assert start[0] == 0 and stop[-1] == len(city)
        np.testing.assert_array_equal(start[1:], stop[:-1])
        assert (stop > start).all()
    # estates and grids never cross district boundaries
    np.testing.assert_array_equal(city.district[city.estates.start], city.estates.district)
    np.testing.assert_array_equal(city.district[city.grid_stop - 1], city.grid_district)
    size = city.grid_stop - city.grid_start
    urban = city.urban[city.grid_district]
    assert 300 <= np.median(size[urban]) <= 500
    assert 150 <= np.median(size[~urban]) <= 180  # rural grids: 田庄镇, 15,422 hh in 93 grids


def test_tianzhuang_town_has_93_grids_and_about_15400_households():
    pingdu = build_households(seed=0, scale=1.0, districts=["平度"])
    a, b = pingdu.places["田庄镇"]
    est = pingdu.estates
    h0, h1 = est.start[a], est.stop[b - 1]
    assert abs((h1 - h0) / 15_422 - 1) < 0.03
    inside = (pingdu.grid_start >= h0) & (pingdu.grid_stop <= h1)
    assert inside.sum() == 93
    assert ((pingdu.grid_stop <= h0) | (pingdu.grid_start >= h1) | inside).all()  # nested


def test_state_is_valid(city):
    assert ((city.clog >= 0) & (city.clog <= 1)).all()
    assert (city.propensity > 0).all() and (city.patience >= 1).all()
    assert ((city.occupants >= 1) & (city.occupants <= 5)).all()
    assert (city.experience == 0).all() and (city.active == 0).all()
    f = city.flags
    assert not (((f & CORNER) > 0) & ((f & EDGE) == 0)).any()  # a corner flat is an edge flat
    assert 0.25 < np.mean((f & EDGE) > 0) < 0.35
    both = ((f & TOP) > 0) & ((f & BOTTOM) > 0)
    assert (city.estates.floors[city.estate[both]] == 1).all()


def test_older_systems_clog_more(city):
    e = city.estates
    mean_clog = np.bincount(city.estate, weights=city.clog) / e.size
    assert np.corrcoef(e.system_age, mean_clog)[0, 1] > 0.7


def test_propensity_heterogeneous_by_district(city):
    names = city.district_names
    means = np.bincount(city.district, weights=city.propensity) / np.bincount(city.district)
    ratio = means.max() / means.min()
    assert 2.0 < ratio < 3.2  # up to ~3x between areas (311 literature)
    assert means[names.index("市南")] > means[names.index("平度")]
    assert max(PROPENSITY.values()) / min(PROPENSITY.values()) <= 3.0


def test_same_seed_same_world_and_subsets():
    a = build_households(seed=1, scale=0.002)
    b = build_households(seed=1, scale=0.002)
    np.testing.assert_array_equal(a.clog, b.clog)
    np.testing.assert_array_equal(a.estates.system_age, b.estates.system_age)
    sub = build_households(seed=1, scale=0.002, districts=["平度"])
    i = a.district_names.index("平度")
    mask = a.estates.district == i
    np.testing.assert_array_equal(sub.estates.system_age, a.estates.system_age[mask])
    with pytest.raises(ValueError, match="unknown districts"):
        build_households(scale=0.001, districts=["nowhere"])
