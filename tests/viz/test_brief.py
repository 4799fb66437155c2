"""The brief (predgov.viz.brief): a 1-2 page PDF and a self-contained HTML page built from a run
directory, with Chinese as embedded glyphs, small counts withheld and no personal string.

One small real run is built per module: the planted-personal-strings export of
tests/experiment/test_privacy_planted.py through the pipeline (forecast, warn, target), plus a
policy-experiment table and an impact estimate written by hand with known small values.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir

from predgov.experiment.app import register_resolvers
from predgov.experiment.config import register_configs, validate
from predgov.experiment.pipeline import run_pipeline
from predgov.paths import conf_dir
from predgov.viz import brief
from predgov.viz.brief import SECTIONS, build_document, fit_document
from predgov.viz.brief_content import Run
from predgov.viz.brief_html import render_html
from predgov.viz.brief_model import Bi, Document
from predgov.viz.brief_pdf import close_fonts, layout_pdf, render_pdf

pdfium = pytest.importorskip("pypdfium2")
pypdf = pytest.importorskip("pypdf")

register_configs()
register_resolvers()

PLANTED_TESTS = Path(__file__).parents[1] / "experiment" / "test_privacy_planted.py"

# A policy experiment's effects: the random policy at the low budget averts 1-4 calls (withheld,
# and its cost per call 83,333.3 with it); the other rows are published.
EFFECTS = """# simulated totals; effects over 2025-11-15..2026-04-05, paired per seed
policy,budget,calls_averted_median,calls_averted_p10,calls_averted_p90,cost_per_averted_call,\
cost_per_averted_call_ci_lo,cost_per_averted_call_ci_hi,seeds
history_hotspot,250000.0,33.0,30.6,36.2,7500.0,6756.8,8333.3,3
history_hotspot,500000.0,53.0,46.6,57.0,9615.4,8620.7,11111.1,3
random,250000.0,3.0,1.4,4.2,83333.3,61728.4,97531.2,3
random,500000.0,27.0,24.6,37.4,16483.5,12500.0,20833.3,3
oracle,250000.0,40.0,37.6,43.2,6198.3,5681.8,6756.8,3
oracle,500000.0,60.0,59.2,62.4,8241.8,7936.5,8474.6,3
"""
WITHHELD_COST = "83,333"
# Impact: 812.4 calls prevented (total_effect = -812.4); the naive change is -2 calls (-58.17 %):
# a small count, so neither it nor its percentage may appear.
IMPACT = {"total_effect": -812.4, "total_effect_lo": -990.2, "total_effect_hi": -640.7,
          "total_relative_effect": -0.35, "naive_effect": -2.0, "naive_relative_effect": -0.5817}


def _planted():
    spec = importlib.util.spec_from_file_location("_planted_for_brief", PLANTED_TESTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_impact(run_dir: Path, cube: xr.Dataset) -> None:
    times = cube["time"].values[-30:]
    post = np.zeros((times.size, 2), dtype=bool)
    post[10:] = True
    ds = xr.Dataset(
        {k: ((), v) for k, v in IMPACT.items()}
        | {"post": (("time", "district"), post)},
        coords={"time": times, "district": ["市南", "市北"]},
        attrs={"method": "its", "level": 0.9, "unit": "district", "categories": "heating"},
    )
    ds["naive_effect"].attrs["kind"] = "year_on_year"
    (run_dir / "impact" / "figures").mkdir(parents=True)
    ds.to_netcdf(run_dir / "impact" / "impact.nc")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(run_dir / "impact" / "figures" / "impact.png", dpi=50)
    plt.close(fig)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def planted() -> object:
    return _planted()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, planted) -> Path:
    root = tmp_path_factory.mktemp("brief")
    export = planted._planted_export()
    source = root / "in" / "export.csv"
    source.parent.mkdir()
    export.to_csv(source, index=False, encoding="utf-8")
    overrides = [
        "data=file", f"data.path={source}", "data.preset=qd12345", "sim.enabled=false",
        "viz.formats=[png]", "viz.dpi=60", "forecast.backtest_origins=0", "forecast.horizon=28",
        "target.enabled=true", "target.category=heating", "target.efficacy=0.3",
        "target.efficacy_source=assumption for the test", "target.budget=500000",
        "target.cost=100000", "target.cost_units=CNY", "brief.enabled=false",
    ]  # fmt: skip
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        raw = compose(config_name="config", overrides=overrides)
    run = root / "run"
    run_pipeline(validate(raw), raw, run)
    (run / "sim").mkdir()
    (run / "sim" / "effects.csv").write_text(EFFECTS, encoding="utf-8")
    with xr.open_dataset(run / "cube.nc") as cube:
        _write_impact(run, cube.load())
    return run


@pytest.fixture(scope="module")
def brief_files(run_dir) -> dict[str, object]:
    """brief(run_dir) once (lang both), with fpdf2's warnings (missing glyphs) recorded."""
    records = _Records()
    logger = logging.getLogger("fpdf")
    logger.addHandler(records)
    try:
        paths = brief(run_dir, lang="both")
    finally:
        logger.removeHandler(records)
    return {"paths": paths, "fpdf_warnings": records.messages}


