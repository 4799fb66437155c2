"""Regenerate and execute the notebooks, committing their outputs; or check they have not drifted.

Each notebook ``notebooks/NN_*.ipynb`` is written by ``tools/make_notebook_NN.py`` (its cells
live there as code). This script

* (default) runs the tool, executes the fresh notebook top to bottom (nbclient, the
  ``python3`` kernel of this environment, working directory ``notebooks/``, matplotlib's
  inline backend, ``PYTHONHASHSEED=0``; the notebooks seed their own random draws) and writes
  it back *with* its outputs, volatile metadata stripped (execution timestamps, kernel and
  Python versions, widget state), memory addresses (``at 0x7f...``) blanked and the
  repository's absolute path cut from printed paths, so the same code gives the same file;
* (``--check``) builds the notebook from its tool into a temporary folder, executes it there
  and compares it with the committed one: the cells' sources, then every code cell's
  ``text/plain`` results and ``stdout`` stream, after normalising what changes from run to
  run (timings such as ``3.2 s``, ``12 it/s`` or ``7x the time``, the values of table columns
  named ``seconds``, absolute paths, memory addresses). It fails
  naming the notebook, the cell and the first line that drifted. ``stderr`` (warnings,
  progress bars) and images are not compared.

Usage::

    .venv/bin/python tools/run_notebooks.py            # every notebook: regenerate + execute
    .venv/bin/python tools/run_notebooks.py 01 04      # some of them
    .venv/bin/python tools/run_notebooks.py --check    # what tests/test_notebooks.py does

Notebooks 01-03 read the real data in ``../shared/data`` (or ``$PREDGOV_SHARED_DATA``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TOOLS = ROOT / "tools"
#: Notebooks (by number) that read the real shared data.
NEEDS_SHARED_DATA = {"01", "02", "03"}
#: Environment of the kernel: inline figures as in Jupyter, fixed hash seed.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0"}

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMING = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:ms|µs|us|ns|s|sec|secs|seconds?|min|minutes?|it/s|s/it)\b")
_WALL = re.compile(r"(?:Wall time|CPU times):[^\n]*")
_SPEED_RATIO = re.compile(r"\d+(?:\.\d+)?\s*[x×] (?=the time|faster|slower|as fast|as long)")
#: Table columns that hold timings (pandas text tables): their values are not compared.
_TIME_COLUMN = re.compile(r"(?:seconds|secs?|time_s|wall_s|runtime|\w+_seconds)")


def numbers() -> list[str]:
    """Numbers (``"01"``...) of the notebooks and of their make_notebook tools."""
    found = {p.name[:2] for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    found |= {p.stem[-2:] for p in TOOLS.glob("make_notebook_[0-9][0-9].py")}
    return sorted(found)


def committed_path(nn: str) -> Path | None:
    """The committed ``notebooks/NN_*.ipynb`` (None when there is none yet)."""
    hits = sorted(NOTEBOOKS.glob(f"{nn}_*.ipynb"))
    return hits[0] if hits else None


def generate(nn: str, out_dir: Path) -> Path:
    """Write notebook ``nn`` (no outputs) into ``out_dir`` with its make_notebook tool."""
    tool = TOOLS / f"make_notebook_{nn}.py"
    if not tool.exists():
        raise FileNotFoundError(f"no {tool.relative_to(ROOT)} to build notebook {nn} from")
    env = {**os.environ, "PREDGOV_NOTEBOOK_DIR": str(out_dir)}
    subprocess.run([sys.executable, str(tool)], check=True, env=env, cwd=TOOLS,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    hits = sorted(out_dir.glob(f"{nn}_*.ipynb"))
    if len(hits) != 1:
        raise RuntimeError(f"{tool.name} wrote {len(hits)} notebooks numbered {nn} in {out_dir}")
    return hits[0]


def execute(path: Path, timeout: int = 900) -> nbformat.NotebookNode:
    """Execute ``path`` top to bottom in ``notebooks/`` (a failing cell raises, naming it)."""
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # fmt: skip
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what changes from run to run without the code changing (in place)."""
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if "text" in out:  # warnings name files: paths relative to the repository
                out["text"] = _ADDRESS.sub(" at 0x...", out["text"]).replace(f"{ROOT}/", "")
            data = out.get("data", {})
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = _ADDRESS.sub(" at 0x...", data["text/plain"])
    return nb


def _blank_time_columns(text: str) -> str:
    """Blank the values of timing columns (``seconds``...) of a pandas text table: the header
    line names them and values are right-aligned under the header's last character."""
    lines = text.splitlines()
    h = next((i for i, line in enumerate(lines[:3])
              if any(_TIME_COLUMN.fullmatch(w) for w in line.split())), None)  # fmt: skip
    if h is None:
        return text
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", lines[h])]
    cols = [k for k, t in enumerate(tokens) if _TIME_COLUMN.fullmatch(t[2])]
    for k in cols:
        left = tokens[k - 1][1] if k > 0 else 0
        end = tokens[k][1]
        for i in range(h + 1, len(lines)):
            row = lines[i]
            if len(row) > left:
                lines[i] = row[:left] + " <time>".rjust(end - left) + row[end:]
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def normalise(text: str) -> str:
    """Text of an output with run-to-run noise replaced (timings, paths, addresses).

    >>> normalise("fitted 90 series in 3.2 s at 0x7f3a2b1c4d50 from /work/main/notebooks/x")
    'fitted 90 series in <time> at 0x... from <root>/notebooks/x'
    """
    text = _ANSI.sub("", text)
    text = _blank_time_columns(text)
    text = _SPEED_RATIO.sub("<ratio>", text)
    text = _WALL.sub("<time>", text)
    text = text.replace(str(ROOT), "<root>").replace(tempfile.gettempdir(), "<tmp>")
    text = _ADDRESS.sub(" at 0x...", text)
    return _TIMING.sub("<time>", text)


