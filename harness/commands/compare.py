"""``harness compare``: what changed between two runs, and whether any change is a regression."""

from __future__ import annotations

from pathlib import Path

import rich_click as click
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from harness.commands.common import console, err_console
from harness.commands.options import FiniteFloat
from harness.report import ResultsError, load_results, results_file
from harness.report.compare import (
    DEFAULT_FACTOR, IMPROVEMENT, INSUFFICIENT, NOISY, P_THRESHOLD, REGRESSION, WITHIN_NOISE, changes_frame, compare_runs,
    regressions, spec_changes, unrelated, warnings,
)
from harness.report.comment import COMMENT_LIMIT, render_comment
from harness.report.verdict import CORRECTNESS, checks, failed

STYLES = {REGRESSION: "bold red", IMPROVEMENT: "green", WITHIN_NOISE: "yellow", NOISY: "yellow"}


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--factor", type=FiniteFloat(min=1.0, min_open=True), default=DEFAULT_FACTOR, show_default=True,
              help="How much worse (new/old, or old/new for accuracy) a change must be to count.")
@click.option("--markdown", "as_markdown", is_flag=True,
              help="Print one pull-request comment (GitHub-flavoured Markdown): the verdict on its first line.")
@click.option("--max-chars", type=click.IntRange(min=1000, max=COMMENT_LIMIT - 1), default=COMMENT_LIMIT - 1,
              show_default=True, help="With --markdown: the comment's limit in UTF-8 bytes (GitHub refuses 65,536 characters).")
def compare(old: Path, new: Path, factor: float, as_markdown: bool, max_chars: int) -> None:
    """Compare two runs (results.json files or report directories), per network and framework.

    A change is a **regression** only when it is large (at least `--factor`) and significant (a
    Mann-Whitney U test over independent samples, p < 0.002, as asv does: step-time rounds of every
    seed, one value per seed for accuracy and memory); `~` marks a large change within the noise, and
    `~ (noisy)` one in jobs timed on a busy machine. Each ratio has a 95% bootstrap confidence
    interval. Warns when the runs' settings, specs, CPUs or noise differ. Exits 1 on a correctness
    break in NEW that OLD did not have (a parameter count that disagrees with the oracle, a failed
    parity or training-parity pair), a regression, or a (network, framework) of OLD missing from NEW;
    2 when a file cannot be read or the runs have no (network, framework) in common.
    """
    try:
        old_run, new_run = load_results(old), load_results(new)
    except ResultsError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from exc
    problem = unrelated(old_run, new_run)
    if problem:
        err_console.print(f"error: comparing {results_file(old)} with {results_file(new)}: {problem} Fix: compare two "
                          "runs of the same specs and frameworks.", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2)
    changes = compare_runs(old_run, new_run, factor)
    notes = spec_changes(old_run, new_run) + warnings(old_run, new_run)
    for warning in notes:
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    found = regressions(changes)
    verdict = checks(old_run, new_run, changes)
    rule = f"factor {factor:g}, Mann-Whitney U significance threshold p = {P_THRESHOLD:g}"
    if as_markdown:
        click.echo(render_comment(str(results_file(old)), str(results_file(new)), verdict, changes, notes,
                                  f"a change counts when it is large ({rule})", max_chars), nl=False)
        raise SystemExit(1 if failed(verdict) else 0)
    summary = (f"{len(found)} regression(s)" if found else "no regression") + f" ({rule})" + "".join(
        f"; {c.network} · {c.framework} {c.metric}: {c.old} → {c.new}" for c in found)
    broken = [f"{check.name}: {text}" for check in failed(verdict) if check.name in CORRECTNESS for text in check.failures]
    frame = changes_frame(changes)
    table = Table(title=f"{results_file(old)} -> {results_file(new)}", title_justify="left", box=box.SIMPLE_HEAD)
    for column in frame.columns:
        table.add_column(column, justify="right" if column in ("old", "new", "new/old", "95% CI", "p") else "left",
                         no_wrap=True)
    for row in frame.itertuples(index=False):
        style = STYLES.get(row.verdict, "dim" if row.verdict.startswith(INSUFFICIENT) else "")
        table.add_row(*(Text(cell) for cell in row), style=style)
    natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
    Console(width=max(console.width, natural), highlight=False).print(table)
    for line in broken:
        console.print(f"correctness break: {line}", style="bold red", markup=False, soft_wrap=True)
    console.print(summary, style="bold red" if found else "green", markup=False, soft_wrap=True)
    raise SystemExit(1 if failed(verdict) else 0)
