"""Stopping a run cleanly: SIGTERM (and SIGHUP) as Ctrl-C, and worker pools shut down on exit.

Python ends at SIGTERM without unwinding, so joblib's worker processes (the simulation's seeds
run in parallel) and their resource trackers outlived a killed run. :func:`install_signal_handlers`
turns SIGTERM / SIGHUP into :class:`Terminated`, a ``KeyboardInterrupt``, so joblib aborts its
workers, the run is labelled ``interrupted`` and :func:`shutdown_worker_pools` runs on the way
out.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

#: Signals that stop a run like Ctrl-C does.
STOP_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None
)


class Terminated(KeyboardInterrupt):
    """The run was asked to stop by a signal (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # Later stop signals are ignored while the first one unwinds and the workers shut down.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """Raise :class:`Terminated` on SIGTERM / SIGHUP in the main thread (Ctrl-C already raises
    ``KeyboardInterrupt``); only the main thread can install them."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_terminated)


def exit_code(err: KeyboardInterrupt) -> int:
    """Shell convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM).

    Examples
    --------
    >>> exit_code(KeyboardInterrupt()), exit_code(Terminated(signal.SIGTERM))
    (130, 143)
    """
    return 128 + int(getattr(err, "signum", signal.SIGINT))


def shutdown_worker_pools() -> None:
    """Kill joblib's reusable loky workers and close predgov's Dask clients, if any were
    started (nothing is imported or started here)."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None) if loky is not None else None
    if executor is not None:
        try:
            executor.shutdown(wait=True, kill_workers=True)
        except Exception:  # already broken: its workers are gone
            pass
    parallel = sys.modules.get("predgov.parallel")  # the dask clients of Prophet, blocks, sims
    if parallel is not None:
        parallel.close_dask_clients()
