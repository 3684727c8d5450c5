"""``harness report``: (re)generate a run's Markdown and HTML report from its results file, or list
the committed reports that are stale (``--stale``)."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from harness.commands.common import err_console
from harness.outdir import OutputError
from harness.report import ResultsError, write_report


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the report to (default: the results file's directory).")
@click.option("--stale", is_flag=True,
              help="Write nothing: list the reports among RESULTS whose producing code has changed since they were made.")
@click.option("--since", metavar="REVISION",
              help="With --stale: changed since this git revision (e.g. a pull request's base) instead of each report's commit.")
def report(results: tuple[Path, ...], out: Path | None, stale: bool, since: str | None) -> None:
    """Write `report.md`, `report.html` and the SVG charts for RESULTS (a results.json or its directory).

    Nothing is re-run: the same results always give byte-identical files.

    With `--stale` (several RESULTS allowed, e.g. `reports/*`): one line per report, the commit it was
    made at and the files changed since that can alter its results (everything under harness/ and
    plugins/, the pyproject files and the report's specs; not docs, tests, nor the code that only
    renders or compares finished results). Exits 1 when a report is stale, 0 when none is.
    """
    if stale:
        if out is not None:
            _fail("--stale writes nothing, so --out does not go with it. Fix: leave --out out.")
        _list_stale(results, since)
        return
    if since:
        _fail("--since only goes with --stale. Fix: add --stale, or leave --since out.")
    if len(results) != 1:
        _fail(f"harness report writes one report at a time, and was given {len(results)}. Fix: pass one results "
              "file or report folder (several only with --stale).")
    try:
        written = write_report(results[0], out)
    except (ResultsError, OutputError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"the report could not be written to {out or results[0]}: {exc.strerror or exc} ({exc.filename or ''}). "
              "Fix: choose a writable folder with --out.")
    for path in written:
        click.echo(str(path))


def _fail(message: str) -> None:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise SystemExit(2)


def _list_stale(paths: tuple[Path, ...], since: str | None) -> None:
    from harness.report import load_results, results_file
    from harness.report.stale import StaleError, staleness

    found, skipped = [], []
    for path in paths:
        if not results_file(path).is_file() or results_file(path).suffix != ".json":
            skipped.append(str(path))  # reports/* also matches the README and scripts beside the reports
            continue
        try:
            found.append(staleness(results_file(path).parent, load_results(path), since))
        except (ResultsError, StaleError) as exc:
            _fail(str(exc))
    if skipped:
        err_console.print(f"skipped (no results.json): {', '.join(skipped)}", markup=False, highlight=False, soft_wrap=True)
    for entry in found:
        click.echo(entry.describe(since))
    raise SystemExit(1 if any(entry.stale for entry in found) else 0)
