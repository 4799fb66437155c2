"""Helpers shared by the make_notebook_NN.py scripts (run them as ``python tools/NAME.py``).

``write_notebook`` writes into ``notebooks/`` (or ``$PREDGOV_NOTEBOOK_DIR``, which
``tools/run_notebooks.py --check`` uses to build a fresh copy elsewhere) with cell ids numbered
in order, so regenerating a notebook gives the same file.
"""

import os
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def md(text: str):
    """A markdown cell from an indented triple-quoted string."""
    return new_markdown_cell(dedent(text).strip())


def code(text: str):
    """A code cell from an indented triple-quoted string."""
    return new_code_cell(dedent(text).strip())


def output_dir() -> Path:
    """Where notebooks are written: ``$PREDGOV_NOTEBOOK_DIR`` if set, else ``notebooks/``."""
    return Path(os.environ.get("PREDGOV_NOTEBOOK_DIR") or ROOT / "notebooks")


def write_notebook(cells: list, name: str) -> Path:
    """Write ``<output_dir()>/<name>`` with a Python 3 kernel spec; returns its path."""
    for i, cell in enumerate(cells):  # stable ids (nbformat draws random ones)
        cell["id"] = f"cell-{i:03d}"
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    out = output_dir() / name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    print("wrote", out)
    return out
