"""``harness params``: build every network in every framework and compare the parameter counts.

Each framework runs in its own worker subprocess (the ``params`` task, one worker per framework
for all the networks, the workers in parallel), so this process never imports a framework. For
every network the oracle's count, the published ``expect`` and each framework's count are shown
side by side; any disagreement (a total, a split, or one layer) exits 1, names the first layer
whose count differs, and shows every layer's count in the oracle and in each framework.
"""

from __future__ import annotations

import json
from typing import Any

import rich_click as click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from harness.commands.common import (
    console, device_option, err_console, framework_option, networks_and_frameworks, threads_option,
)
from harness.commands.execution import choose_executor, executor_options, started
from harness.runner.params import (
    SCOPES, FrameworkCount, NetworkParams, compare, count_in_workers, framework_counts, oracle_counts, published,
)
from harness.runner.threads import default_threads

FIELDS = ("trainable", "non_trainable", "total")
OK_MARK, BAD_MARK = "[green]✓[/]", "[red]✗[/]"


def _cell(value: int, reference: int) -> str:
    return f"{value:,} {OK_MARK if value == reference else BAD_MARK}"


def params_table(result: NetworkParams) -> Table:
    """Oracle, expect and frameworks side by side, each count marked against the oracle's.

    The whole network comes first; a spec that publishes the backbone's figures alone gets a
    second section comparing the backbones.
    """
    network, figures = result.network, published(result)
    table = Table(title=f"{network.key}  ({network.path})", title_justify="left")
    table.add_column("count by")
    for name in FIELDS:
        table.add_column(name.replace("_", "-"), justify="right")
    for scope in SCOPES:
        if scope != "params" and scope not in figures:
            continue
        suffix = "" if scope == "params" else f" ({scope})"
        if scope != "params":
            table.add_section()
        oracle = oracle_counts(result.analysis, scope)
        table.add_row("oracle" + suffix, *(f"{oracle[name]:,}" for name in FIELDS))
        if scope in figures:
            table.add_row("expect" + suffix, *(_cell(figures[scope][name], oracle[name]) if name in figures[scope] else "-"
                                              for name in FIELDS))
        for framework, count in result.counts.items():
            if count.status != "ok":
                table.add_row(framework + suffix, f"[red]{count.status}[/]", "", "")
                continue
            counted = framework_counts(result.analysis, count, scope)
            table.add_row(framework + suffix, *(_cell(counted[name], oracle[name]) for name in FIELDS))
    return table


def _layer_cell(counted: tuple[int, int] | None, oracle: tuple[int, int]) -> str:
    if counted is None:
        return "-"
    return f"{counted[0]:,} + {counted[1]:,} {OK_MARK if counted == oracle else BAD_MARK}"


def layers_table(result: NetworkParams) -> Table:
    """Every layer's trainable + non-trainable count in the oracle and in each framework that
    built the network, each marked against the oracle's; then layers the network does not have."""
    built = {name: count for name, count in result.counts.items() if count.status == "ok"}
    table = Table(title=f"{result.network.key}: parameters per layer (trainable + non-trainable)", title_justify="left")
    for column in ("layer", "type", "oracle", *built):
        table.add_column(column, justify="left" if column in ("layer", "type") else "right")

    def counted(count: FrameworkCount, name: str) -> tuple[int, int]:
        layer = count.layers.get(name, {})
        return layer.get("trainable", 0), layer.get("non_trainable", 0)

    for layer in result.analysis.layers:
        oracle = (layer.trainable, layer.non_trainable)
        table.add_row(layer.name, layer.type, f"{oracle[0]:,} + {oracle[1]:,}",
                      *(_layer_cell(counted(count, layer.name), oracle) for count in built.values()))
    known = {layer.name for layer in result.analysis.layers}
    extra = [name for count in built.values() for name in count.layers if name not in known]
    for name in dict.fromkeys(extra):
        table.add_row(name, "not in the network", "-",
                      *(_layer_cell(counted(count, name) if name in count.layers else None, (0, 0)) for count in built.values()))
    return table


def networks_text(count: int) -> str:
    """``1 network`` or ``3 networks``."""
    return f"{count} network" + ("" if count == 1 else "s")


