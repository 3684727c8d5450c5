"""The report as one self-contained HTML file: styles, script and SVG charts inline, nothing fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from harness.report.document import Report, Table
from harness.report.jinja import environment

XML_PROLOGUE = re.compile(r"\A\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?")
CODE_SPAN = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Cell:
    """One HTML table cell: its text, classes, number to sort by, and whether it heads its row."""

    text: str
    classes: str = ""
    sort: str | None = None
    row_header: bool = False


@dataclass(frozen=True)
class HtmlTable:
    id: str
    sort: str
    head: list[Cell]
    rows: list[tuple[str, str, list[Cell]]]
    """Each row: its id, whether higher or lower values are better ("" when neither), its cells."""
    foot: list[Cell] | None


def html_table(table: Table) -> HtmlTable:
    """The cells of ``table`` with their classes and sort keys."""
    numeric = ["num" if side == "right" else "" for side in table.align]
    head = [Cell(str(column), numeric[i]) for i, column in enumerate(table.frame.columns)]
    rows = []
    for r in range(len(table.frame)):
        cells = []
        for c in range(table.frame.shape[1]):
            key = table.sort_key(r, c)
            classes = " ".join(filter(None, (numeric[c], table.mark(r, c))))
            cells.append(Cell(str(table.frame.iat[r, c]), classes, None if key is None else f"{key:.17g}",
                              row_header=table.sort == "columns" and c == 0))
        row_id = table.row_ids[r] if table.row_ids else ""
        better = table.row_better[r] if table.row_better else ""
        rows.append((row_id, better, cells))
    foot = None if table.footer is None else [Cell(text, numeric[i]) for i, text in enumerate(table.footer)]
    return HtmlTable(table.id, table.sort, head, rows, foot)


def inline_svg(text: str) -> Markup:
    """An SVG file's text without its XML prologue, to be placed inside the HTML."""
    return Markup(XML_PROLOGUE.sub("", text))


def prose(text: str) -> Markup:
    """Escaped text with its `code` spans as ``<code>`` elements (as the Markdown shows them)."""
    return Markup(CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


def _asset(name: str) -> Markup:
    env = environment()
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    return Markup(source)


def render_html(report: Report) -> str:
    """The HTML text of ``report``."""
    template = environment().get_template("report.html.j2")
    return template.render(report=report, html_table=html_table, inline_svg=inline_svg, prose=prose,
                           css=_asset("report.css"), script=_asset("report.js"))
