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

Speed (the same numbers, less fixed cost per day; a town's day has only tens of cases):

* ``DayStreams``: a run's ``day_rng`` generators. The SeedSequence -> PCG64 seeding of every
  (process, day) of the run is done in one vectorised pass; each day then only sets the state
  of one reused generator per process (about 1.5 us instead of 7.5 us).
* ``prepare_days``: ``keyed_uniform`` folds (seed, process, day, purpose) from a per-day table
  (all processes and purposes, all the run's days in one pass), so only ``uid`` is hashed.
* Up to ``_SMALL`` keys, ``hash_key`` and ``keyed_uniform`` hash with Python ints (the same
  SplitMix64 bits): for a handful of cases numpy's per-call overhead dominates.

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

import functools
from collections.abc import Sequence

import numpy as np

# Process keys of the streams (SeedSequence spawn keys and hash keys). Never renumber: a new
# process takes a new number, so existing runs keep their bytes.
WORLD, HEATING, NEIGHBOUR, CONSUMER, NOISE, BACKGROUND, HANDLING, INTERVENTION = range(8)
#: Quiet background problems (a latent stock nobody calls about for weeks; ``background``).
BACKGROUND_QUIET = 8

# Purposes of keyed draws.
REPORT, RECALL, GIVE_UP, RESOLVE, SATISFY, SELF_END, ESCALATE, ACCEPT = range(1, 9)
#: Occurrence: arrival times of candidates (``processes.base.keyed_arrivals``), where a
#: candidate lands (household, merchant, cell), a second placement draw, an intervention's
#: intercept decision.
ARRIVAL, PLACE, PLACE2, INTERCEPT = range(9, 13)

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


# SeedSequence (numpy.random.bit_generator) and PCG64 seeding constants, for ``DayStreams``.
_SS_INIT_A, _SS_MULT_A, _SS_INIT_B, _SS_MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_SS_MIX_L, _SS_MIX_R, _M32 = 0xCA01F9DD, 0x4973F715, 0xFFFFFFFF
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341
_M128 = (1 << 128) - 1


def _words32(n: int) -> list[int]:
    """``n >= 0`` as little-endian 32-bit words (as SeedSequence coerces its entropy)."""
    out = [n & _M32]
    n >>= 32
    while n > 0:
        out.append(n & _M32)
        n >>= 32
    return out


def _seed_sequence_pcg64(seed: int, keys: np.ndarray) -> np.ndarray:
    """The PCG64 seed words of ``SeedSequence(seed, spawn_key=tuple(k))`` for every row ``k``
    of ``keys`` (non-negative 32-bit words), vectorised over rows: the (n, 4) uint64 array
    ``SeedSequence.generate_state(4, np.uint64)`` returns (pool size 4, numpy's algorithm).

    Words common to all rows (the seed's) are mixed as Python ints, the rest as uint32 arrays
    (the same wrapping arithmetic)."""
    n = keys.shape[0]
    run = _words32(seed)
    run += [0] * (4 - len(run))  # with a spawn key, short entropy is padded to the pool size
    entropy: list[int | np.ndarray] = list(run)
    entropy += [keys[:, j].astype(np.uint32) for j in range(keys.shape[1])]
    hc = _SS_INIT_A
    s16 = np.uint32(16)

    def hashmix(v: int | np.ndarray) -> int | np.ndarray:
        nonlocal hc
        h = hc
        hc = (hc * _SS_MULT_A) & _M32
        if isinstance(v, int):
            v = ((v ^ h) * hc) & _M32
            return v ^ (v >> 16)
        v = v ^ np.uint32(h)
        v *= np.uint32(hc)
        v ^= v >> s16
        return v

    def mix(x: int | np.ndarray, y: int | np.ndarray) -> int | np.ndarray:
        if isinstance(x, int) and isinstance(y, int):
            r = (_SS_MIX_L * x - _SS_MIX_R * y) & _M32
            return r ^ (r >> 16)
        r = np.uint32(_SS_MIX_L) * np.asarray(x, np.uint32)
        r -= np.uint32(_SS_MIX_R) * np.asarray(y, np.uint32)
        r ^= r >> s16
        return r

    pool = [hashmix(entropy[i]) for i in range(4)]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src]))
    for i_src in range(4, len(entropy)):
        for i_dst in range(4):
            pool[i_dst] = mix(pool[i_dst], hashmix(entropy[i_src]))
    hc = _SS_INIT_B
    state = []
    for i in range(8):
        v = np.broadcast_to(np.asarray(pool[i % 4], np.uint32), (n,)) ^ np.uint32(hc)
        hc = (hc * _SS_MULT_B) & _M32
        v *= np.uint32(hc)
        v ^= v >> s16
        state.append(v.astype(np.uint64))
    s32 = np.uint64(32)
    return np.stack([state[2 * i] | (state[2 * i + 1] << s32) for i in range(4)], axis=1)


