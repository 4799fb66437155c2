import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predgov.sim import streams


def test_day_rng_is_keyed_by_seed_process_and_day():
    a = streams.day_rng(3, streams.HEATING, 20_000).random(5)
    np.testing.assert_array_equal(a, streams.day_rng(3, streams.HEATING, 20_000).random(5))
    for other in [(4, streams.HEATING, 20_000), (3, streams.NOISE, 20_000),
                  (3, streams.HEATING, 20_001)]:
        assert not np.array_equal(a, streams.day_rng(*other).random(5))


def test_keyed_uniform_depends_only_on_its_own_key():
    uid = np.arange(1000, dtype=np.uint64) * 7919
    u = streams.keyed_uniform(0, streams.HEATING, 20_000, uid, streams.REPORT)
    alone = streams.keyed_uniform(0, streams.HEATING, 20_000, uid[[17, 500]], streams.REPORT)
    np.testing.assert_array_equal(u[[17, 500]], alone)
    assert ((u >= 0) & (u < 1)).all()
    assert abs(u.mean() - 0.5) < 0.03
    other = streams.keyed_uniform(0, streams.HEATING, 20_000, uid, streams.RESOLVE)
    assert abs(np.corrcoef(u, other)[0, 1]) < 0.1


@pytest.mark.parametrize("part", ["seed", "process", "day"])
def test_keyed_uniform_changes_with_every_key(part):
    key = {"seed": 0, "process": streams.NOISE, "day": 19_000}
    uid = np.arange(50)
    base = streams.keyed_uniform(key["seed"], key["process"], key["day"], uid, streams.REPORT)
    key[part] += 1
    other = streams.keyed_uniform(key["seed"], key["process"], key["day"], uid, streams.REPORT)
    assert not np.any(base == other)


def test_keyed_uniform_is_roughly_uniform():
    u = streams.keyed_uniform(1, streams.CONSUMER, 5, np.arange(100_000), streams.SATISFY)
    hist, _ = np.histogram(u, bins=10, range=(0, 1))
    assert hist.min() > 9_500 and hist.max() < 10_500


@given(
    seed=st.integers(min_value=0, max_value=2**63),
    process=st.integers(min_value=0, max_value=12),
    day=st.integers(min_value=0, max_value=40_000),
)
@settings(max_examples=60, deadline=None)
def test_day_streams_reproduce_numpy_seeding(seed, process, day):
    # DayStreams re-implements SeedSequence -> PCG64 seeding for speed; a numpy release that
    # changed that algorithm would break the equality, and this test would say so.
    from predgov.sim.streams import DayStreams, day_rng

    streams = DayStreams(seed, [process], [day, day + 1])
    for d in (day, day + 1):
        np.testing.assert_array_equal(
            streams.rng(process, d).random(5), day_rng(seed, process, d).random(5)
        )
