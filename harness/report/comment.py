"""A comparison of two runs as ONE pull-request comment (GitHub-flavoured Markdown).

The first line is the verdict; then one row per check (correctness, then jobs and accuracy, then
speed), one line per change that matters (regressions, improvements, changed counts and statuses,
jobs in one run only), the warnings, and every compared metric folded in ``<details>``. The comment
never reaches ``max_chars`` (GitHub refuses a comment of 65,536 characters or more; the comment is
measured in UTF-8 bytes, which are never fewer than its characters however they are counted): what does not
fit is left out from the end of each list, in its fixed order, with a note saying how much and how
to see all of it, so the same files always give the same comment.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harness.report import compare
from harness.report.compare import Change
from harness.report.markdown import escape
from harness.report.verdict import CORRECTNESS, FAIL, KNOWN, NOT_RUN, ONLY_IN_OLD, PASS, Check, change_text, failed

COMMENT_LIMIT = 65_536
"""GitHub's limit on a comment's body, in characters; a comment must stay below it."""
NOTE_ROOM = 400
"""Bytes kept free for each note on what was left out."""
ICONS = {PASS: "✅", FAIL: "❌", KNOWN: "⚠️", NOT_RUN: "➖"}
MATTERS = (compare.REGRESSION, compare.IMPROVEMENT, compare.CHANGED, ONLY_IN_OLD, "only in NEW")
FAILURES_SHOWN = 5
"""Failures named per check in the verdict table; the rest are counted (and, for correctness, listed below)."""


def verdict_line(found: Sequence[Check]) -> str:
    """The comment's first line: FAIL with the failing checks in reading order, or PASS."""
    broken = failed(found)
    if broken:
        return f"### {ICONS[FAIL]} FAIL: " + "; ".join(f"{check.name}: {check.headline}" for check in broken)
    known = [check.name for check in found if check.outcome == KNOWN]
    return (f"### {ICONS[PASS]} PASS: no new correctness break and no significant regression"
            + (f" (known breaks, as in OLD: {', '.join(known)})" if known else ""))


def _check_row(check: Check) -> str:
    named = [escape(text) for text in check.failures[:FAILURES_SHOWN]]
    more = len(check.failures) - len(named)
    more_text = f"; {more} more below" if more and check.name in CORRECTNESS else f"; {more} more" if more else ""
    detail = escape(check.summary) + (": " + "; ".join(named) if named else "") + more_text
    return f"| {ICONS[check.outcome]} | {check.name} | {detail} |"


def _change_bullet(change: Change) -> str:
    icon = {compare.REGRESSION: "❌", ONLY_IN_OLD: "❌", compare.IMPROVEMENT: "🟢"}.get(change.verdict, "•")
    return escape(f"{icon} {change.verdict}: {change_text(change)}")


def size(text: str) -> int:
    """The length the limit is checked against: UTF-8 bytes (at least the characters, in any count)."""
    return len(text.encode("utf-8"))


def _fit(lines: Sequence[str], budget: int) -> tuple[list[str], int]:
    """The leading ``lines`` whose text (one newline each) fits in ``budget`` characters, and how many were left out."""
    kept, used = [], 0
    for line in lines:
        if used + size(line) + 1 > budget:
            break
        kept.append(line)
        used += size(line) + 1
    return kept, len(lines) - len(kept)


def _left_out(count: int, what: str, limit: int) -> list[str]:
    if not count:
        return []
    return [f"*{count:,} more {what} left out to stay under the comment's limit of {limit:,} bytes (GitHub's: "
            f"{COMMENT_LIMIT:,} characters); `harness compare OLD NEW` lists them all.*"]


def _table_lines(frame: pd.DataFrame) -> list[str]:
    return frame.map(escape).to_markdown(index=False, tablefmt="pipe", disable_numparse=True,
                                         colalign=("left",) * 4 + ("right",) * 5).splitlines()


def render_comment(old_name: str, new_name: str, found: Sequence[Check], changes: Sequence[Change],
                   notes: Sequence[str], rule: str, max_chars: int = COMMENT_LIMIT - 1) -> str:
    """The comment: verdict, checks, changes that matter, warnings, every metric folded; under ``max_chars``."""
    head = [verdict_line(found), "",
            escape(f"Comparing `{old_name}` (OLD, the base) with `{new_name}` (NEW); {rule}."), "",
            "| | check | result |", "|:-|:-|:-|", *(_check_row(check) for check in found), ""]
    matters = [change for change in changes if change.verdict in MATTERS]
    bullets = [f"- {_change_bullet(change)}" for change in matters]
    breaks = [f"- {check.name}: {escape(text)}" for check in found if check.name in CORRECTNESS
              and len(check.failures) > FAILURES_SHOWN for text in check.failures]
    warnings = [f"- {escape(text)}" for text in notes]
    table = _table_lines(compare.changes_frame(list(changes)))
    fixed = "\n".join(head) + "\n"
    budget = max_chars - size(fixed) - 4 * NOTE_ROOM - 200
    out = [*head]
    for title, lines in ((f"**Every correctness break** ({len(breaks)})", breaks),
                         (f"**Changes that matter** ({len(matters)})", bullets),
                         (f"**Warnings** ({len(warnings)})", warnings)):
        if not lines:
            continue
        kept, dropped = _fit(lines, budget - size(title) - 2)
        out += [title, "", *kept, *_left_out(dropped, "lines", max_chars), ""]
        budget -= sum(size(line) + 1 for line in kept) + size(title) + 2
    summary = f"<details><summary>Every compared metric ({len(table) - 2} rows)</summary>"
    rows, dropped = _fit(table[2:], budget - size(summary) - size(table[0]) - size(table[1]) - 20)
    out += [summary, "", table[0], table[1], *rows, "", *_left_out(dropped, "table rows", max_chars), "</details>"]
    text = "\n".join(out) + "\n"
    if size(text) > max_chars:  # only when max_chars is too small even for the verdict and the checks
        note = "\n… (cut at the comment limit)\n"
        text = text.encode("utf-8")[: max(0, max_chars - size(note))].decode("utf-8", errors="ignore") + note
    return text
