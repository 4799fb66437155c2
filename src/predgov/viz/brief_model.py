"""The brief as data: sections of bilingual paragraphs, tables and figures, before any layout.

:mod:`predgov.viz.brief_content` fills these objects from a run directory; the PDF
(:mod:`predgov.viz.brief_pdf`) and HTML (:mod:`predgov.viz.brief_html`) writers lay the same
objects out, so both files hold the same words and numbers.

Text carries both languages (:class:`Bi`); a writer shows the Chinese, the English, or both
(Chinese first, English beneath in grey) according to ``lang``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["zh", "en", "both"]
LANGS: tuple[str, ...] = ("zh", "en", "both")


@dataclass(frozen=True)
class Bi:
    """One piece of text in Chinese and English.

    Examples
    --------
    >>> Bi("供热", "Heating").pick("zh"), Bi("供热", "Heating").pick("both")
    ('供热', '供热 Heating')
    >>> Bi("数据", "Data").pick("both", sep=" · ")
    '数据 · Data'
    """

    zh: str
    en: str

    def pick(self, lang: str, sep: str = " ") -> str:
        """The text in ``lang``; ``both`` joins the two with ``sep`` (once when equal)."""
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        return self.zh if self.zh == self.en else f"{self.zh}{sep}{self.en}"

    def lines(self, lang: str) -> list[str]:
        """The paragraph lines to print: one, or Chinese then English for ``both``."""
        if lang == "both":
            return [self.zh] if self.zh == self.en else [self.zh, self.en]
        return [self.pick(lang)]


@dataclass
class Table:
    """A small table of already formatted (and suppressed) cells.

    ``header`` cells are :class:`Bi`; body cells are plain strings (numbers, dates) or
    :class:`Bi` (labels). ``align`` holds ``"L"`` or ``"R"`` per column; ``widths`` relative
    column widths. ``total`` is the length of the full table in ``where`` (a run file) when
    only the first rows are shown.
    """

    header: list[Bi]
    rows: list[list[str | Bi]]
    align: list[str]
    widths: list[float]
    total: int = 0
    where: str = ""

    def __post_init__(self) -> None:
        n = len(self.header)
        if len(self.align) != n or len(self.widths) != n:
            raise ValueError("align and widths need one entry per header cell")
        for row in self.rows:
            if len(row) != n:
                raise ValueError(f"a row has {len(row)} cells, the header {n}")
        self.total = max(self.total, len(self.rows))

    def more(self) -> Bi | None:
        """"12 more in warn/alerts.csv" when rows were left out."""
        return more_line(len(self.rows), self.total, self.where)


def more_line(shown: int, total: int, where: str) -> Bi | None:
    """The line under a cut list or table.

    Examples
    --------
    >>> more_line(10, 26, "warn/alerts.csv").en
    '16 more in warn/alerts.csv.'
    >>> more_line(3, 3, "x") is None
    True
    """
    if total <= shown:
        return None
    return Bi(f"另有 {total - shown} 条见 {where}。", f"{total - shown} more in {where}.")


@dataclass
class Figure:
    """A PNG figure (bytes) drawn for the brief or taken from the run directory."""

    png: bytes
    width_mm: float
    height_mm: float
    alt: Bi


@dataclass
class Caution:
    """A labelled warning box (e.g. the naive year-on-year figure, which is not an effect)."""

    text: Bi


@dataclass
class Section:
    """One section: a heading, paragraphs, optional bullet list, tables, figures, sources."""

    key: str
    title: Bi
    paragraphs: list[Bi] = field(default_factory=list)
    bullets: list[Bi] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    cautions: list[Caution] = field(default_factory=list)
    notes: list[Bi] = field(default_factory=list)  # small print under the tables
    source: Bi | None = None
    bullets_total: int = 0  # length of the full list in bullets_where when cut
    bullets_where: str = ""

    def bullets_more(self) -> Bi | None:
        """The line under a cut bullet list."""
        return more_line(len(self.bullets), self.bullets_total, self.bullets_where)


@dataclass
class Document:
    """The whole brief."""

    title: Bi
    subtitle: Bi
    sections: list[Section]
    skipped: list[Bi]
    footer: Bi
    date: str  # the brief's date (ISO): the data's last day or viz.date

    def shrunk(self, bullets: int, rows: int, figure_scale: float = 1.0) -> Document:
        """A copy with bullet lists cut to ``bullets`` items, tables to ``rows`` rows and
        figures scaled by ``figure_scale`` (to fit the pages); the "more" lines follow."""
        sections = []
        for sec in self.sections:
            tables = [Table(t.header, t.rows[:rows], t.align, t.widths, t.total, t.where)
                      for t in sec.tables]  # fmt: skip
            figures = [Figure(f.png, f.width_mm * figure_scale, f.height_mm * figure_scale, f.alt)
                       for f in sec.figures]  # fmt: skip
            sections.append(Section(
                sec.key, sec.title, sec.paragraphs, sec.bullets[:bullets], figures, tables,
                sec.cautions, sec.notes, sec.source, max(sec.bullets_total, len(sec.bullets)),
                sec.bullets_where))  # fmt: skip
        return Document(self.title, self.subtitle, sections, self.skipped, self.footer, self.date)
