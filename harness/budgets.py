"""The size budgets of a report's committed text, from GitHub's documented limits on what a pull
request shows: a file's diff (500 KB, 20,000 lines), a whole pull request's diff (1 MB, 20,000 lines)
and a Markdown preview (well under 2 MB; 100 KB here, so report.md always previews).

The committed text of a report folder is its Markdown and JSON: ``report.md``, ``results.json`` and
``jobs/*.json``. The HTML page, the SVG charts and the gzip side files (``samples.json.gz``,
``details.json.gz``) are not counted: they are what the detail moves to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FILE_BYTES = 500_000
FILE_LINES = 5_000
TOTAL_BYTES = 1_000_000
TOTAL_LINES = 20_000
MARKDOWN_BYTES = 100_000
TEXT_PATTERNS = ("*.md", "*.json", "jobs/*.json")


@dataclass(frozen=True)
class TextFile:
    path: Path
    bytes: int
    lines: int


def committed_text(directory: Path) -> list[TextFile]:
    """The Markdown and JSON files of a report folder, with their sizes."""
    files = sorted({path for pattern in TEXT_PATTERNS for path in Path(directory).glob(pattern) if path.is_file()})
    return [TextFile(path, len(data := path.read_bytes()), data.count(b"\n")) for path in files]


def over_budget(directory: Path) -> list[str]:
    """Every budget the report folder's committed text exceeds, in words; empty when it meets them all."""
    files = committed_text(directory)
    problems = [f"{file.path.name}: {file.bytes:,} bytes, over {FILE_BYTES:,}" for file in files if file.bytes > FILE_BYTES]
    problems += [f"{file.path.name}: {file.lines:,} lines, over {FILE_LINES:,}" for file in files if file.lines > FILE_LINES]
    problems += [f"{file.path.name}: {file.bytes:,} bytes, over the Markdown's {MARKDOWN_BYTES:,}"
                 for file in files if file.path.suffix == ".md" and file.bytes > MARKDOWN_BYTES]
    total_bytes, total_lines = sum(file.bytes for file in files), sum(file.lines for file in files)
    if total_bytes > TOTAL_BYTES:
        problems.append(f"together {total_bytes:,} bytes, over {TOTAL_BYTES:,}")
    if total_lines > TOTAL_LINES:
        problems.append(f"together {total_lines:,} lines, over {TOTAL_LINES:,}")
    return problems
