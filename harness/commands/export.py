"""``harness export``: a run's results in another tool's format."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from harness.commands.common import console, fail
from harness.report import ResultsError, load_results, results_file
from harness.results import write_json_atomic


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["pytest-benchmark"]), default="pytest-benchmark",
              show_default=True, help="The format to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
def export(results: Path, output_format: str, output: Path) -> None:
    """Write the run in RESULTS (a results.json or a report directory) in another tool's format.

    `pytest-benchmark`: one benchmark per job with its step-time rounds as data, readable by
    `pytest-benchmark compare OUTPUT` and by github-action-benchmark (tool `pytest`).
    """
    from harness.export import pytest_benchmark_json

    try:
        run = load_results(results)
    except ResultsError as exc:
        fail(str(exc), 2)
    document = pytest_benchmark_json(run)
    if not document["benchmarks"]:
        fail(f"{results_file(results)} has no job with step times to export.", 1)
    write_json_atomic(output, document)
    console.print(f"Wrote {len(document['benchmarks'])} benchmark(s) in {output_format} format to {output}.", highlight=False)
