"""Common random numbers: every draw is keyed by (seed, process, day[, unit, purpose]).

Two kinds of stream, chosen by whether the *number* of draws can depend on the model state:

``day_rng(seed, process, day)``
    A ``numpy.random.Generator`` from ``SeedSequence(seed, spawn_key=(process, day))``. Used only
    for draws whose count and parameters do not depend on state that an intervention can
    change: candidate counts per grid or estate (thinning upper bounds), candidate positions,
    background volumes. Two runs that differ only in an intervention therefore consume these
    streams identically.
``keyed_uniform(seed, process, day, uid, purpose)``
    Counter-based uniforms in [0, 1): a SplitMix64 hash of the key, vectorised over ``uid``. Used
    for every per-case decision (report today? resolved by the visit? satisfied?). A case's
    draw depends only on its own key, never on how many other cases exist, so removing one
    household's problem (an intervention) leaves every other case's draws unchanged.

``day`` is the absolute day number (days since 1970-01-01), so a run that starts later, or a
run on a subset of the city, draws the same numbers for the same day and unit.

Examples
--------
>>> a = day_rng(0, HEATING, 19_700).random(3)
>>> b = day_rng(0, HEATING, 19_700).random(3)
>>> bool((a == b).all())
True
>>> u = keyed_uniform(0, HEATING, 19_700, np.array([5, 6, 7]), purpose=1)
>>> bool(((u >= 0) & (u < 1)).all())
True
>>> bool(u[1] == keyed_uniform(0, HEATING, 19_700, np.array([6]), 1)[0])
True
"""

from __future__ import annotations

import numpy as np

# Process keys of the streams (SeedSequence spawn keys and hash keys). Never renumber: a new
# process takes a new number, so existing runs keep their bytes.
WORLD, HEATING, NEIGHBOUR, CONSUMER, NOISE, BACKGROUND, HANDLING, INTERVENTION = range(8)

# Purposes of keyed draws.
REPORT, RECALL, GIVE_UP, RESOLVE, SATISFY, SELF_END, ESCALATE, ACCEPT = range(1, 9)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def day_rng(seed: int, process: int, day: int) -> np.random.Generator:
    """Generator for the state-independent draws of one process on one day.

    Examples
    --------
    >>> int(day_rng(1, NOISE, 20_000).integers(0, 10**6)) == int(
    ...     day_rng(1, NOISE, 20_000).integers(0, 10**6))
    True
    """
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(process, day)))


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, elementwise on uint64 (wrapping arithmetic).

    Examples
    --------
    >>> mix64(np.array([0, 1], dtype=np.uint64)).dtype
    dtype('uint64')
    """
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


_MASK = (1 << 64) - 1
_H0 = 0x243F6A8885A308D3


def _mix64_int(x: int) -> int:
    """``mix64`` on a Python int in [0, 2**64) (the same bits, without numpy's overhead)."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def hash_key(*parts: np.ndarray | int) -> np.ndarray:
    """Hash several integer keys (scalars or arrays, broadcast) into one uint64 array.

    Leading scalar keys are folded with Python integers, the rest with numpy (same bits).

    Examples
    --------
    >>> hash_key(1, 2).shape, bool(hash_key(1, 2) != hash_key(2, 1))
    ((), True)
    >>> bool(hash_key(1, np.array([2]))[0] == hash_key(1, 2))
    True
    """
    h_int = _H0
    k = 0
    for p in parts:
        if np.ndim(p) != 0:
            break
        v = int(np.int64(p)) & _MASK
        h_int = _mix64_int(h_int ^ ((v + 0x9E3779B97F4A7C15 + (h_int << 6) + (h_int >> 2))
                                    & _MASK))  # fmt: skip
        k += 1
    h = np.asarray(np.uint64(h_int))
    with np.errstate(over="ignore"):
        for p in parts[k:]:
            v = np.asarray(p).astype(np.int64).astype(np.uint64)
            h = mix64(h ^ (v + _GOLDEN + (h << np.uint64(6)) + (h >> np.uint64(2))))
    return h


def keyed_uniform(
    seed: int, process: int, day: int, uid: np.ndarray, purpose: int
) -> np.ndarray:
    """Uniforms in [0, 1), one per ``uid``, depending only on (seed, process, day, uid, purpose).

    Examples
    --------
    >>> keyed_uniform(0, HEATING, 1, np.arange(4), REPORT).shape
    (4,)
    """
    uid = np.asarray(uid)
    h = hash_key(seed, process, day, purpose, uid)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
