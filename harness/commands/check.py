"""``harness check``: validate specs and print the oracle's shapes, parameters and MACs."""

from __future__ import annotations

import json

import rich_click as click
from rich.table import Table

from harness.commands.common import console, load_all, print_errors
from harness.oracle import Analysis, ExpectCheck, analyse, check_expect
from harness.shapes import describe_shape
from harness.spec import Network


def _fmt(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def layer_table(analysis: Analysis, title: str) -> Table:
    """The oracle's layer table, as ``check`` and the reports show it."""
    table = Table(title=title, title_justify="left", show_footer=True)
    table.add_column("layer", footer="total")
    table.add_column("type")
    table.add_column("output", footer=describe_shape(analysis.layers[-1].output_shape))
    table.add_column("trainable", justify="right", footer=_fmt(analysis.trainable))
    table.add_column("non-trainable", justify="right", footer=_fmt(analysis.non_trainable))
    table.add_column("MACs", justify="right", footer=_fmt(analysis.macs))
    for layer in analysis.layers:
        indent = "  " * layer.depth
        table.add_row(
            indent + layer.name, layer.type, describe_shape(layer.output_shape),
            _fmt(layer.trainable), _fmt(layer.non_trainable), _fmt(layer.macs),
        )
    return table


def as_json(network: Network, analysis: Analysis, checks: list[ExpectCheck]) -> dict:
    """The machine-readable form of one network's check."""
    return {
        "name": network.spec.name,
        "variant": network.variant,
        "file": network.path,
        "input": list(analysis.input_shape),
        "layers": [
            {
                "name": layer.name, "type": layer.type, "output_shape": list(layer.output_shape),
                "trainable": layer.trainable, "non_trainable": layer.non_trainable,
                "total": layer.total, "macs": layer.macs, "depth": layer.depth,
            }
            for layer in analysis.layers
        ],
        "params": analysis.params(),
        "macs": analysis.macs,
        "expect": [{"field": c.field, "expected": c.expected, "actual": c.actual, "ok": c.ok} for c in checks],
        "expect_ok": all(c.ok for c in checks),
    }


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json_output", is_flag=True, help="Print one JSON object per spec/variant on stdout.")
def check(specs: tuple[str, ...], as_json_output: bool) -> None:
    """Validate SPECS and show each network's layers, parameters and MACs against `expect`.

    Exits 1 if any spec is invalid or any published figure disagrees with the oracle.
    """
    networks, errors = load_all(specs)
    print_errors(errors)
    failed = bool(errors)
    results = []
    for network in networks:
        analysis = analyse(network)
        checks = check_expect(analysis, network.spec.expect)
        failed |= not all(c.ok for c in checks)
        if as_json_output:
            results.append(as_json(network, analysis, checks))
            continue
        console.print(layer_table(analysis, f"{network.key}  ({network.path})"))
        for c in checks:
            mark = "[green]ok[/]" if c.ok else "[red]MISMATCH[/]"
            console.print(f"  expect params.{c.field}: published {c.expected:,}, oracle {c.actual:,}  {mark}")
        console.print()
    if as_json_output:
        click.echo(json.dumps(results, indent=2))
    raise SystemExit(1 if failed else 0)