@pytest.fixture(scope="module")
def pdf_text(brief_files) -> str:
    doc = pdfium.PdfDocument(brief_files["paths"][0])
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


@pytest.fixture(scope="module")
def document(run_dir) -> Document:
    run = Run(run_dir, _config(run_dir), 5, "both", 10, 7)
    return build_document(run, SECTIONS)


def _config(run_dir: Path) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _cells(document: Document, key: str) -> list[list[str]]:
    section = next(s for s in document.sections if s.key == key)
    return [[c.pick("both") if isinstance(c, Bi) else c for c in row]
            for row in section.tables[0].rows]


def test_brief_writes_pdf_and_html_with_every_section(run_dir, brief_files):
    pdf, page = brief_files["paths"]
    assert (pdf, page) == (run_dir / "brief.pdf", run_dir / "brief.html")
    html = page.read_text(encoding="utf-8")
    ids = re.findall(r'<section id="(\w+)">', html)
    assert ids == list(SECTIONS)
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_pdf_has_one_or_two_pages_that_render(brief_files, tmp_path):
    doc = pdfium.PdfDocument(brief_files["paths"][0])
    assert 1 <= len(doc) <= 2
    for i in range(len(doc)):
        image = doc[i].render(scale=1).to_pil().convert("L")
        image.save(tmp_path / f"brief_p{i + 1}.png")
        assert abs(image.size[0] - 595) <= 1 and abs(image.size[1] - 842) <= 1  # A4, points
        ink = np.asarray(image) < 128
        assert ink.mean() > 0.01, f"page {i + 1} is (nearly) blank"


def test_pdf_text_layer_holds_real_chinese(pdf_text, run_dir):
    text = _flat(pdf_text)
    table = pd.read_csv(run_dir / "target" / "treatment_table.csv")
    top_unit = str(table["district"].iloc[0])
    for expected in ("未诉先办", "数据", "下一季：何处、何时来电", "预警：当前态势",
                     "淡季治理清单", "模拟：先办能换来什么", "过往行动：避免了多少来电",
                     "估计避免了812件来电", "供热", top_unit, "Handleitbeforeanyonecalls"):
        assert expected in text, expected


def test_every_font_in_the_pdf_is_embedded(brief_files):
    reader = pypdf.PdfReader(brief_files["paths"][0])
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for desc in descendants:
                descriptor = desc.get("/FontDescriptor")
                assert descriptor is not None, f"{font.get('/BaseFont')} has no descriptor"
                keys = set(descriptor.get_object())
                assert keys & {"/FontFile", "/FontFile2", "/FontFile3"}, font.get("/BaseFont")
                fonts.append(str(font.get("/BaseFont")))
    assert fonts and all("NotoSansCJK" in f for f in fonts), fonts
    assert not brief_files["fpdf_warnings"], brief_files["fpdf_warnings"]  # no missing glyphs


def test_html_is_self_contained(brief_files):
    html = brief_files["paths"][1].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.I)
    assert not re.search(r"<link|<script|@import", html, flags=re.I)
    assert re.findall(r"url\(([^;)]*)", html) == ["data:font/otf"]  # the one font
    sources = re.findall(r'<img src="([^"]{0,40})', html)
    assert len(sources) == 3  # forecast heatmap, simulation, impact figure
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_html_carries_the_glyphs_of_its_text(brief_files):
    """Chinese shows on a machine with no Chinese font: the page embeds every glyph it uses."""
    import base64
    import html as html_lib
    import io

    from fontTools.ttLib import TTFont

    page = brief_files["paths"][1].read_text(encoding="utf-8")
    data = re.search(r"url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)", page).group(1)
    font = TTFont(io.BytesIO(base64.b64decode(data)))
    body = page.split("<body>", 1)[1]
    text = html_lib.unescape(re.sub(r"<[^>]*>", "", body))
    cjk = {ch for ch in text if "\u4e00" <= ch <= "\u9fff"}
    assert len(cjk) > 100  # the test can fail: the page holds much Chinese
    cmap = font.getBestCmap()
    assert not [ch for ch in cjk if ord(ch) not in cmap]
    assert len(cmap) < 2000  # a subset, not the 16 MB font


