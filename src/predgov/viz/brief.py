"""The brief for officials: one to two pages, PDF and HTML, built only from a run directory.

:func:`brief` reads what a ``predgov`` run wrote (``ingest_report.json``, ``cube.nc``,
``forecast/``, ``warn/``, ``target/``, ``sim/``, ``impact/``) and writes ``brief.pdf`` and
``brief.html`` into it, with the same content:

1. the data: source, period, rows accepted / rejected, series and coverage;
2. next season: where and when volumes come (change by district × category, the top rising
   series with their bands and peak week);
3. the early warning now: alerts that started in the last ``alerts_days`` days, in words;
4. the off-season treatment list: top units, expected calls averted, cost;
5. the simulation: calls averted with bands per policy and budget;
6. a past action's impact (when the run has ``impact/impact.nc``), the naive year-on-year
   figure shown only inside a labelled caution.

Each section ends with its source line (files of the run directory and the date). Every count is
small-cell suppressed with the run's ``viz.min_count`` (:mod:`predgov.data.suppress`). A section
the run has no output for is skipped with a one-line mention at the end.

Language: ``lang="zh"`` or ``"en"`` writes one language; ``"both"`` (the default of the
``brief`` config group) writes **one bilingual document** under the same two names: Chinese
first, English beneath each paragraph in grey, bilingual table headers and labels. One file
keeps the names fixed (``brief.pdf``, ``brief.html``) whatever the language, and tables and
figures are not repeated. The PDF embeds its one font, Noto Sans CJK SC (see
:mod:`predgov.viz.brief_pdf`). When the content would run past two pages, the alert list, the
figures and the tables are cut (see :func:`fit_document`) until it fits.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from predgov.data.suppress import MIN_COUNT
from predgov.viz.brief_content import BUILDERS, Run
from predgov.viz.brief_html import write_html
from predgov.viz.brief_model import LANGS, Bi, Document, Section
from predgov.viz.brief_pdf import close_fonts, layout_pdf, pdf_bytes

if TYPE_CHECKING:
    from fpdf import FPDF

#: Sections in the order they appear (the ``brief.sections`` config choices).
SECTIONS: tuple[str, ...] = tuple(BUILDERS)
#: Most pages of the PDF.
MAX_PAGES = 2
#: Fewest table rows kept when fitting the pages.
MIN_ROWS = 3
#: Files of the run directory the brief writes.
PDF_NAME, HTML_NAME = "brief.pdf", "brief.html"


def _check_args(lang: str, sections: Sequence[str], alerts_days: int, max_rows: int) -> list[str]:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {list(LANGS)}, got {lang!r}")
    if isinstance(sections, str):
        sections = [sections]
    sections = list(sections)
    bad = [s for s in sections if s not in SECTIONS]
    if bad or not sections or len(set(sections)) != len(sections):
        raise ValueError(f"sections must be distinct names from {list(SECTIONS)}, got {sections}")
    for name, value in (("alerts_days", alerts_days), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return [s for s in SECTIONS if s in sections]


def _load_config(run_dir: Path) -> dict[str, Any]:
    """The run's resolved ``config.yaml``; a clear error when the folder is not a predgov run."""
    if not run_dir.exists():
        raise FileNotFoundError(f"no run directory {run_dir}")
    if not run_dir.is_dir():
        raise NotADirectoryError(f"{run_dir} is a file, not a predgov run directory")
    config = run_dir / "config.yaml"
    marks = [run_dir / n for n in ("provenance.json", "status.json")]
    if not config.is_file() or not any(p.is_file() for p in marks):
        raise ValueError(
            f"{run_dir} is not a predgov run directory: it needs config.yaml and "
            "provenance.json or status.json (written by the `predgov` command)"
        )
    from omegaconf import OmegaConf

    try:
        loaded = OmegaConf.to_container(OmegaConf.load(config), resolve=False)
    except Exception as err:  # a broken YAML file: say which file, not a parser trace
        raise ValueError(f"cannot read {config}: {type(err).__name__}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{config} does not hold a predgov config (a mapping)")
    return loaded


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _min_count(config: dict[str, Any]) -> int:
    value = (config.get("viz") or {}).get("min_count", MIN_COUNT)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"config.yaml: viz.min_count must be an integer >= 1, got {value!r}")
    return value


def _header(run: Run, date: str) -> tuple[Bi, Bi, Bi]:
    prov = _json(run.path / "provenance.json")
    status = _json(run.path / "status.json")
    version = prov.get("predgov_version") or status.get("predgov_version") or "?"
    commit = str((prov.get("git") or {}).get("commit") or "")[:8]
    data = run.config.get("data") or {}
    source = str(data.get("source", "?"))
    source_en = {"demo_city": "demo city (synthetic)", "file": "records file"}.get(source, source)
    source_zh = {"demo_city": "演示城市（合成数据）", "file": "工单文件"}.get(source, source)
    state = str(status.get("status", ""))
    state_zh = state_en = ""
    if state in ("failed", "interrupted"):
        stage = status.get("stage", "?")
        state_zh, state_en = (f" · 运行未完成（{state}，阶段 {stage}），仅含已写出的结果",
                              f" · run {state} at stage {stage}: only what it wrote")
    title = Bi("未诉先办 · 运行简报", "Handle it before anyone calls: run brief")
    # No run-directory name or clock time: the same config and seed give the same bytes.
    seed = run.config.get("seed")
    seed_text = f" · seed {seed}" if seed is not None else ""
    subtitle = Bi(
        f"数据 {source_zh} · 截至 {date}{seed_text} · predgov {version}"
        + (f"（{commit}）" if commit else "") + state_zh,
        f"Data: {source_en} · as of {date}{seed_text} · predgov {version}"
        + (f" ({commit})" if commit else "") + state_en,
    )  # fmt: skip
    m = run.min_count
    footer = Bi(f"predgov 简报 · 1–{m - 1} 件的小计数不公布（<{m}），* 为连带隐去",
                f"predgov brief · counts of 1–{m - 1} withheld (<{m}); * withheld with them")
    return title, subtitle, footer


