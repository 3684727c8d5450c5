"""The report as GitHub-flavoured Markdown: pipe tables (pandas + tabulate), images by relative path.

Fit for review in a pull request: prose is wrapped, and outside ``<details>`` no line is longer
than :data:`MAX_LINE`; a table wider than that is folded into a ``<details>`` block of its own.
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import pandas as pd

from harness.report.document import Block, Report, Table
from harness.report.jinja import environment

SPECIAL = re.compile(r"([\\*|])")
BLOCK_START = re.compile(r"^(\s*)(?=([-+#]|\d+[.)])(\s|$))(\d*)(.)")
"""A wrapped line that would start a list or a heading: its marker gets a backslash."""
MAX_LINE = 160
"""The longest Markdown line allowed outside a ``<details>`` block."""
WRAP = 100
"""Prose is wrapped at this width."""


def escape(text: str) -> str:
    """``text`` on one line, as literal Markdown except for `code` spans; HTML disarmed."""
    text = " ".join(str(text).split())
    return SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")


def wrap(text: str, first: str = "", rest: str = "") -> str:
    """Escaped ``text`` wrapped at :data:`WRAP` columns, the first line after ``first``, the others after
    ``rest``; a wrapped line that would start a list or a heading is escaped so it stays prose."""
    lines = textwrap.wrap(escape(text), width=WRAP, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False)
    tail = [rest + BLOCK_START.sub(r"\1\4\\\5", line[len(rest):]) for line in lines[1:]]
    return "\n".join(lines[:1] + tail)


def table(block: Table) -> str:
    """A pipe table; marked cells in bold, the footer as a bold last row; unpadded when too wide to read
    as source (it is folded then)."""
    frame = block.frame.map(escape)
    for row in range(len(frame)):
        for column in range(frame.shape[1]):
            if block.mark(row, column) in ("best", "significant"):
                frame.iat[row, column] = f"**{frame.iat[row, column]}**"
    frame.columns = [escape(column) for column in frame.columns]
    if block.footer is not None:
        frame.loc[len(frame)] = [f"**{escape(cell)}**" if cell else "" for cell in block.footer]
    text = frame.to_markdown(index=False, tablefmt="pipe", colalign=block.align, disable_numparse=True)
    if max(len(line) for line in text.splitlines()) <= MAX_LINE:
        return text
    return _unpadded(frame, block.align)


def _unpadded(frame: pd.DataFrame, align: tuple[str, ...]) -> str:
    """A pipe table without padding: for a table too wide to read as source (it is folded), columns
    padded to the widest cell only multiply its size."""
    rule = ["---:" if side == "right" else ":---" for side in align]
    lines = [list(map(str, frame.columns)), rule, *(list(map(str, row)) for row in frame.itertuples(index=False))]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _fold(summary: str, body: str) -> str:
    """``body`` in a ``<details>`` block; its one-line ``summary`` is HTML, so it is escaped as HTML."""
    return f"<details><summary>{html.escape(' '.join(summary.split()), quote=False)}</summary>\n\n{body}\n\n</details>"


def blocks(items: tuple[Block, ...], folded: bool = False) -> str:
    """The Markdown of ``items``, separated by blank lines; ``folded`` inside a ``<details>`` block."""
    parts = []
    for block in items:
        if block.kind == "table":
            text = table(block)
            too_wide = max(len(line) for line in text.splitlines()) > MAX_LINE
            parts.append(_fold(f"{block.title or 'Table'} (wide: open to read)", text) if too_wide and not folded else text)
        elif block.kind == "details":
            parts.append(_fold(block.summary, blocks(block.blocks, folded=True)))
        elif block.kind == "split":
            parts.append(blocks(block.markdown, folded))
        elif block.kind == "figure":
            parts.append(f"![{escape(Path(block.file).stem)}]({block.file})\n\n{wrap(block.caption)}")
        elif block.kind == "heading":
            parts.append(f"### {escape(block.text)}")
        elif block.kind == "bullets":
            parts.append("\n".join(wrap(item, "- ", "  ") for item in block.items))
        else:
            parts.append(wrap(block.text))
    return "\n\n".join(parts)


def render_markdown(report: Report) -> str:
    """The Markdown text of ``report``."""
    template = environment().get_template("report.md.j2")
    return template.render(report=report, blocks=blocks, escape=escape, wrap=wrap)
