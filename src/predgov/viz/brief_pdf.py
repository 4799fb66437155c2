"""Lay a :class:`~predgov.viz.brief_model.Document` out as an A4 PDF with fpdf2.

Why fpdf2: it embeds (and subsets) the OpenType CJK font predgov's figures already use, Noto
Sans CJK SC from ``mplfonts`` (:func:`predgov.viz.fonts.cjk_font_path`), as a CID font with its
``FontFile3`` program, so Chinese text is real, selectable glyphs on any reader. (ReportLab's
built-in CJK fonts are not embedded and show as boxes where the reader lacks them; matplotlib
pages would need hand-made text flow.) The one font serves Latin text too, so every font in the
file is embedded.

Bytes are reproducible: the creation date is the brief's date, not the clock.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # fpdf2 is imported when a PDF is made, so `import predgov.viz` needs none
    from fpdf import FPDF

from predgov.viz.brief_model import Bi, Document, Section, Table
from predgov.viz.fonts import cjk_font_path

FONT = "noto"
#: Colours (Okabe–Ito blue for headings, the source-line grey of the figures).
BLUE = (0, 114, 178)
GREY = (110, 110, 110)
TEXT = (25, 25, 25)
CAUTION_FILL = (253, 236, 222)
CAUTION_LINE = (213, 94, 0)
HEADER_FILL = (232, 240, 248)
#: Type sizes in points.
SIZE = {"title": 14.5, "subtitle": 7.5, "heading": 10.5, "body": 8.3, "second": 7.6,
        "table": 7.0, "small": 6.4}  # fmt: skip
MARGIN = 11.0


@cache
def _pdf_class() -> type:
    """FPDF with the brief's footer (the footer text and page x / y)."""
    from fpdf import FPDF

    class BriefPDF(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-8.5)
            self.set_font(FONT, size=SIZE["small"])
            self.set_text_color(*GREY)
            self.cell(0, 3.5, f"{self.footer_text}   {self.page_no()}/{{nb}}", align="C")

    return BriefPDF


def _wrap(line: str) -> str:
    """fpdf2's wrap mode: Chinese may break between any two characters, English between words."""
    return "CHAR" if _is_cjk(line) else "WORD"


def _new_pdf(doc: Document, lang: str) -> Any:
    pdf = _pdf_class()(format="A4", unit="mm")
    pdf.footer_text = doc.footer.pick(lang, " · ")
    pdf.set_margins(MARGIN, 10.0, MARGIN)
    pdf.set_auto_page_break(True, margin=11.0)
    pdf.add_font(FONT, "", os.fspath(cjk_font_path()))
    # The subset keeps the full font's bounding box (a valid superset) instead of recomputing
    # it glyph by glyph, which took a quarter of the writing time.
    for font in pdf.fonts.values():
        font.ttfont.recalcBBoxes = False
    pdf.set_font(FONT, size=SIZE["body"])
    day = dt.datetime.fromisoformat(doc.date).replace(tzinfo=dt.UTC)
    pdf.set_creation_date(day)
    pdf.set_title(doc.title.pick(lang, " · "))
    pdf.set_author("predgov")
    pdf.set_lang("zh-CN" if lang != "en" else "en")
    return pdf


