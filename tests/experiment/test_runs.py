"""Runs as a user meets them: strict config, secrets, the run directory, the completion record,
interruption, warnings, progress lines and `predgov --help` (small, fast subprocess runs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from predgov.experiment.status import COMPLETE_MARKER, FAILED_MARKER, STATUS_FILE
from predgov.paths import conf_dir, experiments_dir

# No forecast / warn / sim, small figures; with a two-month demo city a run takes seconds.
STAGES_OFF = ["forecast.enabled=false", "warn.enabled=false", "sim.enabled=false",
              "viz.formats=[png]", "viz.dpi=60"]  # fmt: skip
FAST = ["data.start=2022-01-01", "data.end=2022-02-28", *STAGES_OFF]
HYDRA_FILES = {".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "app.log"}


def _cmd() -> list[str]:
    exe = Path(sys.executable).with_name("predgov")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "predgov.experiment.app"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PREDGOV_QUIET")}
    return {**env, "MPLBACKEND": "Agg", **extra}


def predgov(run_dir: Path | None, *overrides: str, env: dict[str, str] | None = None,
            timeout: int = 300) -> subprocess.CompletedProcess:  # fmt: skip
    where = [f"hydra.run.dir={run_dir}"] if run_dir is not None else []
    return subprocess.run([*_cmd(), *where, *overrides], capture_output=True, text=True,
                          env=env or _env(), timeout=timeout)  # fmt: skip


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("predgov: error: "), proc.stderr
    return lines[0]


# ---------------------------------------------------------------------- strict config (case 1, 2)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # (the other keys and values of the issue: test_config.py, on the composed config)
        (["+data.sed=3"], "unknown config key 'data.sed' (did you mean 'data.seed'?)"),
        (["data=file", "data.path={src}", "data.preset=qd12345", "data.timezone=Asia/Shangai"],
         "unknown timezone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"),
    ],
)
def test_config_mistakes_stop_before_anything_is_written(tmp_path, overrides, expected):
    src = tmp_path / "in" / "export.csv"
    src.parent.mkdir()
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    extra = STAGES_OFF if "data=file" in overrides else FAST
    proc = predgov(run_dir, *[o.format(src=src) for o in overrides], *extra)
    assert expected in _one_line_error(proc)
    assert not run_dir.exists()  # no stub: Hydra did not even create the directory
    assert "[1/1]" not in proc.stdout  # nothing ran


# ------------------------------------------------------------------------------ secrets (case 3)


def test_a_key_passed_as_a_config_value_is_refused_and_never_written(tmp_path):
    key = "hmac-key-do-not-leak-0123456789"
    src = tmp_path / "in" / "export.csv"
    src.parent.mkdir()
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    for mistake in ([f"data.key_env={key}"], [f"+data.mapping.record_id={key}"]):
        proc = predgov(run_dir, "data=file", f"data.path={src}", "data.preset=qd12345",
                       "data.pseudonymise=true", *mistake, *STAGES_OFF,
                       env=_env(PREDGOV_HMAC_KEY=key))  # fmt: skip
        line = _one_line_error(proc)
        assert "HMAC key" in line
        assert key not in proc.stderr + proc.stdout
        assert not run_dir.exists()
    # Also a value the composed config gets from elsewhere (a YAML, an experiment).
    from hydra import compose, initialize_config_dir

    from predgov.experiment.app import register_resolvers
    from predgov.experiment.config import ConfigError, register_configs
    from predgov.experiment.guard import check_config_secrets

    register_configs()
    register_resolvers()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["data=file", f"data.path={key}.csv",
                                                       "data.preset=qd12345"])  # fmt: skip
    with pytest.raises(ConfigError, match=r"'data\.path' holds the HMAC key") as info:
        check_config_secrets(cfg, {"PREDGOV_HMAC_KEY": key})
    assert key not in str(info.value)


# ---------------------------------------------------------------- run dir vs inputs (case 4)


def test_a_run_directory_holding_the_input_is_refused(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    source = folder / "records.parquet"
    source.write_bytes(b"PAR1 not really parquet, but the user's file")
    before = source.read_bytes()
    for run_dir in (folder, tmp_path):  # the input's folder, or any folder above it
        proc = predgov(run_dir, "data=file", f"data.path={source}", "data.preset=qd12345",
                       *STAGES_OFF)  # fmt: skip
        assert "holds the input file 'records.parquet'" in _one_line_error(proc)
    assert source.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["records.parquet"]  # no .hydra/


def test_inputs_are_hashed_before_the_stages_run(tmp_path, monkeypatch):
    """provenance.json records the input as it was before the run, even if it changes during
    the run; the change is logged as a warning."""
    from omegaconf import OmegaConf

    import predgov.experiment.pipeline as pipeline
    from predgov.data import synthetic_export
    from predgov.experiment.config import (
        ConfigError,
        FileDataConfig,
        ForecastConfig,
        PredgovConfig,
        SimConfig,
        VizConfig,
        WarnConfig,
    )
    from predgov.experiment.provenance import sha256_file

    source = tmp_path / "in" / "export.csv"
    source.parent.mkdir()
    synthetic_export(n=200, seed=1).to_csv(source, index=False)
    original = sha256_file(source)
    cfg = PredgovConfig(data=FileDataConfig(path=str(source), preset="qd12345"),
                        forecast=ForecastConfig(enabled=False), warn=WarnConfig(enabled=False),
                        sim=SimConfig(enabled=False), viz=VizConfig(formats=["png"], dpi=60))
    real = pipeline.run_data_stage

    def touching_data_stage(*args, **kwargs):
        result = real(*args, **kwargs)
        with open(source, "a", encoding="utf-8") as fh:
            fh.write("\n")
        return result

    monkeypatch.setattr(pipeline, "run_data_stage", touching_data_stage)
    out = pipeline.run_pipeline(cfg, OmegaConf.structured(cfg), tmp_path / "run")
    prov = json.loads(out["provenance"].read_text())
    assert prov["inputs"]["records"]["sha256"] == original != sha256_file(source)
    # The Python API refuses a run directory holding the input, before writing anything.
    with pytest.raises(ConfigError, match="holds the input file"):
        pipeline.run_pipeline(cfg, OmegaConf.structured(cfg), source.parent)
    assert sorted(p.name for p in source.parent.iterdir()) == ["export.csv"]


# ------------------------------------------------------- completion marker, re-runs (case 5)


def test_status_file_marks_complete_and_failed_runs_and_reruns(tmp_path):
    bad = tmp_path / "in" / "export.csv"
    bad.parent.mkdir()
    bad.write_text("nothing,useful\n1,2\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    proc = predgov(run_dir, "data=file", f"data.path={bad}", "data.preset=qd12345", *STAGES_OFF)
    line = _one_line_error(proc)
    status = json.loads((run_dir / STATUS_FILE).read_text())
    assert status["status"] == "failed" and status["stage"] == "data"
    assert status["error"] == "IngestError" and status["message"] in line
    assert (run_dir / FAILED_MARKER).is_file() and not (run_dir / COMPLETE_MARKER).exists()
    assert not (run_dir / "provenance.json").exists()

    # The same directory is re-run into after a failure ...
    proc = predgov(run_dir, *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = json.loads((run_dir / STATUS_FILE).read_text())
    assert status["status"] == "complete" and "error" not in status
    assert set(status["stages"]) == {"data"} and status["duration_s"] >= 0
    assert (run_dir / COMPLETE_MARKER).is_file() and not (run_dir / FAILED_MARKER).exists()
    # outputs lists every file the run wrote (Hydra's own records and the marker aside)
    assert set(status["outputs"]) == _files(run_dir) - HYDRA_FILES - {COMPLETE_MARKER}

    # ... but a complete run is kept unless overwrite=true.
    before = (run_dir / STATUS_FILE).read_bytes()
    proc = predgov(run_dir, *FAST)
    assert "holds a complete run" in _one_line_error(proc) and "overwrite=true" in proc.stderr
    assert (run_dir / STATUS_FILE).read_bytes() == before
    proc = predgov(run_dir, *FAST, "overwrite=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run_dir / STATUS_FILE).read_text())["status"] == "complete"

    # A folder of other files is not a run directory.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("x")
    assert "no predgov status.json" in _one_line_error(predgov(other, *FAST))


# ---------------------------------------------------------------- interruption (case 6)


def _session_processes(sid: int) -> list[int]:
    """Live processes of a session (the run and everything it started, orphaned or not)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_leaves_no_worker_processes(tmp_path, signum):
    run_dir = tmp_path / "run"
    cmd = [*_cmd(), f"hydra.run.dir={run_dir}", "data.start=2022-01-01", "data.end=2022-01-31",
           "forecast.enabled=false", "warn.enabled=false", "sim.seeds=[0,1]", "sim.n_jobs=2",
           "sim.scale=0.05", "viz.formats=[png]"]  # fmt: skip
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=_env(),
                                start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            # the run plus two workers and the resource trackers
            while len(_session_processes(proc.pid)) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(_session_processes(proc.pid)) >= 4, "the workers never started"
            time.sleep(0.5)
            proc.send_signal(signum)
            code = proc.wait(timeout=30)
            deadline = time.monotonic() + 5
            while _session_processes(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = _session_processes(proc.pid)
        finally:
            for pid in _session_processes(proc.pid):  # never leave anything behind
                os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left running: {left}"
    assert code == 128 + signum
    status = json.loads((run_dir / STATUS_FILE).read_text())
    assert status["status"] == "interrupted" and status["stage"] == "sim"
    assert status["signal"] == signal.Signals(signum).name
    assert (run_dir / FAILED_MARKER).is_file()
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()


# -------------------------------------------------- warnings, progress, quiet (cases 7 and 8)


def test_warnings_are_recorded_and_progress_is_shown(tmp_path):
    """A demo period in 2027 makes the calendar warn (no 调休 decree for 2027 yet); a short
    simulation would print Mesa's per-step lines if they were not silenced."""
    over = ["data.start=2027-01-01", "data.end=2027-01-31", "forecast.enabled=false",
            "warn.enabled=false", "sim.start=2025-07-01", "sim.end=2025-07-20",
            "viz.formats=[png]", "viz.dpi=60"]  # fmt: skip
    proc = predgov(tmp_path / "loud", *over)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "loud"
    console = proc.stdout + proc.stderr
    assert console.count("2027") >= 1 and console.count("make-up working days") == 1
    recorded = (run / "warnings.txt").read_text(encoding="utf-8").splitlines()
    assert len(recorded) == 1 and "make-up working days" in recorded[0] and "2027" in recorded[0]
    assert json.loads((run / STATUS_FILE).read_text())["warnings"] == 1
    for line in ("[1/2] data: demo city", "[1/2] data done in", "[2/2] sim: scale 0.05",
                 "[2/2] sim done in"):  # fmt: skip
        assert line in proc.stdout, proc.stdout
    assert "calling model.step" not in console
    assert "calling model.step" not in (run / "app.log").read_text(encoding="utf-8")

    quiet = predgov(tmp_path / "ci", *over, env=_env(CI="true"))
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert "[1/2]" not in quiet.stdout and "run complete" not in quiet.stdout
    assert "make-up working days" in quiet.stdout + quiet.stderr  # warnings still shown
    assert "[2/2] sim done in" in (tmp_path / "ci" / "app.log").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- help (case 9)


def test_help_describes_the_app_and_every_option_but_no_schema():
    proc = predgov(None, "--help")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "_schema" not in text
    assert "proactive city governance" in text and "status.json" in text
    for group in ("data", "forecast", "target", "warn", "sim", "policy", "viz"):
        assert f"\n  {group} " in text
        for option in sorted(p.stem for p in (conf_dir() / group).glob("*.yaml")):
            assert f" {option} " in text, f"{group}={option} missing from --help"
    for name in sorted(p.stem for p in (experiments_dir() / "experiment").glob("*.yaml")):
        assert f" {name} " in text, f"+experiment={name} missing from --help"
