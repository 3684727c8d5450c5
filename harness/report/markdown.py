"""The report as GitHub-flavoured Markdown: pipe tables (pandas + tabulate), images by relative path."""

from __future__ import annotations

import re

from harness.report.document import Report, Table
from harness.report.jinja import environment

SPECIAL = re.compile(r"([\\*|])")


def escape(text: str) -> str:
    """``text`` on one line, as literal Markdown except for `code` spans; HTML disarmed."""
    text = " ".join(str(text).split())
    return SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")


def table(block: Table) -> str:
    """A pipe table; the best cell of a row in bold, the footer as a bold last row."""
    frame = block.frame.map(escape)
    for row in range(len(frame)):
        for column in range(frame.shape[1]):
            if block.mark(row, column) == "best":
                frame.iat[row, column] = f"**{frame.iat[row, column]}**"
    frame.columns = [escape(column) for column in frame.columns]
    if block.footer is not None:
        frame.loc[len(frame)] = [f"**{escape(cell)}**" if cell else "" for cell in block.footer]
    return frame.to_markdown(index=False, tablefmt="pipe", colalign=block.align, disable_numparse=True)


def render_markdown(report: Report) -> str:
    """The Markdown text of ``report``."""
    template = environment().get_template("report.md.j2")
    return template.render(report=report, table=table, escape=escape)
