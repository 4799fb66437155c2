"""End-to-end privacy: personal strings planted in *every* column of an export (district and
category included) never reach any byte of the run directory, nor a file name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Planted personal strings (all fake): phones, an ID number, an e-mail address and names.
PHONES = ["13912345678", "13800001111", "13700001111", "13600001111", "13500001111",
          "13400001111", "13300001111"]
ID_NUMBER = "370202198001011234"
EMAIL = "zhang.sanfeng@example.com"
NAMES = ["张三丰", "李四光", "王小明", "赵六福"]

# Column -> template of the planted cell ({v} is the column's own value).
PLANTS = {
    "工单编号": "{v} 13300001111",
    "受理时间": "{v}",  # a personal string here makes the time unparseable (rejected); see below
    "来源渠道": "{v} " + EMAIL,
    "区(市)": "{v} 13912345678",
    "街道/网格": "{v} 李四光 13700001111",
    "诉求分类 一级": "{v} 赵六福",
    "诉求分类 二级": "{v} 张三丰 13800001111",
    "承办单位": "{v} 王小明 " + ID_NUMBER,
    "办结时间": "{v} 13400001111",
    "满意度": "{v} 13600001111",
}


def _planted_export(n: int = 1500, every: int = 7):
    from predgov.data import synthetic_export

    export = synthetic_export(n=n, seed=21)
    rows = export.index[::every]
    for col, template in PLANTS.items():
        export.loc[rows, col] = [template.format(v=v) for v in export.loc[rows, col]]
    # a few rows whose received time itself carries a phone number
    export.loc[export.index[3::97], "受理时间"] = [
        f"{v} 13500001111" for v in export.loc[export.index[3::97], "受理时间"]
    ]
    return export


def _run(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("predgov")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "predgov.experiment.app"]
    return subprocess.run(
        [*cmd, f"hydra.run.dir={run_dir}", *overrides],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_planted_personal_strings_reach_no_output(tmp_path, suffix, output_texts):
    export = _planted_export()
    source = tmp_path / "in" / f"export{suffix}"
    source.parent.mkdir()
    if suffix == ".xlsx":
        export.to_excel(source, index=False)
    else:
        export.to_csv(source, index=False, encoding="utf-8")
    planted = [*PHONES, ID_NUMBER, EMAIL, *NAMES]
    # The scan can fail: the input holds every planted string.
    blob_in = export.to_csv()
    assert all(s in blob_in for s in planted)

    run_dir = tmp_path / "run"
    proc = _run(run_dir, "data=file", f"data.path={source}", "data.preset=qd12345",
                "sim.enabled=false")
    assert proc.returncode == 0, proc.stderr[-4000:]
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    assert any(p.suffix == ".svg" for p in files) and any(p.name == "alerts.csv" for p in files)
    leaks = []
    for path in files:
        blob = "\n".join([str(path.relative_to(run_dir)), *output_texts(path)])
        leaks += [(str(path.relative_to(run_dir)), s) for s in planted if s in blob]
    console = proc.stdout + proc.stderr
    leaks += [("console", s) for s in planted if s in console]
    assert not leaks, leaks[:20]