def test_no_personal_string_reaches_the_brief(brief_files, pdf_text, output_texts, planted):
    planted_strings = [*planted.PHONES, planted.ID_NUMBER, planted.EMAIL, *planted.NAMES]
    # The scan can fail: the export the run read holds every planted string.
    export = planted._planted_export().to_csv()
    assert all(s in export for s in planted_strings)
    texts = [pdf_text]
    for path in brief_files["paths"]:
        texts += output_texts(path)
    blob = "\n".join(texts)
    assert not [s for s in planted_strings if s in blob]


def test_small_counts_never_reach_the_brief(brief_files, pdf_text, document):
    html = brief_files["paths"][1].read_text(encoding="utf-8")
    for text in (_flat(pdf_text), html):
        assert WITHHELD_COST not in text  # cost per call of the 1-4 calls averted row
        assert "-58%" not in text and "−58%" not in text  # the small naive change, relative
    rows = _cells(document, "sim")
    random_low = next(r for r in rows if r[0].startswith("随机") and r[1] == "250,000")
    assert random_low[2:] == ["<5", "<5–<5", "*", "*"]
    impact = next(s for s in document.sections if s.key == "impact")
    assert "注意：简单同比变化为 <5 件——" in impact.cautions[0].text.zh
    assert "<5" in _flat(pdf_text)


def test_treatment_table_withholds_small_expected_values(run_dir, document):
    table = pd.read_csv(run_dir / "target" / "treatment_table.csv")
    rows = _cells(document, "target")
    assert len(rows) == min(10, len(table))
    for row, (_, raw) in zip(rows, table.iterrows(), strict=False):
        averted = float(raw["calls_averted"])
        if 0 < averted < 5:
            assert row[4].startswith("<5 "), row
        elif np.isfinite(averted):
            assert row[4].startswith(f"{averted:,.0f} ") or row[4].startswith("* "), row


def test_forecast_rows_are_series_with_publishable_references(run_dir, document):
    with xr.open_dataset(run_dir / "cube.nc") as cube:
        counts = cube["counts"].load()
    # No year of history in this run: the reference is the last 28 days before the forecast.
    reference = counts.isel(time=slice(-28, None)).sum("time")
    labels = {f"{d} {en}": d for d, en in zip(counts["district"].values,
                                              counts["district_label_en"].values, strict=True)}
    categories = {f"{zh} {en}": c for c, zh, en in zip(
        counts["category"].values, counts["label_zh"].values, counts["label_en"].values,
        strict=True)}  # fmt: skip
    rows = _cells(document, "forecast")
    assert rows
    for row in rows:
        d = labels.get(row[0], row[0])
        c = categories[row[1]]
        ref = float(reference.sel(district=d, category=c))
        assert ref >= 5 and row[4] == f"{ref:,.0f}", row


def test_absent_sections_are_skipped_with_one_line(run_dir, tmp_path):
    small = tmp_path / "run"
    small.mkdir()
    for name in ("config.yaml", "provenance.json", "ingest_report.json", "cube.nc"):
        shutil.copy(run_dir / name, small / name)
    run = Run(small, _config(small), 5, "both", 10, 7)
    doc = build_document(run, SECTIONS)
    assert [s.key for s in doc.sections] == ["data"]
    assert len(doc.skipped) == 5
    for line, needed in zip(doc.skipped, ("forecast.nc", "alerts.csv", "target/",
                                          "effects.csv", "impact.nc"), strict=True):  # fmt: skip
        assert needed in line.en and needed in line.zh
    html = render_html(doc, "both", embed_font=False)
    assert "本次运行未包含：" in html and "Not in this run: " in html


