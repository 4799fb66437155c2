"""Helpers shared by the make_notebook_0N.py scripts (run them as ``python tools/NAME.py``)."""

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


def write_notebook(cells: list, name: str) -> Path:
    """Write ``notebooks/<name>`` with a Python 3 kernel spec; returns its path."""
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    out = ROOT / "notebooks" / name
    nbformat.write(nb, out)
    print("wrote", out)
    return out