def _para(pdf: FPDF, text: Bi, lang: str, size: float = SIZE["body"], color=TEXT,
          gap: float = 0.8) -> None:
    lines = text.lines(lang)
    for k, line in enumerate(lines):
        second = lang == "both" and k == 1
        pdf.set_font(FONT, size=SIZE["second"] if second and size == SIZE["body"] else size)
        pdf.set_text_color(*(GREY if second else color))
        pdf.multi_cell(0, pdf.font_size_pt * 0.43, line, align="L",
                       wrapmode=_wrap(line),
                       new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(gap)


def _is_cjk(text: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


def _heading(pdf: FPDF, number: int, title: Bi, lang: str) -> None:
    # Keep a heading with what follows it: start a new page when less than 30 mm are left.
    if pdf.get_y() > pdf.h - pdf.b_margin - 30:
        pdf.add_page()
    pdf.ln(1.2)
    pdf.set_font(FONT, size=SIZE["heading"])
    pdf.set_text_color(*BLUE)
    pdf.cell(0, 5.2, f"{number}  {title.pick(lang, ' · ')}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.25)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.2)


def _cell_text(value: str | Bi, lang: str) -> str:
    # Body labels of a bilingual brief on one line ("市北 Shibei"), wrapped only when long.
    return value.pick(lang, " ") if isinstance(value, Bi) else value


def _table(pdf: FPDF, table: Table, lang: str) -> None:
    pdf.set_font(FONT, size=SIZE["table"])
    pdf.set_text_color(*TEXT)
    pdf.set_draw_color(190, 190, 190)
    pdf.set_line_width(0.15)
    from fpdf import FontFace

    head = FontFace(family=FONT, emphasis="NONE", size_pt=SIZE["table"],
                    color=BLUE, fill_color=HEADER_FILL)  # fmt: skip
    with pdf.table(col_widths=table.widths, width=pdf.epw, line_height=3.1,
                   text_align=tuple(table.align), headings_style=head,
                   borders_layout="HORIZONTAL_LINES", padding=(0.5, 0.8),
                   wrapmode="WORD", first_row_as_headings=True) as out:  # fmt: skip
        row = out.row()
        for cell in table.header:
            row.cell(cell.pick(lang, "\n"))
        for values in table.rows:
            row = out.row()
            for value in values:
                row.cell(_cell_text(value, lang))
    pdf.ln(0.8)
    more = table.more()
    if more is not None:
        _para(pdf, more, lang, size=SIZE["small"], color=GREY, gap=0.3)


def source_line(source: Bi, lang: str) -> Bi:
    """A section's source line; a bilingual brief prints it once ("来源 Source: ...").

    Examples
    --------
    >>> source_line(Bi("来源：cube.nc · 2024-12-31", "Source: cube.nc · 2024-12-31"), "both").zh
    '来源 Source: cube.nc · 2024-12-31'
    """
    if lang != "both":
        return source
    line = "来源 " + source.en
    return Bi(line, line)


def _caution(pdf: FPDF, text: Bi, lang: str) -> None:
    """A filled, outlined box around the caution's line(s), each wrapped for its script."""
    pad, line_h = 1.4, 3.7
    pdf.set_font(FONT, size=SIZE["body"])
    lines = text.lines(lang)
    heights = [pdf.multi_cell(pdf.epw - 2 * pad, line_h, line, dry_run=True, output="HEIGHT",
                              wrapmode=_wrap(line))
               for line in lines]  # fmt: skip
    height = sum(heights) + 2 * pad
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_fill_color(*CAUTION_FILL)
    pdf.set_draw_color(*CAUTION_LINE)
    pdf.set_line_width(0.3)
    pdf.rect(pdf.l_margin, top, pdf.epw, height, style="DF")
    pdf.set_y(top + pad)
    for line in lines:
        pdf.set_x(pdf.l_margin + pad)
        pdf.set_text_color(*TEXT)
        pdf.multi_cell(pdf.epw - 2 * pad, line_h, line, align="L",
                       wrapmode=_wrap(line),
                       new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_y(top + height + 1.0)


def _section(pdf: FPDF, number: int, sec: Section, lang: str) -> None:
    _heading(pdf, number, sec.title, lang)
    for text in sec.paragraphs:
        _para(pdf, text, lang)
    for caution in sec.cautions:
        _caution(pdf, caution.text, lang)
    for text in sec.bullets:
        lines = text.lines(lang)
        for k, line in enumerate(lines):
            second = k == 1
            pdf.set_font(FONT, size=SIZE["second"] if second else SIZE["body"] - 0.3)
            pdf.set_text_color(*(GREY if second else TEXT))
            pdf.set_x(pdf.l_margin + 3)
            pdf.multi_cell(pdf.epw - 3, pdf.font_size_pt * 0.42,
                           ("" if second else "• ") + line, align="L",
                           wrapmode=_wrap(line),
                           new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        pdf.ln(0.3)
    more = sec.bullets_more()
    if more is not None:
        _para(pdf, more, lang, size=SIZE["small"], color=GREY, gap=0.3)
    for fig in sec.figures:
        if pdf.get_y() + fig.height_mm > pdf.h - pdf.b_margin:
            pdf.add_page()
        x = pdf.l_margin + (pdf.epw - fig.width_mm) / 2
        pdf.image(io.BytesIO(fig.png), x=x, w=fig.width_mm, h=fig.height_mm,
                  alt_text=fig.alt.pick(lang, " · "))
        pdf.ln(0.8)
    for table in sec.tables:
        _table(pdf, table, lang)
    for note in sec.notes:
        _para(pdf, note, lang, size=SIZE["small"], color=GREY, gap=0.2)
    if sec.source is not None:
        _para(pdf, source_line(sec.source, lang), lang, size=SIZE["small"], color=GREY, gap=0.6)


def layout_pdf(doc: Document, lang: str) -> FPDF:
    """Lay the document out (no bytes yet); ``.pages_count`` tells whether it fits."""
    pdf = _new_pdf(doc, lang)
    pdf.add_page()
    pdf.set_font(FONT, size=SIZE["title"])
    pdf.set_text_color(*TEXT)
    pdf.multi_cell(0, 6.2, doc.title.pick(lang, " · "), align="L", new_x="LMARGIN",
                   new_y="NEXT")  # fmt: skip
    _para(pdf, doc.subtitle, lang, size=SIZE["subtitle"], color=GREY, gap=0.4)
    for number, sec in enumerate(doc.sections, start=1):
        _section(pdf, number, sec, lang)
    if doc.skipped:
        pdf.ln(0.6)
        label = Bi("本次运行未包含：", "Not in this run: ")
        for k, line in enumerate(label.lines(lang)):
            zh = lang == "zh" or (lang == "both" and k == 0)
            items = "；".join(s.zh for s in doc.skipped) if zh else "; ".join(
                s.en for s in doc.skipped)  # fmt: skip
            _para(pdf, Bi(line + items, line + items), "zh", size=SIZE["small"], color=GREY,
                  gap=0.1)
    return pdf


def pdf_bytes(pdf: FPDF) -> bytes:
    """The laid-out PDF's bytes (this subsets the CJK font), then the font files fpdf2 kept
    open (fontTools reads them lazily) are closed instead of being left to the garbage
    collector (a ResourceWarning at some unrelated later moment)."""
    data = bytes(pdf.output())
    close_fonts(pdf)
    return data


def close_fonts(pdf: FPDF) -> None:
    """Close the font files fpdf2 keeps open, e.g. of a layout that is dropped unwritten."""
    for font in getattr(pdf, "fonts", {}).values():
        ttfont = getattr(font, "ttfont", None)
        if ttfont is not None:
            ttfont.close()


def render_pdf(doc: Document, lang: str) -> tuple[bytes, int]:
    """The PDF's bytes and its number of pages.

    Writing the bytes subsets the CJK font (about 3 s); :func:`layout_pdf` alone is quick.

    Examples
    --------
    >>> from predgov.viz.brief_model import Bi, Document, Section
    >>> doc = Document(Bi("简报", "Brief"), Bi("", ""), [Section("data", Bi("数据", "Data"),
    ...                [Bi("共 12 件", "12 requests")])], [], Bi("", ""), "2024-12-31")
    >>> data, pages = render_pdf(doc, "zh")
    >>> data[:5], pages
    (b'%PDF-', 1)
    """
    pdf = layout_pdf(doc, lang)
    return pdf_bytes(pdf), pdf.pages_count
