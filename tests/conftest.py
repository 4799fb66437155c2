"""Shared pytest helpers: where the real shared data lives.

Fixtures
--------
``shared_data_dir``
    The shared real-data folder (``$PREDGOV_SHARED_DATA`` or ``../shared/data`` beside the repo);
    the test is skipped when it cannot be found.
``brooklyn_noise_path``
    Path of the real Brooklyn residential-noise 311 file (86,040 rows, 2023); skipped when absent.

``shared_file(relative)`` is the same lookup as a plain function for other fixtures.
``load_benchmark``
    A function ``name -> module``: the script ``benchmarks/<name>.py`` imported once per session
    (registered in ``sys.modules`` as ``predgov_bench_<name>``), for tests of the benchmarks.
``output_texts``
    A function ``path -> list[str]``: every text a reader of an output file could recover (raw
    bytes as UTF-8, inflated PDF streams, Parquet cells, netCDF attrs and string values), for
    privacy scans of run directories.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from predgov import paths

SKIP_HINT = (
    "set $PREDGOV_SHARED_DATA to the folder holding the shared real data "
    "(nyc311_brooklyn_noise_2023/...), or place the repository beside shared/data"
)


def shared_file(relative: str) -> Path:
    """Path of a file in the shared data folder; skips the calling test when it is absent."""
    try:
        return paths.shared_data_file(relative)
    except FileNotFoundError:
        pytest.skip(f"shared file {relative!r} not found: {SKIP_HINT}")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The shared real-data folder (skip when it cannot be found)."""
    root = paths.shared_data_dir()
    if root is None:
        pytest.skip(f"shared data folder not found: {SKIP_HINT}")
    return root


@pytest.fixture(scope="session")
def brooklyn_noise_path() -> Path:
    """The real Brooklyn 311 residential-noise file (skip when it cannot be found)."""
    try:
        return paths.shared_data_file(paths.BROOKLYN_NOISE)
    except FileNotFoundError:
        pytest.skip(f"shared Brooklyn 311 file not found: {SKIP_HINT}")


def _output_texts(path: Path) -> list[str]:
    """Every text a reader of this output could recover (cells, attrs, raw and inflated bytes)."""
    raw = path.read_bytes()
    texts = [path.name, raw.decode("utf-8", errors="ignore")]
    if path.suffix == ".pdf":
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, flags=re.S):
            try:
                texts.append(zlib.decompress(stream).decode("latin-1"))
            except zlib.error:
                pass
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        texts.append(frame.astype(str).to_csv())
        texts.extend(frame.columns.astype(str))
    if path.suffix == ".nc":
        from predgov.data.cube import read_cube

        ds = read_cube(path)
        texts.append(repr(ds.attrs))
        for var in ds.variables.values():
            texts.append(repr(var.attrs))
            if var.dtype.kind in "OUS":
                texts.extend(map(str, var.values.ravel()))
    return texts


@pytest.fixture(scope="session")
def output_texts() -> Callable[[Path], list[str]]:
    """See the module docstring: texts recoverable from one output file."""
    return _output_texts


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], object]:
    cache: dict[str, object] = {}

    def load(name: str) -> object:
        if name not in cache:
            spec = importlib.util.spec_from_file_location(f"predgov_bench_{name}",
                                                          BENCHMARKS / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up there
            spec.loader.exec_module(module)
            cache[name] = module
        return cache[name]

    return load
