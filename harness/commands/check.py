"""``harness check``: validate specs and print the oracle's shapes, parameters and MACs."""

from __future__ import annotations

import json

import rich_click as click

from harness.commands.common import console, load_all, print_errors
from harness.neutral.oracle import Analysis, ExpectCheck, analyse, as_json, check_expect, macs_by_size
from harness.neutral.shapes import describe_shape
from harness.spec import Network, SpecError
from harness.spec.loader import locate


COLUMNS = ("layer", "type", "output", "trainable", "non-trainable", "MACs")
ALIGN = ("left", "left", "left", "right", "right", "right")


def _fmt(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def layer_rows(analysis: Analysis) -> list[list[str]]:
    """The oracle's layer table as rows of text, the totals last; a layer's name is indented by its depth."""
    rows = [["  " * layer.depth + layer.name, layer.type, describe_shape(layer.output_shape), _fmt(layer.trainable),
             _fmt(layer.non_trainable), _fmt(layer.macs)] for layer in analysis.layers]
    return rows + [["total", "", describe_shape(analysis.layers[-1].output_shape), _fmt(analysis.trainable),
                    _fmt(analysis.non_trainable), _fmt(analysis.macs)]]


def layer_text(rows: list[list[str]]) -> str:
    """The rows drawn as a boxed table at its natural width, the totals under a rule. Plain string
    work: a rich table took half of `harness check`'s time on the shipped specs' 551 layers, and
    tabulate's import (wcwidth) a tenth."""
    widths = [max(len(row[column]) for row in [list(COLUMNS), *rows]) for column in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        return "│ " + " │ ".join(cell.ljust(width) if align == "left" else cell.rjust(width)
                                 for cell, width, align in zip(cells, widths, ALIGN)) + " │"

    def rule(left: str, middle: str, right: str) -> str:
        return left + middle.join("─" * (width + 2) for width in widths) + right

    return "\n".join([rule("┌", "┬", "┐"), line(list(COLUMNS)), rule("├", "┼", "┤"), *map(line, rows[:-1]),
                      rule("├", "┼", "┤"), line(rows[-1]), rule("└", "┴", "┘")])


def print_layers(analysis: Analysis, title: str) -> None:
    """The layer table at its natural width, every figure in full (a rich table squeezed into a
    narrow terminal cut figures short: ``117,6…``)."""
    console.out(f"{title}\n{layer_text(layer_rows(analysis))}", highlight=False)


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
        print_layers(analysis, f"{network.key}  ({network.path})")
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
