"""The committed notebooks cannot drift from the code: each is rebuilt from its
``tools/make_notebook_NN.py``, executed top to bottom (``tools/run_notebooks.py --check``) and
compared with the committed file (cell sources, ``text/plain`` results and printed output,
normalised for timings, paths and memory addresses). A failing cell, a drifted output or a
notebook committed without outputs fails the test, naming the notebook and the cell; the fix
is ``.venv/bin/python tools/run_notebooks.py NN``. One execution per notebook, as before.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
run_notebooks = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("run_notebooks", run_notebooks)
_spec.loader.exec_module(run_notebooks)

NUMBERS = run_notebooks.numbers()


def test_there_are_notebooks():
    assert NUMBERS, "notebooks/ holds no .ipynb files and tools/ no make_notebook_NN.py"


def test_every_notebook_has_its_tool():
    """Each committed notebook is built by a tool (else --check has nothing to compare with)."""
    for nn in NUMBERS:
        assert (ROOT / "tools" / f"make_notebook_{nn}.py").exists(), nn


def test_normalise_blanks_only_run_to_run_noise():
    text = "fitted 90 series in 3.2 s (12.5 it/s), 30 seeds, 5 ms; CPU times: user 1 s\n"
    assert run_notebooks.normalise(text) == (
        "fitted 90 series in <time> (<time>), 30 seeds, <time>; <time>\n")
    assert run_notebooks.normalise("Prophet takes 7x the time") == "Prophet takes <ratio>the time"
    table = ("          MASE  cov80  seconds\n"
             "naive    2.547  0.729    0.271\n"
             "prophet  1.253  0.756   16.795\n")  # fmt: skip
    assert run_notebooks.normalise(table) == (
        "          MASE  cov80  seconds\n"
        "naive    2.547  0.729   <time>\n"
        "prophet  1.253  0.756   <time>\n")


def test_compare_names_the_notebook_and_cell():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    def nb(printed: str):
        cell = new_code_cell("print(x)", execution_count=1)
        cell.outputs = [new_output("stream", name="stdout", text=printed)]
        return new_notebook(cells=[new_code_cell("x = 1"), cell])

    assert run_notebooks.compare(nb("averted 10 calls in 2.0 s\n"),
                                 nb("averted 10 calls in 9.1 s\n"), "07_x.ipynb") == []
    [problem] = run_notebooks.compare(nb("averted 10 calls\n"), nb("averted 12 calls\n"),
                                      "07_x.ipynb")
    assert problem.startswith("07_x.ipynb cell 1 (In [1]): outputs drifted (line 1: committed")
    bare = nbformat.v4.new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("print(x)")])
    [problem] = run_notebooks.compare(bare, nb("1\n"), "07_x.ipynb")
    assert "committed without outputs" in problem


@pytest.mark.parametrize("nn", NUMBERS)
def test_notebook_matches_its_committed_outputs(nn: str, request):
    if nn in run_notebooks.NEEDS_SHARED_DATA:
        request.getfixturevalue("brooklyn_noise_path")  # skipped, with the reason, when absent
    problems, fresh = run_notebooks.check(nn)
    assert not problems, "\n".join(problems)
    images = [out for cell in fresh.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]  # fmt: skip
    assert images, f"notebook {nn} drew no figure"
