"""``harness export``: a run's results in another tool's format."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from harness.commands.common import console, fail
from harness.report import ResultsError, load_results, results_file
from harness.results import write_json_atomic


@click.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["pytest-benchmark", "github-action-benchmark"]),
              default="pytest-benchmark",
              show_default=True, help="The format to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
def export(results: Path, output_format: str, output: Path) -> None:
    """Write the run in RESULTS (a results.json or a report directory) in another tool's format.

    `pytest-benchmark`: one benchmark per job with its step-time rounds as data, readable by
    `pytest-benchmark compare OUTPUT` and by github-action-benchmark (tool `pytest`).

    `github-action-benchmark`: the JSON list its `customSmallerIsBetter` tool reads (name, unit,
    value, range, extra): per network and framework, the median training step (ms), the peak memory
    (MiB) and the test error (1 - accuracy), the seeds pooled, so its history charts and alerts work.
    """
    from harness.export import custom_smaller_is_better, pytest_benchmark_json

    try:
        run = load_results(results)
    except ResultsError as exc:
        fail(str(exc), 2)
    if output_format == "github-action-benchmark":
        entries = custom_smaller_is_better(run)
        if not entries:
            fail(f"{results_file(results)} has no finished job with a step time, memory or accuracy to export.", 1)
        write_json_atomic(output, entries)
        count = len(entries)
    else:
        document = pytest_benchmark_json(run)
        if not document["benchmarks"]:
            fail(f"{results_file(results)} has no job with step times to export.", 1)
        write_json_atomic(output, document)
        count = len(document["benchmarks"])
    console.print(f"Wrote {count} entr{'y' if count == 1 else 'ies'} in {output_format} format to {output}.", highlight=False)
