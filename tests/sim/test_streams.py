import numpy as np
import pytest

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
