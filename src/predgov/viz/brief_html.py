"""Lay a :class:`~predgov.viz.brief_model.Document` out as one self-contained HTML file.

Everything is inside the file: the style sheet inline, figures as ``data:image/png;base64``
URIs, the glyphs of the text as an embedded font subset (Noto Sans CJK SC, as in the PDF, so
Chinese shows on machines without a Chinese font), no script, no link to anything outside (so
it opens offline and can be mailed as is).
Text comes from the same document as the PDF, so both hold the same words and numbers. Every
text from the run directory is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from pathlib import Path

from predgov.viz.brief_model import Bi, Document, Section, Table
from predgov.viz.brief_pdf import source_line
from predgov.viz.fonts import cjk_font_path

#: Family name of the embedded font subset (the PDF's Noto Sans CJK SC, only the glyphs used).
FONT_FAMILY = "predgov Noto Sans CJK SC"

_CSS = """
body{font-family:"predgov Noto Sans CJK SC","Noto Sans CJK SC","Source Han Sans SC",
"PingFang SC","Microsoft YaHei",sans-serif;max-width:52rem;margin:1.5rem auto;
padding:0 1rem;color:#191919;font-size:15px;line-height:1.45}
h1{font-size:1.45rem;font-weight:normal;margin:0 0 .2rem}
h2{font-size:1.1rem;font-weight:normal;color:#0072B2;border-bottom:1px solid #0072B2;
margin:1.2rem 0 .4rem}
p{margin:.25rem 0}
.en{color:#6E6E6E;font-size:.92em}
.sub,.src,.note,.skipped,footer{color:#6E6E6E;font-size:.8rem}
.caution{background:#FDECDE;border:1px solid #D55E00;padding:.4rem .6rem;margin:.4rem 0}
table{border-collapse:collapse;width:100%;font-size:.82rem;margin:.4rem 0}
th{background:#E8F0F8;color:#0072B2;font-weight:normal;text-align:left;padding:.2rem .3rem}
td{border-top:1px solid #ccc;padding:.15rem .3rem;vertical-align:top}
td.r,th.r{text-align:right}
figure{margin:.4rem 0}
figure img{max-width:100%;height:auto}
ul{margin:.2rem 0;padding-left:1.2rem}
"""


def _text(value: Bi | str, lang: str, tag: str = "p", cls: str = "") -> str:
    """Paragraph(s): one per language; the English of a bilingual brief in grey."""
    klass = f' class="{cls}"' if cls else ""
    if isinstance(value, str):
        return f"<{tag}{klass}>{html.escape(value)}</{tag}>"
    out = []
    for k, line in enumerate(value.lines(lang)):
        extra = " en" if lang == "both" and k == 1 else ""
        klass = f' class="{(cls + extra).strip()}"' if cls or extra else ""
        attr = ' lang="en"' if (lang == "en" or extra) else ""
        out.append(f"<{tag}{klass}{attr}>{html.escape(line)}</{tag}>")
    return "".join(out)


def _cell(value: Bi | str, lang: str, head: bool = False) -> str:
    if isinstance(value, Bi):
        if head and lang == "both":
            return "<br>".join(html.escape(x) for x in value.lines(lang))
        return html.escape(value.pick(lang, " "))
    return html.escape(value)


def _table(table: Table, lang: str) -> str:
    cls = ['class="r"' if a == "R" else "" for a in table.align]
    head = "".join(f"<th {c}>{_cell(h, lang, head=True)}</th>" for c, h in zip(cls, table.header,
                                                                    strict=True))
    rows = "".join(
        "<tr>" + "".join(f"<td {c}>{_cell(v, lang)}</td>" for c, v in zip(cls, row, strict=True))
        + "</tr>" for row in table.rows
    )  # fmt: skip
    line = table.more()
    more = _text(line, lang, cls="note") if line is not None else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"


def _section(number: int, sec: Section, lang: str) -> str:
    parts = [f'<section id="{html.escape(sec.key)}">',
             f"<h2>{number}&nbsp; {html.escape(sec.title.pick(lang, ' · '))}</h2>"]
    parts += [_text(p, lang) for p in sec.paragraphs]
    parts += [f'<div class="caution">{_text(c.text, lang)}</div>' for c in sec.cautions]
    if sec.bullets:
        parts.append("<ul>" + "".join(f"<li>{_text(b, lang, tag='div')}</li>"
                                      for b in sec.bullets) + "</ul>")  # fmt: skip
        if sec.bullets_more() is not None:
            parts.append(_text(sec.bullets_more(), lang, cls="note"))
    for fig in sec.figures:
        data = base64.b64encode(fig.png).decode("ascii")
        alt = html.escape(fig.alt.pick(lang, " · "), quote=True)
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{alt}" '
                     f'style="width:{fig.width_mm / 186:.0%}"></figure>')
    parts += [_table(t, lang) for t in sec.tables]
    parts += [_text(n, lang, cls="note") for n in sec.notes]
    if sec.source is not None:
        parts.append(_text(source_line(sec.source, lang), lang, cls="src"))
    parts.append("</section>")
    return "\n".join(parts)


def font_face(text: str) -> str:
    """A CSS ``@font-face`` holding the Noto Sans CJK SC glyphs of ``text`` as a data URI.

    The reader's machine need not have a Chinese font: the page carries the glyphs it uses
    (a few hundred, some 100-200 kB), subset with fontTools from the same font file as the PDF.

    Examples
    --------
    >>> css = font_face("供热 Heating")
    >>> css.startswith('@font-face{font-family:"predgov Noto Sans CJK SC";src:url(data:font/otf')
    True
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.recalc_timestamp = False  # the same text gives the same bytes
    options.recalc_bounds = False
    options.name_IDs = [1, 2]  # family and style names only
    options.layout_features = []  # no ligatures or vertical forms needed for this text
    options.hinting = False  # screens and printers hint CJK outlines well themselves
    options.drop_tables += ["GPOS", "GSUB", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    # lazy: read only the glyphs kept (half the time of a full load).
    buf = io.BytesIO()
    with TTFont(os.fspath(cjk_font_path()), recalcTimestamp=False, recalcBBoxes=False,
                lazy=True) as font:  # closed here, not by the garbage collector
        subsetter = subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(set(text))))
        subsetter.subset(font)
        font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face{{font-family:"{FONT_FAMILY}";src:url(data:font/otf;base64,{data}) '
            'format("opentype");}')


def render_html(doc: Document, lang: str, embed_font: bool = True) -> str:
    """The brief as one HTML page (``embed_font``: carry the glyphs it uses, see
    :func:`font_face`).

    Examples
    --------
    >>> from predgov.viz.brief_model import Bi, Document, Section
    >>> doc = Document(Bi("简报", "Brief"), Bi("", ""), [Section("data", Bi("数据", "Data"),
    ...                [Bi("共 <5 件", "<5 requests")])], [], Bi("", ""), "2024-12-31")
    >>> page = render_html(doc, "zh", embed_font=False)
    >>> "<h1>简报</h1>" in page, "共 &lt;5 件" in page, "http" in page
    (True, True, False)
    """
    html_lang = "en" if lang == "en" else "zh-CN"
    body = [f"<h1>{html.escape(doc.title.pick(lang, ' · '))}</h1>",
            _text(doc.subtitle, lang, cls="sub")]
    body += [_section(n, s, lang) for n, s in enumerate(doc.sections, start=1)]
    if doc.skipped:
        label = Bi("本次运行未包含：", "Not in this run: ")
        for k, line in enumerate(label.lines(lang)):
            zh = lang == "zh" or (lang == "both" and k == 0)
            items = "；".join(s.zh for s in doc.skipped) if zh else "; ".join(
                s.en for s in doc.skipped)  # fmt: skip
            body.append(f'<p class="skipped">{html.escape(line + items)}</p>')
    body.append(f"<footer>{html.escape(doc.footer.pick(lang, ' · '))}</footer>")
    title = html.escape(doc.title.pick(lang, " · "))
    text = html.unescape(re.sub(r"<[^>]*>", "", "\n".join(body)))
    style = font_face(text + title) + _CSS if embed_font else _CSS
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{style}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")  # fmt: skip


def write_html(doc: Document, lang: str, path: str | os.PathLike[str]) -> Path:
    """Write the HTML page to ``path`` (UTF-8)."""
    target = Path(path)
    target.write_text(render_html(doc, lang), encoding="utf-8")
    return target
