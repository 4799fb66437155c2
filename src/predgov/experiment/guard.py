"""Checks that run before Hydra writes anything into a run directory.

Hydra saves ``.hydra/config.yaml`` (and the overrides) into the run directory before the task
function starts, so a secret passed as a config value, a run directory that holds the input, or
a config typo must be caught earlier:

* :func:`check_overrides` reads the command line itself (``predgov`` calls it before Hydra
  parses anything): no value may hold the HMAC key, ``key_env`` must name a variable, and
  ``_target_`` may only point into ``predgov``;
* :class:`PreRunChecks`, a Hydra callback (``hydra.callbacks`` in ``conf/config.yaml``), runs
  on the composed config before the run directory exists: strict validation
  (:func:`predgov.experiment.config.validate`), secrets in composed values, the input files'
  presence, the run directory against the inputs (:func:`check_run_dir`) and against a
  previous run (:func:`check_previous_run`).

Errors are :class:`~predgov.experiment.config.ConfigError`; the callback prints them as one
line and exits with status 2. No message repeats a secret.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict

from predgov.experiment.config import ENV_NAME, ConfigError, PredgovConfig, validate
from predgov.experiment.status import run_state

#: Environment variable holding the HMAC key by default (``data.key_env``).
DEFAULT_KEY_ENV = "PREDGOV_HMAC_KEY"

#: Secrets at least this long are also refused inside a longer value (a path, a list).
MIN_SECRET_IN_VALUE = 8


def secrets(environ: Mapping[str, str], key_envs: Iterable[str] = ()) -> list[str]:
    """Values of the key variables (the default one and any ``key_env`` named) that are set.

    Examples
    --------
    >>> secrets({"PREDGOV_HMAC_KEY": "s3cret-key", "MY_KEY": "x" * 9, "HOME": "/root"},
    ...         ["MY_KEY"])
    ['s3cret-key', 'xxxxxxxxx']
    """
    names = dict.fromkeys([DEFAULT_KEY_ENV, *key_envs])
    return [environ[n] for n in names if n and ENV_NAME.match(n) and environ.get(n)]


def holds_secret(value: str, secret_values: Iterable[str]) -> bool:
    """Whether ``value`` is a secret, or contains one of :data:`MIN_SECRET_IN_VALUE`+ chars.

    Examples
    --------
    >>> holds_secret("/data/s3cret-key/x.csv", ["s3cret-key"]), holds_secret("abc", ["ab"])
    (True, False)
    """
    value = str(value).strip().strip("'\"")
    return any(
        value == s.strip() or (len(s.strip()) >= MIN_SECRET_IN_VALUE and s.strip() in value)
        for s in secret_values
        if s.strip()
    )


def _secret_error(key: str) -> ConfigError:
    return ConfigError(
        f"the value given for '{key}' holds the HMAC key (the value of an environment variable "
        "named by data.key_env); keys never go into a config: set data.key_env to the variable's "
        "NAME (default PREDGOV_HMAC_KEY) and the key in that variable"
    )


def check_overrides(args: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
    """Refuse command-line overrides that carry a secret, a ``key_env`` that is not a variable
    name, or a ``_target_`` outside predgov (before Hydra records the overrides anywhere).

    Examples
    --------
    >>> check_overrides(["data=file", "data.key_env=MY_KEY"], {"PREDGOV_HMAC_KEY": "k" * 12})
    >>> check_overrides(["data.key_env=kkkkkkkkkkkk"], {"PREDGOV_HMAC_KEY": "k" * 12})
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: the value given for 'data.key_env' holds the HMAC key ...
    """
    environ = os.environ if environ is None else environ
    pairs = []
    for arg in args:
        if arg.startswith("-") or "=" not in arg:
            continue
        key, value = arg.split("=", 1)
        pairs.append((key.lstrip("+~").split("@")[0], value))
    named = [v.strip("'\"") for k, v in pairs if k.rsplit(".", 1)[-1] == "key_env"]
    found = secrets(environ, named)
    for key, value in pairs:
        name = key.rsplit(".", 1)[-1]
        if holds_secret(value, found):
            raise _secret_error(key)
        if name == "key_env" and not ENV_NAME.match(value.strip("'\"")):
            raise ConfigError(
                f"invalid config value at '{key}': give the NAME of the environment variable "
                "that holds the HMAC key (like PREDGOV_HMAC_KEY), never the key itself"
            )
        if name == "_target_" and not value.strip("'\"").startswith("predgov."):
            raise ConfigError(f"config key '{key}' is refused: only predgov objects may be "
                              "named by _target_")  # fmt: skip


def _strings(node: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{prefix}{k}.")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{prefix}{i}.")
    elif isinstance(node, str):
        yield prefix.rstrip("."), node


def check_config_secrets(cfg: DictConfig, environ: Mapping[str, str] | None = None) -> None:
    """Refuse a composed config holding the HMAC key as a value (from a YAML or experiment).

    Examples
    --------
    >>> cfg = OmegaConf.create({"data": {"key_env": "MY_KEY", "path": "x.csv"}})
    >>> check_config_secrets(cfg, {"MY_KEY": "x.csv"})
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: the value given for 'data.path' holds the HMAC key ...
    """
    environ = os.environ if environ is None else environ
    plain = OmegaConf.to_container(cfg, resolve=False)
    key_env = OmegaConf.select(cfg, "data.key_env", default=None, throw_on_missing=False)
    found = secrets(environ, [str(key_env)] if key_env else [])
    for key, value in _strings(plain):
        if holds_secret(value, found):
            raise _secret_error(key)


def check_run_dir(run_dir: str | Path, inputs: Mapping[str, str | Path]) -> None:
    """Refuse a run directory that is, or contains, an input file's location: the run writes
    its own files (``records.parquet``, ``cube.nc``, ...) there and could replace the input.

    Examples
    --------
    >>> check_run_dir("/tmp/run", {"records": "/data/export.csv"})
    >>> check_run_dir("/data", {"records": "/data/records.parquet"})
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: hydra.run.dir '/data' holds the input file ...
    """
    folder = Path(run_dir).expanduser().resolve()
    for role, path in inputs.items():
        source = Path(path).expanduser().resolve()
        if source == folder or folder in source.parents:
            raise ConfigError(
                f"hydra.run.dir '{run_dir}' holds the input file '{Path(path).name}' ({role}): a "
                "run writes its outputs there and could overwrite it; choose another "
                "hydra.run.dir"
            )


def check_inputs_exist(inputs: Mapping[str, str | Path]) -> None:
    """Refuse a run whose input files are missing (before a run directory is made).

    Examples
    --------
    >>> check_inputs_exist({"records": "/no/such/export.csv"})
    Traceback (most recent call last):
    ...
    predgov.experiment.config.ConfigError: invalid config value at 'data.path': no such file ...
    """
    for path in inputs.values():
        if not Path(path).expanduser().is_file():
            raise ConfigError(f"invalid config value at 'data.path': no such file '{path}'")


def check_previous_run(run_dir: str | Path, overwrite: bool) -> None:
    """Refuse a run directory holding a complete run, a run in progress, or files that are not
    a predgov run, unless ``overwrite`` (a failed or interrupted run is always re-run into).

    Examples
    --------
    >>> import tempfile
    >>> check_previous_run(Path(tempfile.mkdtemp()) / "new", overwrite=False)
    """
    state = run_state(run_dir)
    if state in ("new", "failed", "interrupted"):
        return
    if state == "running":
        raise ConfigError(f"run directory '{run_dir}' is in use by another predgov run; "
                          "choose another hydra.run.dir")  # fmt: skip
    if overwrite:
        return
    what = ("holds a complete run" if state == "complete"
            else "holds files but no predgov status.json")  # fmt: skip
    raise ConfigError(f"run directory '{run_dir}' {what}; choose another hydra.run.dir, or add "
                      "overwrite=true to replace its files")  # fmt: skip


def task_config(cfg: DictConfig) -> DictConfig:
    """The composed config without its ``hydra`` node (what the task function receives)."""
    task = copy.deepcopy(cfg)
    with open_dict(task):
        task.pop("hydra", None)
    return task


def check_task(cfg: DictConfig, run_dir: str | Path | None = None) -> PredgovConfig:
    """Validate a task config and check its secrets and (when given) the run directory against
    its inputs; return the checked config."""
    check_config_secrets(cfg)
    checked = validate(cfg)
    check_inputs_exist(checked.inputs())
    if run_dir is not None:
        check_run_dir(run_dir, checked.inputs())
    return checked


def fail(err: BaseException, code: int = 2) -> None:
    """Print ``predgov: error: <message>`` on stderr and exit with ``code``."""
    print(f"predgov: error: {err}", file=sys.stderr)
    raise SystemExit(code)


class PreRunChecks(Callback):
    """Hydra callback: in a single run, check the composed config and the run directory before
    Hydra creates the directory or saves anything into it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            run_dir = str(OmegaConf.select(config, "hydra.run.dir"))
            checked = check_task(task_config(config), run_dir)
            check_previous_run(run_dir, overwrite=checked.overwrite)
        except ConfigError as err:
            fail(err)
