"""Where predgov finds its configuration tables and the shared development data.

The configuration tree (``conf/``) lives at the repository root, beside ``src/``; the package is
installed in editable mode by ``make``, so it is found relative to this file. The shared data
folder (``../shared/data`` beside the clone) is read in place and never copied into the repo.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at a folder holding the shared real data sets.
SHARED_DATA_ENV = "PREDGOV_SHARED_DATA"

_REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_root() -> Path:
    """Root of the source tree (the folder holding ``conf/`` and ``src/``)."""
    return _REPO_ROOT


def conf_dir() -> Path:
    """The ``conf/`` folder of the source tree.

    Examples
    --------
    >>> (conf_dir() / "config.yaml").is_file()
    True
    """
    path = _REPO_ROOT / "conf"
    if not path.is_dir():
        raise FileNotFoundError(
            f"predgov's configuration folder {path} is missing; install predgov from a source "
            "checkout with `pip install -e .` (the Makefile does this)"
        )
    return path


def experiments_dir() -> Path:
    """The ``experiments/`` folder of the source tree: Hydra's search path entry for the
    ``experiment`` config group (``predgov +experiment=NAME`` reads
    ``experiments/experiment/NAME.yaml``; added by the ``hydra_plugins.predgov_experiments``
    search-path plugin).

    Examples
    --------
    >>> (experiments_dir() / "experiment").is_dir()
    True
    """
    return _REPO_ROOT / "experiments"


def shared_data_dir() -> Path | None:
    """The shared real-data folder, or None when it cannot be found.

    Looks at ``$PREDGOV_SHARED_DATA`` first, then ``shared/data`` beside the repository
    (``<repo>/../shared/data``), the layout of the development machines and CI.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    path = _REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def shared_data_file(relative: str) -> Path:
    """Path of one file of the shared data folder; a clear error when it is absent.

    Parameters
    ----------
    relative
        Path inside the shared data folder, e.g.
        ``"nyc311_brooklyn_noise_2023/nyc311_noise_brooklyn_2023_with_weather_canonical.csv"``.
    """
    root = shared_data_dir()
    if root is None:
        raise FileNotFoundError(
            "the shared data folder was not found: set $PREDGOV_SHARED_DATA to the folder that "
            f"holds {relative!r}, or place the repository beside shared/data"
        )
    path = root / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (looked for {relative!r} in {root})")
    return path


#: The real Brooklyn residential-noise file (86,040 NYC 311 requests in 2023).
BROOKLYN_NOISE = (
    "nyc311_brooklyn_noise_2023/nyc311_noise_brooklyn_2023_with_weather_canonical.csv"
)

#: The real Chicago 311 sanitation-code requests 2011–2014 (74,026 rows, gzip CSV) and the daily
#: ward × category count panel made from them.
CHICAGO_SANITATION = "chicago_sanitation_311/requests.csv.gz"
CHICAGO_SANITATION_DAILY = "chicago_sanitation_311/daily_counts_ward_category.csv.gz"

#: The real Boston 311 heat cases 2011-07..2018-01 (7,644 rows, gzip CSV) and the daily council
#: district × type count panel made from them.
BOSTON_HEAT = "boston_heat_311/requests.csv.gz"
BOSTON_HEAT_DAILY = "boston_heat_311/daily_counts_council_district_type.csv.gz"
