"""``harness check``: validate specs and print the oracle's shapes, parameters and MACs."""

from __future__ import annotations

import json

import rich_click as click
from rich.table import Table

from harness.commands.common import console, load_all, print_errors
from harness.oracle import Analysis, ExpectCheck, analyse, as_json, check_expect, macs_by_size
from harness.shapes import describe_shape
from harness.spec import Network, SpecError
from harness.spec.loader import locate


UNSQUEEZED_WIDTH = 1_000
"""Wider than any layer table: a table is rendered at its natural width up to this."""


def _fmt(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def layer_table(analysis: Analysis, title: str) -> Table:
    """The oracle's layer table, as ``check`` and the reports show it."""
    table = Table(title=title, title_justify="left", show_footer=True)
    longest = max(len("  " * layer.depth + layer.name) for layer in analysis.layers)
    table.add_column("layer", footer="total", overflow="fold", min_width=min(longest, 20))
    table.add_column("type", no_wrap=True)
    table.add_column("output", footer=describe_shape(analysis.layers[-1].output_shape), no_wrap=True)
    table.add_column("trainable", justify="right", footer=_fmt(analysis.trainable), no_wrap=True)
    table.add_column("non-trainable", justify="right", footer=_fmt(analysis.non_trainable), no_wrap=True)
    table.add_column("MACs", justify="right", footer=_fmt(analysis.macs), no_wrap=True)
    for layer in analysis.layers:
        indent = "  " * layer.depth
        table.add_row(
            indent + layer.name, layer.type, describe_shape(layer.output_shape),
            _fmt(layer.trainable), _fmt(layer.non_trainable), _fmt(layer.macs),
        )
    return table


def print_unsqueezed(table: Table) -> None:
    """Print ``table`` at its natural width when the output is not a terminal (a log, a pipe),
    where rich would otherwise squeeze it into 80 columns and cut its figures."""
    if console.is_terminal:
        console.print(table)
    else:
        console.print(table, width=UNSQUEEZED_WIDTH, crop=False)


def mismatch_error(network: Network, check: ExpectCheck) -> SpecError:
    """A published figure the network does not have, located at its line in the spec."""
    loc = ("expect", check.scope, check.field)
    line, column = locate(network.path, network.variant, loc)
    variant = f"variant '{network.variant}', " if network.variant else ""
    part = "the network" if check.scope == "params" else "the backbone"
    return SpecError(
        network.path, line, column, variant + ".".join(loc),
        f"the published {check.field.replace('_', '-')} count is {check.expected:,}, but {part} as written has "
        f"{check.actual:,} ({check.actual - check.expected:+,}).",
        "correct the figure in 'expect' if it was copied wrongly, or the layers if they differ from the "
        "published network (`harness check` lists every layer's count).",
    )


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
    mismatches: list[SpecError] = []
    for network in networks:
        analysis = analyse(network)
        checks = check_expect(analysis, network.spec.expect)
        mismatches.extend(mismatch_error(network, c) for c in checks if not c.ok)
        failed |= not all(c.ok for c in checks)
        if as_json_output:
            results.append(as_json(network, analysis, checks).model_dump(mode="json"))
            continue
        print_unsqueezed(layer_table(analysis, f"{network.key}  ({network.path})"))
        for size, macs in macs_by_size(network).items():
            console.print(f"  MACs on a {size} image: {_fmt(macs)}")
        for c in checks:
            mark = "[green]ok[/]" if c.ok else "[red]MISMATCH[/]"
            console.print(f"  expect {c.scope}.{c.field}: published {c.expected:,}, oracle {c.actual:,}  {mark}")
        console.print()
    if as_json_output:
        click.echo(json.dumps(results, indent=2))
    print_errors(mismatches)
    raise SystemExit(1 if failed else 0)