def compared_outputs(cell: nbformat.NotebookNode) -> list[str]:
    """The outputs of a code cell that ``--check`` compares, normalised, one string each."""
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(normalise(out.get("text", "")))
        elif kind in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            parts.append(normalise(out["data"]["text/plain"]))
        elif kind == "error":
            parts.append(f"error: {out.get('ename')}: {out.get('evalue')}")
    # consecutive stdout chunks are split by timing: compare their concatenation
    return ["".join(parts)] if parts else []


def _first_difference(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {i + 1}: committed {x!r}, fresh {y!r}"
    return f"committed has {len(la)} lines, fresh {len(lb)}"


def compare(committed: nbformat.NotebookNode, fresh: nbformat.NotebookNode,
            name: str) -> list[str]:  # fmt: skip
    """Differences between a committed and a freshly executed notebook, one message each."""
    tool = f"tools/make_notebook_{name[:2]}.py"
    if len(committed.cells) != len(fresh.cells):
        return [f"{name}: {len(committed.cells)} cells committed, {tool} makes "
                f"{len(fresh.cells)}: run tools/run_notebooks.py {name[:2]}"]  # fmt: skip
    problems = []
    has_outputs = any(c.get("outputs") for c in committed.cells if c.cell_type == "code")
    if not has_outputs:
        return [f"{name}: committed without outputs: run tools/run_notebooks.py {name[:2]}"]
    for i, (old, new) in enumerate(zip(committed.cells, fresh.cells, strict=True)):
        where = f"{name} cell {i}"
        if old.cell_type != new.cell_type or old.source != new.source:
            problems.append(f"{where}: source differs from {tool} "
                            f"({_first_difference(old.source, new.source)})")  # fmt: skip
            continue
        if new.cell_type != "code":
            continue
        a, b = compared_outputs(old), compared_outputs(new)
        if a != b:
            first = _first_difference(a[0] if a else "", b[0] if b else "")
            problems.append(f"{where} (In [{new.get('execution_count')}]): outputs drifted "
                            f"({first})")  # fmt: skip
    return problems


def check(nn: str, timeout: int = 900) -> tuple[list[str], nbformat.NotebookNode]:
    """Build notebook ``nn`` from its tool in a temporary folder, execute it and compare it
    with the committed file; return the problems (empty: no drift) and the fresh notebook."""
    committed = committed_path(nn)
    with tempfile.TemporaryDirectory(prefix=f"predgov-nb{nn}-") as tmp:
        fresh_path = generate(nn, Path(tmp))
        name = fresh_path.name
        if committed is None:
            return [f"{name}: not committed: run tools/run_notebooks.py {nn}"], nbformat.read(
                fresh_path, as_version=4)  # fmt: skip
        if committed.name != name:
            return [f"{committed.name}: its tool now writes {name}"], nbformat.read(
                fresh_path, as_version=4)  # fmt: skip
        old = nbformat.read(committed, as_version=4)
        if not any(c.get("outputs") for c in old.cells if c.cell_type == "code"):
            # nothing to compare: say so without spending an execution
            return compare(old, nbformat.read(fresh_path, as_version=4), name), old
        fresh = clean(execute(fresh_path, timeout))
    return compare(old, fresh, name), fresh


def regenerate(nn: str, timeout: int = 900) -> Path:
    """Rebuild notebook ``nn`` from its tool, execute it and write it with outputs."""
    with tempfile.TemporaryDirectory(prefix=f"predgov-nb{nn}-") as tmp:
        fresh_path = generate(nn, Path(tmp))
        nb = clean(execute(fresh_path, timeout))
    old = committed_path(nn)
    out = NOTEBOOKS / fresh_path.name
    if old is not None and old != out:
        old.unlink()
    nbformat.write(nb, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="execute into a temporary copy and compare with the committed one")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    have = numbers()
    which = [w.zfill(2) for w in args.which] or have
    unknown = [w for w in which if w not in have]
    if unknown:
        parser.error(f"no notebook numbered {', '.join(unknown)}; have {', '.join(have)}")
    failed = []
    for nn in which:
        t0 = time.perf_counter()
        if args.check:
            problems, _ = check(nn, args.timeout)
            for p in problems:
                print("DRIFT", p)
            failed += problems
            status = "drifted" if problems else "ok"
        else:
            out = regenerate(nn, args.timeout)
            status = f"wrote {out.relative_to(ROOT)}"
        print(f"{nn}: {status} ({time.perf_counter() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
