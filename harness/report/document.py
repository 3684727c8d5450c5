"""The report as a document: sections of tables, figures and text, rendered to Markdown and HTML.

Both renderers walk the same :class:`Report`, so the Markdown and the HTML carry the same content,
except the detail (per layer, per setting) that a :class:`Split` keeps to the HTML page, where the
Markdown has only its summary, so the Markdown stays small enough to review in a pull request.
Cell text is final (already rounded and marked); renderers only add presentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

import pandas as pd

Mark = Literal["", "best", "significant", "pass", "fail", "warn", "flag"]
"""A cell's emphasis: the best of its row (beyond the noise), a significant difference, a check that
passed or failed, a warning, a flag."""


@dataclass(frozen=True)
class Table:
    """A table of text cells in display order.

    ``marks`` and ``sort_keys`` have the shape of ``frame``: each cell's emphasis, and the number
    behind its text (NaN where none) for sorting in the HTML. ``sort`` says what a reader may sort:
    the rows by a column (``rows``), or, for a table with one column per job, the columns by a row
    (``columns``: each row then needs an id and whether higher or lower is better).
    """

    kind: ClassVar[str] = "table"
    frame: pd.DataFrame
    align: tuple[Literal["left", "right"], ...]
    marks: pd.DataFrame | None = None
    sort_keys: pd.DataFrame | None = None
    footer: tuple[str, ...] | None = None
    sort: Literal["rows", "columns", "none"] = "rows"
    row_ids: tuple[str, ...] = ()
    row_better: tuple[str, ...] = ()
    id: str = ""
    title: str = ""
    """What the table shows, in a few words: the label of its fold when it is too wide to show open."""

    def mark(self, row: int, column: int) -> Mark:
        return "" if self.marks is None else self.marks.iat[row, column]

    def sort_key(self, row: int, column: int) -> float | None:
        if self.sort_keys is None:
            return None
        value = self.sort_keys.iat[row, column]
        return None if pd.isna(value) else float(value)


@dataclass(frozen=True)
class Figure:
    """An SVG chart written next to the report: ``file`` is its name, ``svg`` its text."""

    kind: ClassVar[str] = "figure"
    file: str
    caption: str
    svg: str


@dataclass(frozen=True)
class Text:
    kind: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True)
class Bullets:
    kind: ClassVar[str] = "bullets"
    items: tuple[str, ...]


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    kind: ClassVar[str] = "heading"
    text: str


@dataclass(frozen=True)
class Details:
    """Blocks folded away under a one-line ``summary`` (``<details>`` in both Markdown and HTML)."""

    kind: ClassVar[str] = "details"
    summary: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Split:
    """The same content at two depths: ``markdown``, a summary whose size does not grow with the
    network's layers, for report.md; ``html``, the full detail (with the summary where it helps), for report.html."""

    kind: ClassVar[str] = "split"
    markdown: tuple[Block, ...]
    html: tuple[Block, ...]


Block = Table | Figure | Text | Bullets | Heading | Details | Split


def capped(table: Table, rows: int) -> Table | Split:
    """``table`` itself when it has at most ``rows`` rows; else its first ``rows`` in report.md, with a
    line saying how many more report.html holds, and the whole table in report.html."""
    if len(table.frame) <= rows:
        return table
    first = replace(
        table, frame=table.frame.head(rows),
        marks=None if table.marks is None else table.marks.head(rows),
        sort_keys=None if table.sort_keys is None else table.sort_keys.head(rows),
        row_ids=table.row_ids[:rows], row_better=table.row_better[:rows])
    more = Text(f"The first {rows} of {len(table.frame)} rows; all of them are in report.html.")
    return Split((more, first), (table,))


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Banner:
    """A warning at the very top: what makes this run differ from what its specs ask for."""

    label: str
    text: str


@dataclass(frozen=True)
class Report:
    title: str
    banners: tuple[Banner, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)
