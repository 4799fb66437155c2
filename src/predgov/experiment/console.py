"""What a run shows on the console and records as warnings.

* :class:`ConsoleFormatter`: stage lines as they are, warnings and errors prefixed with their
  level (the file log, ``app.log``, keeps Hydra's time-stamped format);
* :func:`quiet_requested` / :func:`configure_console`: warnings and errors only on the console
  when ``CI`` or ``PREDGOV_QUIET`` is set; Mesa's per-step log lines are always silenced;
* :class:`RunWarnings`: Python warnings and logged warnings raised during a run, shown once on
  the console and written to ``warnings.txt`` in the run directory.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

#: Loggers whose INFO lines flood the console (Mesa logs every model step).
NOISY_LOGGERS = ("MESA",)

#: Environment variables that ask for a quiet console (warnings and errors only).
QUIET_ENV = ("PREDGOV_QUIET", "CI")

#: Name of the run's warnings file.
WARNINGS_FILE = "warnings.txt"


class ConsoleFormatter(logging.Formatter):
    """INFO lines as they are; warnings and errors as ``WARNING: message``.

    Examples
    --------
    >>> rec = logging.LogRecord("predgov", logging.WARNING, "", 0, "2027 unknown", None, None)
    >>> ConsoleFormatter().format(rec)
    'WARNING: 2027 unknown'
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname}: {message}"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message


def _truthy(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("0", "false", "no", "off", "")


def quiet_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the console should show warnings and errors only (``CI`` or ``PREDGOV_QUIET``).

    Examples
    --------
    >>> quiet_requested({"CI": "true"}), quiet_requested({"PREDGOV_QUIET": "0"})
    (True, False)
    """
    environ = os.environ if environ is None else environ
    return any(_truthy(environ.get(name)) for name in QUIET_ENV)


def configure_console(quiet: bool) -> None:
    """Silence noisy libraries and, when ``quiet``, the console's INFO lines (the file log
    keeps them)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if not quiet:
        return
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(logging.WARNING)


class _Recorder(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        self.sink.append(" ".join(line.split()))


class RunWarnings:
    """Collect a run's warnings: Python warnings (logged through ``py.warnings``, once per
    distinct text, so they reach the console and ``app.log`` like any other line) and every
    log record at WARNING or above.

    Examples
    --------
    >>> with RunWarnings() as recorded:
    ...     warnings.warn("make-up workdays for 2027 unknown")
    ...     logging.getLogger("predgov.data").warning("3 rows outside the study period")
    >>> recorded.messages  # doctest: +NORMALIZE_WHITESPACE
    ['WARNING py.warnings: UserWarning: make-up workdays for 2027 unknown',
     'WARNING predgov.data: 3 rows outside the study period']
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._handler = _Recorder(self._lines)
        self._shown: set[str] = set()
        self._catch: Any = None

    @property
    def messages(self) -> list[str]:
        """Distinct warning lines in the order they were first raised."""
        return list(dict.fromkeys(self._lines))

    def _show(self, message: Any, category: type[Warning], filename: str, lineno: int,
              file: Any = None, line: str | None = None) -> None:  # fmt: skip
        text = f"{category.__name__}: {message}"
        if text not in self._shown:  # the same warning from another call site: once
            self._shown.add(text)
            logging.getLogger("py.warnings").warning("%s", text)

    def __enter__(self) -> RunWarnings:
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()  # restores the filters and showwarning on exit
        warnings.showwarning = self._show
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        logging.getLogger().removeHandler(self._handler)
        self._catch.__exit__(exc_type, exc, tb)

    def write(self, path: str | Path) -> Path:
        """Write the distinct warning lines (one a line; empty file when there were none)."""
        path = Path(path)
        text = "".join(f"{line}\n" for line in self.messages)
        path.write_text(text, encoding="utf-8")
        return path