def test_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run directory"):
        brief(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match="not a predgov run directory"):
        brief(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match=r"is not a predgov run directory: it needs config\.yaml"):
        brief(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"lang": "fr"}, "lang must be one of"),
    ({"sections": ["data", "weather"]}, "sections must be distinct names"),
    ({"sections": []}, "sections must be distinct names"),
    ({"alerts_days": 0}, "alerts_days must be an integer >= 1"),
    ({"max_rows": 0}, "max_rows must be an integer >= 1"),
])  # fmt: skip
def test_bad_arguments_name_the_problem(run_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        brief(run_dir, **kwargs)


def test_zh_and_en_briefs_speak_one_language(document):
    zh, en = (render_html(document, lang, embed_font=False) for lang in ("zh", "en"))
    assert "预测期" in zh and "Forecast for" not in zh and 'lang="zh-CN"' in zh
    assert "Forecast for" in en and "预测期" not in en and '<html lang="en">' in en
    both = render_html(document, "both", embed_font=False)
    assert "预测期" in both and "Forecast for" in both


def test_alerts_list_and_tables_keep_to_max_rows(run_dir):
    alerts = pd.read_csv(run_dir / "warn" / "alerts.csv", parse_dates=["start"])
    with xr.open_dataset(run_dir / "cube.nc") as cube:
        last = pd.Timestamp(cube["time"].values[-1])
    recent = int((alerts["start"] > last - pd.Timedelta(days=7)).sum())
    assert recent > 2  # so the cut below is visible
    run = Run(run_dir, _config(run_dir), 5, "both", 2, 7)
    doc = build_document(run, ["warn", "target"])
    warn = doc.sections[0]
    assert len(warn.bullets) == 2
    assert str(recent) in warn.paragraphs[0].en  # the count covers every recent alert
    assert warn.bullets_more().en == f"{recent - 2} more in warn/alerts.csv."
    assert all(len(t.rows) <= 2 for s in doc.sections for t in s.tables)


def test_shrinking_cuts_lists_tables_and_figures(document):
    """The steps fit_document takes (cheap: no layout)."""
    from predgov.viz.brief import MIN_ROWS, _cuts

    assert _cuts(10) == [6, 4, 3] and _cuts(3) == [] and min(_cuts(40)) == MIN_ROWS
    small = document.shrunk(bullets=2, rows=1, figure_scale=0.5)
    for old, new in zip(document.sections, small.sections, strict=True):
        assert new.bullets == old.bullets[:2]
        assert all(len(t.rows) <= 1 and t.total == o.total
                   for t, o in zip(new.tables, old.tables, strict=True))  # fmt: skip
        assert [f.width_mm for f in new.figures] == [f.width_mm / 2 for f in old.figures]
    target = next(s for s in small.sections if s.key == "target")
    assert target.tables[0].more().en.endswith("more in target/treatment_table.csv.")


@pytest.mark.slow
def test_a_long_brief_is_cut_to_two_pages(run_dir):
    run = Run(run_dir, _config(run_dir), 5, "both", 20, 14)
    doc = build_document(run, SECTIONS)
    long = layout_pdf(doc, "both")
    assert long.pages_count > 2  # too long as asked
    close_fonts(long)
    fitted, pdf = fit_document(doc, "both", 20)
    assert pdf.pages_count <= 2
    close_fonts(pdf)
    assert 3 <= max(len(s.bullets) for s in fitted.sections) < max(
        len(s.bullets) for s in doc.sections)  # fmt: skip


@pytest.mark.slow
def test_same_run_same_bytes(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    first = [p.read_bytes() for p in brief(copy, lang="zh")]
    second = [p.read_bytes() for p in brief(copy, lang="zh")]
    assert first == second


def test_flushing_cost_is_described_per_household():
    """PipeFlushing targets estates but is paid per household (its docstring): the brief must
    not say "per estate"."""
    from predgov.viz.brief_content.sim import _interventions

    spec = {"flushing": {"kind": "PipeFlushing", "unit": "estate", "unit_cost": 200.0,
                         "start": "2025-09-01", "end": "2025-10-31"},
            "visits": {"kind": "ProactiveVisits", "unit": "grid", "unit_cost": 50.0}}
    text = _interventions({"interventions": json.dumps(spec)})
    assert "200 per household" in text.en and "per estate" not in text.en
    assert "每户 200" in text.zh and "每网格 50" in text.zh


def test_pdf_and_html_leave_no_font_file_open():
    # fontTools reads the CJK font lazily and keeps the file open; left to the garbage
    # collector it raised a ResourceWarning inside an unrelated later test (a flaky failure).
    import gc
    import warnings

    from predgov.viz.brief_html import font_face

    doc = Document(Bi("简报", "Brief"), Bi("", ""), [], [], Bi("", ""), "2024-12-31")
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        data, _ = render_pdf(doc, "zh")
        css = font_face("供热")
        gc.collect()
    assert data.startswith(b"%PDF-") and css.startswith("@font-face")
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [m for m in leaks if "NotoSansCJK" in m], leaks


def test_target_notes_are_chinese_in_the_chinese_text(run_dir, document):
    """The target stage writes its attrs in English; the brief's Chinese text translates the
    system-generated ones (efficacy, where the expected calls come from) and keeps the user's
    own efficacy source as given."""
    with xr.open_dataset(run_dir / "target" / "treatment_list.nc") as ds:
        attrs = dict(ds.attrs)
    target = next(s for s in document.sections if s.key == "target")
    zh = target.notes[0].zh
    assert attrs["efficacy"] == "0.3 for every unit"
    assert "各单位均为 0.3" in zh and "for every unit" not in zh
    assert "assumption for the test" in zh
    assert attrs["expected_from"] not in zh
    assert zh.count("预测（模型 ") + zh.count("历史来电") == 1, zh
    assert attrs["expected_from"] in target.notes[0].en
