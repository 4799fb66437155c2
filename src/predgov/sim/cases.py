"""Open problems ("cases") of every process, as a small struct-of-arrays table.

Only problems that exist are stored: a few tens of thousands at city scale, against millions of
households. A case is created by a process's ``occur`` step, moves through the reporting and
handling steps, and is dropped once closed.

Status of a case
    ``LATENT`` the problem exists, nobody has called; ``QUEUED`` a ticket waits in the
    department's queue; ``SERVICE`` a crew is on it (done on day ``due``); ``OPEN`` a visit did
    not fix it, the household may call again; ``GAVE_UP`` reported before, the household stopped
    calling (the problem persists, unseen); ``CLOSED`` finished (dropped at the end of the day).
``active`` says whether the problem is still there (a problem can end by itself while its
ticket waits; the visit then finds it gone and closes the ticket as resolved).
``uid`` is a hash of the case's stable identity (household or source and onset day), so its
keyed draws (``streams.keyed_uniform``) do not depend on which other cases exist.

Storage: one structured array (aligned fields), the columns being views of its fields; ``add``
and ``compact`` copy whole rows as raw bytes (a few calls a day instead of one per column).
"""

from __future__ import annotations

from typing import Any

import numpy as np

LATENT, QUEUED, SERVICE, OPEN, GAVE_UP, CLOSED = range(6)

#: Columns and dtypes of the table.
FIELDS: dict[str, type] = {
    "uid": np.uint64,
    "process": np.int8,
    "category": np.int16,
    "district": np.int16,
    "hh": np.int64,  # household index, -1 for a visitor (tourist)
    "src": np.int64,  # process-specific source: neighbour pair, merchant, noise estate; or -1
    "onset": np.int64,  # absolute day the problem arose
    "active": np.bool_,
    "status": np.int8,
    "enqueued": np.int64,  # day the current ticket entered the queue
    "due": np.int64,  # day the current service ends
    "last_contact": np.int64,  # day of the last call or visit
    "n_calls": np.int32,
    "patience": np.float32,
    "propensity": np.float32,  # reporting-rate multiplier fixed at onset (household x experience)
}


#: Columns a new case gets unless given (``new_cases`` and ``Cases.add``).
DEFAULTS: dict[str, int | bool] = {
    "src": -1, "active": True, "status": LATENT, "enqueued": -1, "due": -1, "last_contact": -1,
    "n_calls": 0,
}  # fmt: skip
# Row layout of the table: aligned fields (fast column views); rows are copied as raw bytes.
_DTYPE = np.dtype([(name, dtype) for name, dtype in FIELDS.items()], align=True)
_RAW = np.dtype((np.void, _DTYPE.itemsize))


class Cases:
    """Table of open cases.

    The rows live in one structured array; each column (``uid``, ``status``, ...) is an
    attribute holding a view of its field, so in-place updates (``c.status[i] = ...``) write
    the table. ``add`` and ``compact`` rebuild the table (one copy) and refresh the views.

    Examples
    --------
    >>> c = Cases()
    >>> c.add(new_cases(uid=np.array([7], np.uint64), process=1, category=0, district=0,
    ...                 hh=np.array([3]), onset=100, patience=np.array([2.0]),
    ...                 propensity=np.array([1.0])))
    >>> len(c), int(c.status[0]) == LATENT
    (1, True)
    """

    def __init__(self) -> None:
        self._set(np.zeros(0, dtype=_DTYPE))

    def _set(self, data: np.ndarray) -> None:
        self._data = data
        for name in FIELDS:
            setattr(self, name, data[name])

    def __deepcopy__(self, memo: dict[int, Any]) -> Cases:
        """A copy whose columns are views of the copied table (``copy.deepcopy`` would copy
        the views and the table separately, so column writes would miss the table).

        Examples
        --------
        >>> import copy
        >>> c = Cases()
        >>> c.add({"uid": np.array([7], np.uint64)})
        >>> d = copy.deepcopy(c)
        >>> d.status[0] = 9
        >>> int(d._data["status"][0]), int(c.status[0])
        (9, 0)
        """
        new = Cases.__new__(Cases)
        memo[id(self)] = new
        new._set(self._data.copy())
        return new

    def __len__(self) -> int:
        return len(self._data)

    def add(self, *new: dict[str, Any]) -> None:
        """Append new cases, in order: dicts from :func:`new_cases`, or of columns (arrays or
        scalars, broadcast) with at least ``uid``; missing columns take ``DEFAULTS``."""
        parts = [x for x in new if len(x["uid"])]
        if not parts:
            return
        n = len(self._data)
        sizes = [len(x["uid"]) for x in parts]
        data = np.empty(n + sum(sizes), dtype=_DTYPE)
        data.view(_RAW)[:n] = self._data.view(_RAW)
        block = data[n:]
        for name, value in DEFAULTS.items():
            if not all(name in x for x in parts):
                block[name] = value
        a = 0
        for x, k in zip(parts, sizes, strict=True):
            rows = block[a : a + k]
            for name, value in x.items():
                rows[name] = value
            a += k
        self._set(data)

    def compact(self) -> None:
        """Drop closed cases."""
        keep = self.status != CLOSED
        if keep.all():
            return
        self._set(self._data.view(_RAW)[keep].view(_DTYPE))


def new_cases(
    *,
    uid: np.ndarray,
    process: int,
    category: np.ndarray | int,
    district: np.ndarray | int,
    hh: np.ndarray,
    onset: int,
    patience: np.ndarray,
    propensity: np.ndarray,
    src: np.ndarray | int = -1,
    broadcast: bool = True,
) -> dict[str, Any]:
    """Columns of ``len(uid)`` new latent cases, broadcasting scalars.

    With ``broadcast=False`` only the given columns are returned, as given (scalars stay
    scalars): ``Cases.add`` broadcasts them and fills the rest from ``DEFAULTS`` (the same
    rows, without building arrays first).

    Examples
    --------
    >>> new = new_cases(uid=np.zeros(2, np.uint64), process=2, category=1, district=0,
    ...                 hh=np.array([1, 2]), onset=5, patience=np.ones(2), propensity=np.ones(2))
    >>> new["status"].tolist(), new["n_calls"].tolist()
    ([0, 0], [0, 0])
    """
    if not broadcast:
        return {"uid": uid, "process": process, "category": category, "district": district,
                "hh": hh, "src": src, "onset": onset, "patience": patience,
                "propensity": propensity}  # fmt: skip
    n = len(uid)
    cols = {
        "uid": uid, "process": process, "category": category, "district": district, "hh": hh,
        "src": src, "onset": onset, "active": True, "status": LATENT, "enqueued": -1, "due": -1,
        "last_contact": -1, "n_calls": 0, "patience": patience, "propensity": propensity,
    }  # fmt: skip
    return {
        k: np.full(n, v, dtype=FIELDS[k]) if np.ndim(v) == 0 else np.array(v, dtype=FIELDS[k])
        for k, v in cols.items()
    }