def build_document(run: Run, sections: Sequence[str]) -> Document:
    """The brief's content (no layout) for the given sections of ``run``."""
    date = _brief_date(run)
    done: list[Section] = []
    skipped: list[Bi] = []
    for key in sections:
        result = BUILDERS[key](run, date)
        if isinstance(result, Section):
            done.append(result)
        else:
            skipped.append(result)
    title, subtitle, footer = _header(run, date)
    return Document(title, subtitle, done, skipped, footer, date)


def _brief_date(run: Run) -> str:
    """The date printed: ``viz.date`` if set, else the data's last day (as the figures do)."""
    fixed = (run.config.get("viz") or {}).get("date")
    if fixed:
        return str(fixed)[:10]
    last = run.last_day()
    if last is not None:
        return str(last.date())
    for name in ("status.json", "provenance.json"):
        stamp = _json(run.path / name).get("started_at") or _json(run.path / name).get(
            "created_at")  # fmt: skip
        if stamp:
            return str(stamp)[:10]
    return "1970-01-01"


def fit_document(doc: Document, lang: str, max_rows: int) -> tuple[Document, FPDF]:
    """Shrink the brief until its PDF fits ``MAX_PAGES`` pages: first the alert list (to
    ``MIN_ROWS`` items), then the figures (to 80 %), then the tables (to ``MIN_ROWS`` rows),
    last the figures again (to 65 %).

    Returns the document and its laid-out PDF (bytes not written yet). Past those limits the
    PDF keeps its extra page.
    """
    steps = [(max_rows, max_rows, 1.0)]
    steps += [(cut, max_rows, 1.0) for cut in _cuts(max_rows)]
    steps.append((MIN_ROWS, max_rows, 0.8))
    steps += [(MIN_ROWS, cut, 0.8) for cut in _cuts(max_rows)]
    steps.append((MIN_ROWS, MIN_ROWS, 0.65))
    for bullets, rows, scale in steps:
        fitted = doc if (bullets, rows, scale) == steps[0] else doc.shrunk(bullets, rows, scale)
        pdf = layout_pdf(fitted, lang)
        if pdf.pages_count <= MAX_PAGES:
            break
        close_fonts(pdf)  # a layout that did not fit is dropped
    return fitted, pdf


def _cuts(rows: int) -> list[int]:
    """Row limits tried when fitting: two thirds each time, down to ``MIN_ROWS``."""
    out = []
    while rows > MIN_ROWS:
        rows = max(MIN_ROWS, (rows * 2) // 3)
        out.append(rows)
    return out


def brief(
    run_dir: str | os.PathLike[str],
    lang: str = "both",
    sections: Sequence[str] = SECTIONS,
    alerts_days: int = 7,
    max_rows: int = 10,
) -> list[Path]:
    """Write ``brief.pdf`` and ``brief.html`` (same content, 1–2 pages) into a run directory.

    Parameters
    ----------
    run_dir
        A directory written by the ``predgov`` command (it holds ``config.yaml`` and
        ``provenance.json`` or ``status.json``); it may still be running (the pipeline's last
        step calls this).
    lang
        ``"zh"``, ``"en"`` or ``"both"`` (one bilingual document; see the module docstring).
    sections
        Which of ``data``, ``forecast``, ``warn``, ``target``, ``sim``, ``impact`` to include
        (always in that order). A requested section the run has no output for is skipped with
        a one-line mention.
    alerts_days
        The warning section lists alerts that started in the last this many days of the data.
    max_rows
        At most this many rows per table and alerts in the list (fewer when needed to fit two
        pages, never fewer than 3).

    Returns
    -------
    list[pathlib.Path]
        ``[run_dir/brief.pdf, run_dir/brief.html]``.

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` does not exist.
    ValueError
        If ``run_dir`` is not a predgov run directory, or an argument is out of range.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     brief(empty)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ... is not a predgov run directory: it needs config.yaml and ...
    """
    keys = _check_args(lang, sections, alerts_days, max_rows)
    if importlib.util.find_spec("fpdf") is None:
        raise ImportError("predgov.viz.brief writes its PDF with fpdf2, which is not installed: "
                          "`pip install fpdf2` (a predgov dependency)")
    path = Path(run_dir)
    config = _load_config(path)
    run = Run(path, config, _min_count(config), lang, max_rows, alerts_days)
    doc, pdf = fit_document(build_document(run, keys), lang, max_rows)
    pdf_path = path / PDF_NAME
    pdf_path.write_bytes(pdf_bytes(pdf))
    html_path = write_html(doc, lang, path / HTML_NAME)
    return [pdf_path, html_path]
