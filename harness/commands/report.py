"""``harness report``: (re)generate a run's Markdown and HTML report from its results file."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from harness.commands.common import err_console
from harness.outdir import OutputError
from harness.report import ResultsError, write_report


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the report to (default: the results file's directory).")
def report(results: Path, out: Path | None) -> None:
    """Write `report.md`, `report.html` and the SVG charts for RESULTS (a results.json or its directory).

    Nothing is re-run: the same results always give byte-identical files.
    """
    try:
        written = write_report(results, out)
    except (ResultsError, OutputError) as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from exc
    except OSError as exc:
        err_console.print(f"error: the report could not be written to {out or results}: {exc.strerror or exc} "
                          f"({exc.filename or ''}). Fix: choose a writable folder with --out.",
                          markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from exc
    for path in written:
        click.echo(str(path))
