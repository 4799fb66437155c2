"""``predgov-city``: start the interactive city (``predgov.viz.city.app``) in a browser.

Examples
--------
>>> solara_argv(port=8800, host="127.0.0.1", open_browser=False)[1:4]
['run', 'predgov.viz.city.app', '--port']
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

#: What to install when the ``viz`` extra is missing.
INSTALL_HINT = ('the interactive city needs the viz extra: pip install -e ".[viz]" '
                "(or make city)")  # fmt: skip


def missing_viz_packages() -> list[str]:
    """Packages of the ``viz`` extra that are not installed (empty when the app can run).

    Examples
    --------
    >>> isinstance(missing_viz_packages(), list)
    True
    """
    return [m for m in ("solara", "networkx", "altair")
            if importlib.util.find_spec(m) is None]  # fmt: skip


def solara_argv(port: int = 8765, host: str = "localhost", open_browser: bool = True,
                ) -> list[str]:  # fmt: skip
    """The ``solara run`` command line of the app (production mode: no auto-reload)."""
    return ["solara", "run", "predgov.viz.city.app", "--port", str(port), "--host", host,
            "--production", "--open" if open_browser else "--no-open"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse ``--port``, ``--host``, ``--no-open`` and serve the app until interrupted."""
    parser = argparse.ArgumentParser(
        prog="predgov-city",
        description="The interactive simulated city: pre-season pipe flushing targeted by a "
                    "policy, against the reactive city of the same seed (Mesa SolaraViz).")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    parser.add_argument("--host", default="localhost", help="interface (default localhost)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    parser.add_argument("--start-at", metavar="DATE", help="open on this day, the days before "
                        "it simulated (e.g. 2026-01-15; default 2025-08-25, before the flushing)")
    args = parser.parse_args(argv)
    missing = missing_viz_packages()
    if missing:
        print(f"predgov-city: error: {', '.join(missing)} not installed; {INSTALL_HINT}",
              file=sys.stderr)  # fmt: skip
        return 2
    from solara.__main__ import main as solara_main

    if args.start_at:
        os.environ["PREDGOV_CITY_START_AT"] = args.start_at
    # no usage data leaves the machine unless the user asks for it
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    sys.argv = solara_argv(args.port, args.host, not args.no_open)
    print(f"predgov-city: serving on http://{args.host}:{args.port} (Ctrl-C stops it)")
    solara_main()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