def _pcg64_state(words: Sequence[int]) -> tuple[int, int]:
    """PCG64's (state, inc) after seeding with the four uint64 words of a SeedSequence."""
    initstate = (words[0] << 64) | words[1]
    inc = (((words[2] << 64) | words[3]) << 1 | 1) & _M128
    state = (inc + initstate) & _M128  # state 0, one step (state = inc), add initstate
    return (state * _PCG_MULT + inc) & _M128, inc


class DayStreams:
    """The day streams of one run: ``rng(process, day)`` draws exactly what
    ``day_rng(seed, process, day)`` draws, at a fraction of the set-up cost.

    The SeedSequence -> PCG64 seeding of every (process, day) of the run is computed in one
    vectorised pass (on first use); each call then only sets the state of the process's
    generator. One ``Generator`` per process is reused, so the one returned is valid until the
    next ``rng`` call for the same process. Keys outside the run (or beyond 32-bit words) fall
    back to ``day_rng``.

    Examples
    --------
    >>> ds = DayStreams(3, [HEATING, NOISE], np.arange(20_000, 20_005))
    >>> a = ds.rng(NOISE, 20_002).random(4)
    >>> bool((a == day_rng(3, NOISE, 20_002).random(4)).all())
    True
    """

    def __init__(self, seed: int, processes: Sequence[int], days: Sequence[int]) -> None:
        self.seed = int(seed)
        self.processes = [int(p) for p in dict.fromkeys(processes)]
        self.days = [int(d) for d in dict.fromkeys(np.asarray(days, dtype=np.int64).tolist())]
        self._words: dict[int, list[list[int]]] | None = None  # process -> day -> 4 words
        self._day_pos = {d: j for j, d in enumerate(self.days) if 0 <= d <= _M32}
        self._gens: dict[int, np.random.Generator] = {}

    def _prepare(self) -> dict[int, list[list[int]]]:
        ok_p = [p for p in self.processes if 0 <= p <= _M32]
        ok_d = [d for d in self.days if 0 <= d <= _M32]
        self._words = {}
        if self.seed >= 0 and ok_p and ok_d:
            keys = np.empty((len(ok_p), len(ok_d), 2), np.int64)
            keys[:, :, 0] = np.array(ok_p)[:, None]
            keys[:, :, 1] = np.array(ok_d)[None, :]
            words = _seed_sequence_pcg64(self.seed, keys.reshape(-1, 2))
            self._words = dict(zip(ok_p, words.reshape(len(ok_p), len(ok_d), 4).tolist(),
                                   strict=True))  # fmt: skip
        return self._words

    def rng(self, process: int, day: int) -> np.random.Generator:
        """A generator equal to ``day_rng(seed, process, day)`` (see the class docstring)."""
        table = self._words if self._words is not None else self._prepare()
        by_day = table.get(process)
        j = self._day_pos.get(day)
        if by_day is None or j is None:
            return day_rng(self.seed, process, day)
        words = by_day[j]
        gen = self._gens.get(process)
        if gen is None:
            gen = self._gens[process] = np.random.Generator(np.random.PCG64(0))
        state, inc = _pcg64_state(words)
        gen.bit_generator.state = {"bit_generator": "PCG64", "state": {
            "state": state, "inc": inc}, "has_uint32": 0, "uinteger": 0}  # fmt: skip
        return gen


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, elementwise on uint64 (wrapping arithmetic).

    Examples
    --------
    >>> mix64(np.array([0, 1], dtype=np.uint64)).dtype
    dtype('uint64')
    """
    x = np.array(x, dtype=np.uint64)  # a copy: mixed in place below
    if x.ndim == 0:
        return np.uint64(_mix64_int(int(x)))
    return _mix_inplace(x)


_MASK = (1 << 64) - 1
_H0 = 0x243F6A8885A308D3
_GOLDEN_INT = 0x9E3779B97F4A7C15
_S2, _S6, _S11 = np.uint64(2), np.uint64(6), np.uint64(11)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_TO_UNIT = 1.0 / 9007199254740992.0
#: Up to this many keys, hashing runs on Python ints (the same bits, less overhead).
_SMALL = 8


def _mix64_int(x: int) -> int:
    """``mix64`` on a Python int in [0, 2**64) (the same bits, without numpy's overhead)."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _mix_inplace(x: np.ndarray) -> np.ndarray:
    """``mix64`` of a 1-d (or larger) uint64 array, in place (arrays wrap silently)."""
    t = x >> _S30
    x ^= t
    x *= _M1
    np.right_shift(x, _S27, out=t)
    x ^= t
    x *= _M2
    np.right_shift(x, _S31, out=t)
    x ^= t
    return x


def _fold_int(h: int, v: int) -> int:
    """One step of ``hash_key`` on Python ints: fold key ``v`` into hash ``h``."""
    return _mix64_int(h ^ ((v + _GOLDEN_INT + (h << 6) + (h >> 2)) & _MASK))


def _as_key(p: np.ndarray | int) -> np.ndarray:
    """Key array as uint64 (a fresh array: two's complement of the int64 value)."""
    a = np.asarray(p)
    if a.dtype.kind in "iub":
        return a.astype(np.uint64)  # same bits as via int64 (integer casts wrap)
    return a.astype(np.int64).astype(np.uint64)


def _scalar_key(p: object) -> int | None:
    """``p`` as a key in [0, 2**64) when it is a scalar (int64 two's complement), else None."""
    if type(p) is int and -(1 << 63) <= p < (1 << 63):
        return p & _MASK
    if isinstance(p, np.ndarray) and p.ndim:
        return None
    if np.ndim(p):
        return None
    return int(np.int64(p)) & _MASK  # type: ignore[call-overload]


def _fold_array(h: int | np.ndarray, v: np.ndarray | int) -> np.ndarray:
    """One step of ``hash_key``: fold key ``v`` into hash ``h``, at least one of them an
    array (uint64 arrays, owned by the caller: one of them is modified in place)."""
    if isinstance(h, int):  # scalar hash, key array
        v += np.uint64((_GOLDEN_INT + (h << 6) + (h >> 2)) & _MASK)
        v ^= np.uint64(h)
        return _mix_inplace(v)
    x = h << _S6
    x += h >> _S2
    if isinstance(v, int):  # hash array, scalar key
        x += np.uint64((v + _GOLDEN_INT) & _MASK)
    else:
        x = x + v  # broadcasts
        x += _GOLDEN
    x ^= h
    return _mix_inplace(x)


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
    h: int | np.ndarray = _H0
    k = 0
    for p in parts:  # leading scalar keys: Python ints
        v = _scalar_key(p)
        if v is None:
            break
        h = _fold_int(h, v)
        k += 1
    else:
        return np.asarray(np.uint64(h))
    keys = [_as_key(p) if (v := _scalar_key(p)) is None else v for p in parts[k:]]
    arrays = [a for a in keys if not isinstance(a, int)]
    n = arrays[0].shape
    if len(n) == 1 and n[0] <= _SMALL and all(a.shape == n for a in arrays):
        # A few cases (the usual day): Python ints beat numpy's per-call overhead.
        cols = [[a] * n[0] if isinstance(a, int) else a.tolist() for a in keys]
        out = []
        for row in zip(*cols, strict=True):
            x = h
            for v in row:  # _fold_int, inlined
                x ^= (v + _GOLDEN_INT + (x << 6) + (x >> 2)) & _MASK
                x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
                x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
                x ^= x >> 31
            out.append(x)
        return np.array(out, dtype=np.uint64)
    for key in keys:
        h = _fold_array(h, key)
    return h  # type: ignore[return-value]


#: Process keys covered by the per-day tables of ``keyed_uniform`` (others hash directly).
_N_TABLE = 16
_N_PURPOSE = 16
#: Per (seed, day): hashes of (seed, process, day, purpose) as (purpose, process) arrays ``h``
#: and the addends ``golden + (h << 6) + (h >> 2)`` with which ``hash_key`` folds in ``uid``.
_TABLES: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
_MAX_TABLES = 4096


@functools.lru_cache(maxsize=64)
def _seed_table(seed: int) -> np.ndarray:
    """``hash_key(seed, p)`` for processes ``p`` in ``[0, _N_TABLE)``."""
    return hash_key(seed, np.arange(_N_TABLE))


def prepare_days(seed: int, days: np.ndarray) -> None:
    """Compute the key tables of ``keyed_uniform`` for ``seed`` on ``days`` at once (a run
    calls this for its days: one vectorised pass instead of one small pass per day).

    Examples
    --------
    >>> prepare_days(0, np.array([19_000, 19_001]))
    >>> bool(keyed_uniform(0, HEATING, 19_001, np.arange(3), REPORT)[0]
    ...      == (hash_key(0, HEATING, 19_001, REPORT, 0) >> 11) * 2.0**-53)
    True
    """
    seed = int(seed)
    days = np.unique(np.asarray(days, dtype=np.int64))
    if len(_TABLES) + len(days) > _MAX_TABLES:
        _TABLES.clear()
    h = _fold_array(_seed_table(seed)[None, :], _as_key(days)[:, None])  # (day, process)
    h = _fold_array(h[:, None, :], np.arange(_N_PURPOSE, dtype=np.uint64)[None, :, None])
    c = h << _S6
    c += h >> _S2
    c += _GOLDEN
    for i, d in enumerate(days.tolist()):
        _TABLES[(seed, d)] = (h[i], c[i])


def keyed_uniform(
    seed: int, process: int | np.ndarray, day: int, uid: np.ndarray, purpose: int
) -> np.ndarray:
    """Uniforms in [0, 1), one per ``uid``, depending only on (seed, process, day, uid, purpose).

    Equal to ``(hash_key(seed, process, day, purpose, uid) >> 11) * 2**-53``; the hash of the
    leading keys comes from a per-day table, so only ``uid`` is folded here.

    Examples
    --------
    >>> keyed_uniform(0, HEATING, 1, np.arange(4), REPORT).shape
    (4,)
    """
    uid = np.asarray(uid)
    if uid.ndim == 1 and 0 <= purpose < _N_PURPOSE:
        tab = _TABLES.get((seed, day))
        if tab is None:
            prepare_days(seed, np.array([day]))
            tab = _TABLES[(int(seed), int(day))]
        h_row, c_row = tab[0][purpose], tab[1][purpose]
        h_sel = c_sel = None
        if not isinstance(process, np.ndarray) and np.ndim(process) == 0:
            p = int(process)
            if 0 <= p < _N_TABLE:
                h_sel, c_sel = h_row[p], c_row[p]
        else:
            proc = np.asarray(process)
            if proc.shape == uid.shape and proc.dtype.kind in "iu":
                if proc.dtype.itemsize == 1:
                    idx = proc.view(np.uint8)  # negative int8 keys index out of range
                elif proc.size == 0 or (proc.min() >= 0 and proc.max() < _N_TABLE):
                    idx = proc
                else:
                    idx = None
                if idx is not None:
                    try:
                        h_sel, c_sel = h_row[idx], c_row[idx]
                    except IndexError:  # a process key beyond the table
                        pass
        if h_sel is not None:
            key = uid if uid.dtype == np.uint64 else _as_key(uid)
            if len(key) <= _SMALL:  # Python ints: the same bits, less overhead
                us = key.tolist()
                hs, cs = h_sel.tolist(), c_sel.tolist()
                if not isinstance(hs, list):  # one process for all
                    hs, cs = [hs] * len(us), [cs] * len(us)
                out = []
                for h, c, u in zip(hs, cs, us, strict=True):  # fold uid, mix64, inlined
                    x = h ^ ((u + c) & _MASK)
                    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
                    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
                    out.append(((x ^ (x >> 31)) >> 11) * _TO_UNIT)
                return np.array(out, dtype=np.float64)
            x = key + c_sel
            x ^= h_sel
            _mix_inplace(x)
            x >>= _S11
            u = x.astype(np.float64)
            u *= _TO_UNIT
            return u
    return (hash_key(seed, process, day, purpose, uid) >> _S11).astype(np.float64) * _TO_UNIT
