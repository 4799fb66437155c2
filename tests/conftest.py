"""Shared pytest helpers: where the real shared data lives.

Fixtures
--------
``shared_data_dir``
    The shared real-data folder (``$PREDGOV_SHARED_DATA`` or ``../shared/data`` beside the repo);
    the test is skipped when it cannot be found.
``brooklyn_noise_path``
    Path of the real Brooklyn residential-noise 311 file (86,040 rows, 2023); skipped when absent.

``shared_file(relative)`` is the same lookup as a plain function for other fixtures.
"""

from __future__ import annotations

from pathlib import Path

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
