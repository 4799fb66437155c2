"""Privacy at ingest: no personal value survives; pseudonyms are keyed, stable and normalised."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from predgov.data.privacy import (
    KEY_ENV,
    PSEUDONYM_COLUMNS,
    normalise_personal,
    personal_kind,
    pseudonym,
    pseudonymise_series,
    resolve_key,
)
from predgov.data.records import IngestError, read_records
from predgov.data.synthetic_export import synthetic_export

PERSONAL = ["来电人", "联系电话", "身份证号", "地址", "诉求内容"]


def _personal_values(df: pd.DataFrame) -> set[str]:
    values: set[str] = set()
    for col in PERSONAL:
        values |= {v for v in df[col] if isinstance(v, str) and v.strip()}
    # phones also as bare digits, the form a careless pipeline would write
    values |= {"".join(ch for ch in v if ch.isdigit()) for v in df["联系电话"]}
    return values


def _leaks(values: set[str], texts: list[str]) -> list[str]:
    blob = "\n".join(texts)
    return sorted(v for v in values if v in blob)


@pytest.mark.parametrize("pseudonymise", [False, True])
def test_no_personal_value_in_records_or_report(
    tmp_path: Path, pseudonymise: bool
) -> None:
    df = synthetic_export(n=600, seed=11)
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False, encoding="gb18030")
    records, report = read_records(path, preset="qd12345", pseudonymise=pseudonymise,
                                   key="test-key")
    report.save(tmp_path / "ingest.json")
    report.save(tmp_path / "ingest.txt")
    records.to_parquet(tmp_path / "records.parquet")
    texts = [
        "\n".join(map(str, pd.unique(records[c].astype(object).to_numpy().ravel())))
        for c in records.columns
    ]
    texts += ["\n".join(map(str, records.columns))]
    texts += [(tmp_path / f).read_text(encoding="utf-8") for f in ("ingest.json", "ingest.txt")]
    assert _leaks(_personal_values(df), texts) == []
    assert "test-key" not in "\n".join(texts)
    assert not set(PERSONAL) & set(records.columns)
    if pseudonymise:
        assert report.pseudonymised_columns == {
            "来电人": "caller_pid", "联系电话": "phone_pid", "身份证号": "id_pid",
            "地址": "address_pid",
        }
        assert report.dropped_columns == ["诉求内容"]  # free text is never hashed
        assert set(PSEUDONYM_COLUMNS.values()) <= set(records.columns)
    else:
        assert report.dropped_columns == PERSONAL
        assert not set(PSEUDONYM_COLUMNS.values()) & set(records.columns)


def test_the_leak_check_would_catch_a_leak() -> None:
    df = synthetic_export(n=50, seed=2)
    assert _leaks(_personal_values(df), [df.to_csv()]) != []


def test_pseudonyms_stable_keyed_and_normalised() -> None:
    assert pseudonym("138 0013 8000", "phone", "k1") == pseudonym("13800138000", "phone", "k1")
    assert pseudonym("138-0013-8000", "phone", "k1") == pseudonym("+8613800138000", "phone", "k1")
    assert pseudonym("13800138000", "phone", "k1") != pseudonym("13800138000", "phone", "k2")
    # kinds are separated: the same string as a name and as an address differ
    assert pseudonym("青岛", "name", "k1") != pseudonym("青岛", "address", "k1")
    assert pseudonym("", "phone", "k1") is None and pseudonym(None, "name", "k1") is None
    assert normalise_personal("37020219900101123x", "id_number").endswith("X")


def test_same_person_same_pseudonym_across_files() -> None:
    a = pd.DataFrame({
        "受理时间": ["2024-11-20 08:00:00", "2024-11-21 08:00:00"],
        "区(市)": ["市南", "市北"], "二级分类": ["供暖", "供暖"],
        "联系电话": ["138 0013 8000", "13900139000"], "来电人": ["王 芳", "李强"],
    })
    b = a.assign(联系电话=["13800138000", "139-0013-9000"], 来电人=["王芳", "李强"])
    ra, _ = read_records(a, preset="qd12345", pseudonymise=True, key="k")
    rb, _ = read_records(b, preset="qd12345", pseudonymise=True, key="k")
    rc, _ = read_records(b, preset="qd12345", pseudonymise=True, key="other")
    assert ra["phone_pid"].tolist() == rb["phone_pid"].tolist()
    assert ra["caller_pid"].tolist() == rb["caller_pid"].tolist()
    assert not set(rc["phone_pid"]) & set(rb["phone_pid"])
    assert str(ra["phone_pid"].dtype) == "string"


def test_key_from_environment_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    df = synthetic_export(n=30, seed=4)
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(IngestError, match=KEY_ENV):
        read_records(df, preset="qd12345", pseudonymise=True)
    with pytest.raises(IngestError, match="key"):
        resolve_key("")
    monkeypatch.setenv(KEY_ENV, "env-secret")
    r_env, report = read_records(df, preset="qd12345", pseudonymise=True)
    r_arg, _ = read_records(df, preset="qd12345", pseudonymise=True, key="env-secret")
    pd.testing.assert_frame_equal(r_env, r_arg)
    assert "env-secret" not in report.to_json() and "env-secret" not in str(report)


def test_pseudonymise_series_hashes_each_value_once() -> None:
    s = pd.Series(["a", "b", None, "a"], index=[10, 11, 12, 13])
    out = pseudonymise_series(s, "name", "k")
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out[10] == out[13] != out[11] and pd.isna(out[12])
    with pytest.raises(ValueError, match="cannot be pseudonymised"):
        pseudonymise_series(s, "text", "k")


@pytest.mark.parametrize(
    ("column", "kind"),
    [("联系电话", "phone"), ("手机号码", "phone"), ("身份证号码", "id_number"), ("来电人", "name"),
     ("事发地址", "address"), ("诉求内容", "text"), ("Incident Address", "address"),
     ("Latitude", "location"), ("BBL", "location"), ("Resolution Description", "text"),
     ("客户电话", "phone"), ("Complaint Type", None), ("承办单位", None), ("Agency Name", None)],
)
def test_personal_kind(column: str, kind: str | None) -> None:
    assert personal_kind(column) == kind
