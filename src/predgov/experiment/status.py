"""A run's completion record: ``status.json`` and a ``COMPLETE`` / ``FAILED`` marker.

``status.json`` is written when the run starts (``"status": "running"``, the process id), updated
as each stage ends, and finally set to

* ``"complete"``: duration, seconds per stage, every output file (relative paths) and the
  number of warnings (``warnings.txt``); a ``COMPLETE`` marker file appears beside it;
* ``"failed"``: the error class, the stage it happened in and, for predgov's own errors (which
  name a key, file or row but never a personal value), their one-line message; ``FAILED``
  marker;
* ``"interrupted"``: stopped by Ctrl-C (SIGINT) or SIGTERM; ``FAILED`` marker.

A directory whose status is ``running`` but whose process is gone was killed hard (SIGKILL,
power loss) and counts as failed.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"
COMPLETE_MARKER = "COMPLETE"
FAILED_MARKER = "FAILED"

#: What Hydra itself writes into a job's directory before predgov runs (besides ``*.log``).
HYDRA_OWN = (".hydra",)

#: Run-directory states of :func:`run_state`.
STATES = ("new", "running", "complete", "failed", "interrupted", "unknown")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    """The run directory's ``status.json`` as a dict, or None when absent or unreadable."""
    path = Path(run_dir) / STATUS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def run_state(run_dir: str | Path) -> str:
    """State of a run directory (one of :data:`STATES`).

    ``new``: absent, empty, or holding only Hydra's ``.hydra/`` and logs; ``running``: a
    live process writes into it; ``complete``, ``failed``, ``interrupted``: as its status says
    (``running`` with a dead process counts as ``failed``); ``unknown``: other files but no
    ``status.json`` (not a run directory of this predgov, or an older one).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> run_state(d / "nothing"), run_state(d)
    ('new', 'new')
    >>> _ = (d / STATUS_FILE).write_text('{"status": "running", "pid": -1}')
    >>> run_state(d)
    'failed'
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or all(p.name in HYDRA_OWN or p.suffix == ".log"
                                   for p in run_dir.iterdir()):  # fmt: skip
        return "new"
    record = read_status(run_dir)
    if record is None:
        return "unknown"
    status = record.get("status")
    if status == "running":
        alive = _alive(record.get("pid")) and record.get("pid") != os.getpid()
        return "running" if alive else "failed"
    return status if status in STATES else "unknown"


def error_summary(err: BaseException) -> dict[str, Any]:
    """Error class and, for predgov's own errors, their first line (no personal values: those
    messages name keys, files and rows; other exceptions may quote data, so only their class
    is kept).

    Examples
    --------
    >>> from predgov.experiment.config import ConfigError
    >>> error_summary(ConfigError("unknown config key 'data.sed'"))
    {'error': 'ConfigError', 'message': "unknown config key 'data.sed'"}
    >>> error_summary(ValueError("could not convert '张三' to float"))
    {'error': 'ValueError', 'message': None}
    """
    from predgov.data.report import IngestError
    from predgov.experiment.config import ConfigError

    own = isinstance(err, ConfigError | IngestError | FileNotFoundError)
    lines = str(err).strip().splitlines()
    return {"error": type(err).__name__, "message": lines[0] if own and lines else None}


class RunStatus:
    """Writes ``status.json`` and the marker of one run (see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> status = RunStatus(d)
    >>> status.start()
    >>> status.stage_done("data", 1.23)
    >>> _ = (d / "cube.nc").write_bytes(b"")
    >>> status.complete({"cube": d / "cube.nc"}, warnings=[])
    >>> rec = read_status(d)
    >>> rec["status"], rec["outputs"], rec["stages"], (d / COMPLETE_MARKER).is_file()
    ('complete', ['cube.nc', 'status.json'], {'data': 1.2}, True)
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / STATUS_FILE
        self.record: dict[str, Any] = {}
        self._t0 = time.monotonic()

    def _write(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.record, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")  # fmt: skip
        os.replace(tmp, self.path)

    def _marker(self, name: str | None) -> None:
        for marker in (COMPLETE_MARKER, FAILED_MARKER):
            (self.run_dir / marker).unlink(missing_ok=True)
        if name is not None:
            text = f"predgov run {name.lower()}; details in {STATUS_FILE}\n"
            (self.run_dir / name).write_text(text, encoding="utf-8")

    def start(self) -> None:
        """Mark the run as running (removes a previous attempt's marker)."""
        from predgov import __version__

        self._t0 = time.monotonic()
        self.record = {
            "status": "running",
            "stage": None,
            "started_at": _now(),
            "pid": os.getpid(),
            "predgov_version": __version__,
            "stages": {},
        }
        self._marker(None)
        self._write()

    def stage_started(self, name: str) -> None:
        """Record the stage now running."""
        self.record["stage"] = name
        self._write()

    def stage_done(self, name: str, seconds: float) -> None:
        """Record a finished stage and its duration."""
        self.record.setdefault("stages", {})[name] = round(seconds, 1)
        self.record["stage"] = None
        self._write()

    def _finish(self, status: str, warnings: list[str]) -> None:
        self.record.update(
            status=status,
            finished_at=_now(),
            duration_s=round(time.monotonic() - self._t0, 1),
            warnings=len(warnings),
        )
        self.record.pop("pid", None)

    def complete(self, outputs: dict[str, Path], warnings: list[str]) -> None:
        """Mark the run complete, listing its outputs relative to the run directory."""
        self._finish("complete", warnings)
        self.record.pop("stage", None)
        files = {str(Path(p).resolve().relative_to(self.run_dir.resolve()))
                 for p in outputs.values()}  # fmt: skip
        self.record["outputs"] = sorted(files | {STATUS_FILE})
        self._write()
        self._marker(COMPLETE_MARKER)

    def fail(self, err: BaseException, warnings: list[str]) -> None:
        """Mark the run failed (or interrupted, for KeyboardInterrupt / SIGTERM)."""
        interrupted = isinstance(err, KeyboardInterrupt)
        self._finish("interrupted" if interrupted else "failed", warnings)
        self.record.update(error_summary(err))
        if interrupted:
            signum = getattr(err, "signum", signal.SIGINT)
            self.record["signal"] = signal.Signals(signum).name
        self._write()
        self._marker(FAILED_MARKER)
