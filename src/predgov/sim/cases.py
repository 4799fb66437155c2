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
"""

from __future__ import annotations

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


class Cases:
    """Table of open cases.

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
        for name, dtype in FIELDS.items():
            setattr(self, name, np.zeros(0, dtype=dtype))

    def __len__(self) -> int:
        return len(self.uid)

    def add(self, *new: dict[str, np.ndarray]) -> None:
        """Append new cases (dicts from :func:`new_cases`, in order)."""
        parts = [x for x in new if len(x["uid"])]
        if not parts:
            return
        for name in FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name)] + [x[name] for x in parts]))

    def compact(self) -> None:
        """Drop closed cases."""
        keep = self.status != CLOSED
        if keep.all():
            return
        for name in FIELDS:
            setattr(self, name, getattr(self, name)[keep])


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
) -> dict[str, np.ndarray]:
    """Columns of ``len(uid)`` new latent cases, broadcasting scalars.

    Examples
    --------
    >>> new = new_cases(uid=np.zeros(2, np.uint64), process=2, category=1, district=0,
    ...                 hh=np.array([1, 2]), onset=5, patience=np.ones(2), propensity=np.ones(2))
    >>> new["status"].tolist(), new["n_calls"].tolist()
    ([0, 0], [0, 0])
    """
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