def summary_text(results: list[NetworkParams], frameworks: list[str]) -> str:
    """``all 3 networks agree in keras, torch``, ``1 network agrees in torch``, or
    ``1 of 3 networks disagrees: lenet`` (rich markup)."""
    disagreeing = [result.network.key for result in results if not result.ok]
    if disagreeing:
        verb = "disagrees" if len(disagreeing) == 1 else "disagree"
        return f"[red]{len(disagreeing)} of {networks_text(len(results))} {verb}:[/] {', '.join(disagreeing)}"
    agree = "1 network agrees" if len(results) == 1 else f"all {networks_text(len(results))} agree"
    return f"[green]{agree}[/] in {', '.join(frameworks)}"


def print_result(result: NetworkParams) -> None:
    """The table, then why each disagreeing framework disagrees, with every layer's counts."""
    console.print(params_table(result))
    for check in result.expect:
        if not check.ok:
            console.print(f"  expect {check.scope}.{check.field}: published {check.expected:,}, oracle {check.actual:,}  [red]MISMATCH[/]")
    for framework, count in result.counts.items():
        if count.status != "ok":
            console.print(f"  {framework}: [red]{count.status}[/]: ", end="")
            console.print(count.error, markup=False, highlight=False)
        elif count.mismatches:
            console.print(f"  {framework}: first layer that differs: ", end="")
            console.print(count.mismatches[0].describe(framework), markup=False, highlight=False)
    if any(count.mismatches for count in result.counts.values()):
        console.print(layers_table(result))
    console.print()


def as_json(result: NetworkParams, settings: dict[str, Any], thread_settings: dict[str, dict[str, Any]], skipped: dict[str, str]) -> dict[str, Any]:
    """The machine-readable form of one network's comparison."""
    network, figures = result.network, published(result)
    return {
        "name": network.spec.name,
        "variant": network.variant,
        "key": network.key,
        "file": network.path,
        "settings": settings,
        "oracle": {
            "params": result.analysis.params(),
            "backbone": result.analysis.backbone_params(),
            "layers": [{"name": layer.name, "type": layer.type, "trainable": layer.trainable,
                        "non_trainable": layer.non_trainable, "total": layer.total} for layer in result.analysis.layers],
        },
        "expect": figures or None,
        "expect_ok": all(check.ok for check in result.expect),
        "frameworks": {
            name: {
                "status": count.status,
                "error": count.error,
                "params": count.params,
                "backbone": framework_counts(result.analysis, count, "backbone") if count.status == "ok" else {},
                "layers": count.layers,
                "agrees": count.agrees,
                "first_mismatch": count.mismatches[0].as_dict() if count.mismatches else None,
                "effective_settings": count.effective_settings,
                "thread_settings": thread_settings.get(name, {}),
            }
            for name, count in result.counts.items()
        },
        "skipped": skipped,
        "ok": result.ok,
    }


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@framework_option
@threads_option
@device_option
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds one network may take to build and count in one framework.")
@executor_options
@click.option("--json", "as_json_output", is_flag=True, help="Print one JSON object per spec/variant on stdout.")
def params(specs: tuple[str, ...], framework_names: str, threads: int | None, device: str, timeout: float | None,
           executor_name: str, ray_address: str | None, concurrency: int, as_json_output: bool) -> None:
    """Build every network of SPECS in every framework and compare parameter counts with the oracle and `expect`.

    Each framework builds in a worker subprocess of its own (one warm worker per framework for all
    the networks; a network that crashes its worker is reported failed and the worker restarts), or
    on Ray with `--executor ray`. Exits 1 if any spec is invalid, any framework
    fails to build a network, or any count disagrees (then the first differing layer is named).
    """
    networks, errors, discovery, selection = networks_and_frameworks(specs, framework_names)
    executor_context = choose_executor(executor_name, ray_address, concurrency, discovery)
    threads = threads or default_threads()
    settings = {"threads": threads, "device": device, "frameworks": selection.names}
    with started(executor_context) as executor, Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True,
    ) as progress:
        tasks = {name: progress.add_task(name, total=len(networks)) for name in selection.names}
        per_framework, thread_settings = count_in_workers(
            networks, selection.names, executor, threads=threads, device=device, timeout=timeout,
            advance=lambda name: progress.advance(tasks[name]),
        )
    results = [compare(network, {name: per_framework[name][index] for name in selection.names})
               for index, network in enumerate(networks)]
    if as_json_output:
        click.echo(json.dumps([as_json(result, settings, thread_settings, selection.skipped) for result in results], indent=2))
    else:
        for result in results:
            print_result(result)
        console.print(summary_text(results, selection.names))
    raise SystemExit(1 if errors or not all(result.ok for result in results) else 0)
