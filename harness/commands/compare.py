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
from harness.report.markdown import escape

STYLES = {REGRESSION: "bold red", IMPROVEMENT: "green", WITHIN_NOISE: "yellow", NOISY: "yellow"}


@click.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--factor", type=FiniteFloat(min=1.0, min_open=True), default=DEFAULT_FACTOR, show_default=True,
              help="How much worse (new/old, or old/new for accuracy) a change must be to count.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print a GitHub-flavoured Markdown table.")
def compare(old: Path, new: Path, factor: float, as_markdown: bool) -> None:
    """Compare two runs (results.json files or report directories), per network and framework.

    A change is a **regression** only when it is large (at least `--factor`) and significant (a
    Mann-Whitney U test over independent samples, p < 0.002, as asv does: step-time rounds of every
    seed, one value per seed for accuracy and memory); `~` marks a large change within the noise, and
    `~ (noisy)` one in jobs timed on a busy machine. Each ratio has a 95% bootstrap confidence
    interval. Warns when the runs' settings, specs, CPUs or noise differ. Exits 1 when there is a
    regression, 2 when a file cannot be read or the runs have no (network, framework) in common.
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
    for warning in spec_changes(old_run, new_run):
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    changes = compare_runs(old_run, new_run, factor)
    for warning in warnings(old_run, new_run):
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    frame = changes_frame(changes)
    found = regressions(changes)
    summary = (f"{len(found)} regression(s)" if found else "no regression") + (
        f" (factor {factor:g}, Mann-Whitney U significance threshold p = {P_THRESHOLD:g})") + "".join(
        f"; {c.network} · {c.framework} {c.metric}: {c.old} → {c.new}" for c in found)
    if as_markdown:
        click.echo(f"Comparing `{results_file(old)}` (old) with `{results_file(new)}` (new): {escape(summary)}.\n")
        click.echo(frame.map(escape).to_markdown(index=False, tablefmt="pipe", disable_numparse=True,
                                                 colalign=("left",) * 4 + ("right",) * 5))
    else:
        table = Table(title=f"{results_file(old)} -> {results_file(new)}", title_justify="left", box=box.SIMPLE_HEAD)
        for column in frame.columns:
            table.add_column(column, justify="right" if column in ("old", "new", "new/old", "95% CI", "p") else "left",
                             no_wrap=True)
        for row in frame.itertuples(index=False):
            style = STYLES.get(row.verdict, "dim" if row.verdict.startswith(INSUFFICIENT) else "")
            table.add_row(*(Text(cell) for cell in row), style=style)
        natural = Measurement.get(console, console.options.update(width=10_000), table).maximum
        Console(width=max(console.width, natural), highlight=False).print(table)
        console.print(summary, style="bold red" if found else "green", markup=False, soft_wrap=True)
    raise SystemExit(1 if found else 0)
