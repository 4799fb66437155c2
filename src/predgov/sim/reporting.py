"""Reporting: who calls the hotline, when, and how often (the same rules for every process).

Each day, for every case still ``active`` (one keyed uniform ``u`` per case, purpose REPORT):

* ``LATENT``: first call when ``u < 1 - exp(-rate[p] * propensity)``; the ticket joins the
  queue (``QUEUED``). ``propensity`` = household propensity x ``1.15 ** experience`` of the
  household in that process domain (fixed when the problem arose; a visitor has 1).
* ``QUEUED`` or ``SERVICE``: a chasing call (催办, a repeat call, no new ticket) when the wait
  since the last contact is at least the household's patience and ``u < chase[p]``.
* ``OPEN`` (a visit failed): a repeat call and a new ticket when the time since the visit is at
  least the patience and ``u < recall[p]``; otherwise the household gives up for good with
  probability ``give_up[p]`` (second keyed uniform, purpose GIVE_UP) and the case becomes
  ``GAVE_UP`` (the problem stays, unseen, until it ends by itself).

So calls >= distinct reported problems always; repeats come from waiting and failed visits.
"""

from __future__ import annotations

import numpy as np

from predgov.sim import streams
from predgov.sim.cases import GAVE_UP, LATENT, OPEN, QUEUED, SERVICE, Cases

#: Statuses holding a ticket (queued or in service), as a lookup by status.
_WAITING = np.zeros(256, bool)
_WAITING[[QUEUED, SERVICE]] = True


def report(
    cases: Cases,
    seed: int,
    day: int,
    rate: np.ndarray,
    chase: np.ndarray,
    recall: np.ndarray,
    give_up: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply one day of reporting to ``cases`` in place.

    Parameters
    ----------
    cases
        The open cases.
    seed, day
        Run seed and absolute day (stream keys).
    rate, chase, recall, give_up
        Per-process parameters indexed by process id (see the module docstring).

    Returns
    -------
    first, repeat
        Boolean masks over cases: a first call today; a repeat call today.

    Examples
    --------
    >>> from predgov.sim.cases import new_cases
    >>> c = Cases()
    >>> c.add(new_cases(uid=np.arange(50, dtype=np.uint64), process=1, category=0,
    ...       district=0, hh=np.arange(50), onset=0, patience=np.ones(50),
    ...       propensity=np.full(50, 100.0)))
    >>> ones = np.ones(8)
    >>> first, repeat = report(c, 0, 0, ones, ones, ones, ones * 0)
    >>> int(first.sum()), int(repeat.sum())
    (50, 0)
    """
    n = len(cases)
    first = np.zeros(n, bool)
    repeat = np.zeros(n, bool)
    if n == 0:
        return first, repeat
    live = cases.active & (cases.status != GAVE_UP)
    if not live.any():
        return first, repeat
    idx = live.nonzero()[0]
    p = cases.process[idx]
    status = cases.status[idx]
    u = streams.keyed_uniform(seed, p, day, cases.uid[idx], streams.REPORT)
    waited = (day - cases.last_contact[idx]) >= cases.patience[idx]

    is_latent = status == LATENT
    f = is_latent & (u < -np.expm1(-rate[p] * cases.propensity[idx]))
    waiting = _WAITING[status]
    chased = waiting & waited & (u < chase[p])
    is_open = status == OPEN
    recalled = is_open & waited & (u < recall[p])
    stays = is_open & ~recalled
    if stays.any():
        j = idx[stays]
        g = streams.keyed_uniform(seed, p[stays], day, cases.uid[j], streams.GIVE_UP)
        cases.status[j[g < give_up[p[stays]]]] = GAVE_UP

    newq = idx[f | recalled]
    cases.status[newq] = QUEUED
    cases.enqueued[newq] = day
    called = idx[f | chased | recalled]
    cases.last_contact[called] = day
    cases.n_calls[called] += 1
    first[idx[f]] = True
    repeat[idx[chased | recalled]] = True
    return first, repeat
