"""Provenance of a run: versions, git commit, seed and input-file hashes (``provenance.json``)."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from predgov.paths import repo_root

#: Libraries whose versions decide a run's numbers.
KEY_LIBRARIES = (
    "numpy", "scipy", "pandas", "xarray", "netCDF4", "pyarrow", "holidays", "hydra-core",
    "omegaconf", "matplotlib", "prophet", "mesa",
)

#: Keys of provenance.json that change from run to run by design (excluded from reproducibility).
VOLATILE_KEYS = ("created_at",)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _lib_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def git_commit(root: Path | None = None) -> dict[str, object] | None:
    """Commit hash and dirty flag of the source tree, or None outside a git checkout."""
    root = root or repo_root()
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": head, "dirty": bool(status.strip())}


def input_hashes(inputs: dict[str, str | Path]) -> dict[str, str]:
    """sha256 of each input file by role (taken before a run starts, so that provenance
    describes what the run read).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> input_hashes({"records": p})["records"][:16]
    'ba7816bf8f01cfea'
    """
    return {role: sha256_file(path) for role, path in sorted(inputs.items())}


def provenance(
    seed: int,
    inputs: dict[str, str | Path] | None = None,
    hashes: dict[str, str] | None = None,
) -> dict[str, object]:
    """Provenance record of a run.

    Parameters
    ----------
    seed
        The run's seed.
    inputs
        Input files by role (e.g. ``{"records": path}``); each is recorded with its sha256.
    hashes
        sha256 by role taken earlier (:func:`input_hashes` before the run); roles missing
        here are hashed now.

    Examples
    --------
    >>> rec = provenance(seed=0)
    >>> rec["seed"], sorted(rec)[:3]
    (0, ['created_at', 'git', 'inputs'])
    """
    from predgov import __version__

    hashes = {**input_hashes({r: p for r, p in (inputs or {}).items() if r not in (hashes or {})}),
              **(hashes or {})}  # fmt: skip
    return {
        "predgov_version": __version__,
        "git": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "libraries": {name: _lib_version(name) for name in KEY_LIBRARIES},
        "seed": seed,
        "inputs": {
            role: {"path": str(Path(p).resolve()), "sha256": hashes[role]}
            for role, p in sorted((inputs or {}).items())
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_provenance(record: dict[str, object], path: str | Path) -> Path:
    """Write a provenance record as sorted, indented UTF-8 JSON."""
    path = Path(path)
    path.write_text(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path
