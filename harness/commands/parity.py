"""``harness parity``: the same neutral weights and images through every framework, compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rich_click as click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from harness.commands.common import (
    compiled_jobs_left_out, console, device_option, err_console, framework_option, mode_option, networks_and_frameworks,
    threads_option,
)
from harness.commands.execution import choose_executor, executor_options, started
from harness.framework import Framework
from harness.equivalence.parity import DEFAULT_TOLERANCE, PairResult
from harness.results import RunResults, read_run, write_json_atomic, write_run
from harness.runner.executor import Executor
from harness.runner.parity import NetworkParity, check_networks, distinct_networks, real_or_synthetic
from harness.runner.threads import default_threads
from harness.spec import Network
from harness.runner.train_parity import DEFAULT_BATCH, NetworkTraining, check_training


def _number(value: float) -> str:
    return f"{value:.2e}"


def pairs_table(result: NetworkParity) -> Table:
    """One row per framework pair and input size: logits difference and first divergent layer."""
    table = Table(title=f"{result.network}  (images: {result.images})", title_justify="left")
    for column in ("pair", "input", "max abs", "max rel", "first divergent layer", "result"):
        table.add_column(column, justify="right" if column.startswith("max") else "left")
    for pair in result.pairs:
        table.add_row(
            f"{pair.a} vs {pair.b}", "x".join(map(str, pair.input_shape)), _number(pair.max_abs),
            _number(pair.max_rel), pair.first_divergent_layer or "-", "[green]pass[/]" if pair.passed else "[red]FAIL[/]",
        )
    return table


def layers_table(pair: PairResult) -> Table:
    """Every layer's difference for one pair, the divergent ones marked."""
    table = Table(title=f"{pair.network}: {pair.a} vs {pair.b} at {'x'.join(map(str, pair.input_shape))}", title_justify="left")
    for column in ("layer", "max abs", "max rel", "scale", ""):
        table.add_column(column, justify="left" if column == "layer" else "right")
    for layer in pair.layers:
        table.add_row(layer.layer, _number(layer.max_abs), _number(layer.max_rel), f"{layer.scale:.3g}",
                      "[red]diverges[/]" if layer.diverged else "")
    return table


def as_json(result: NetworkParity, per_layer: bool) -> dict[str, Any]:
    """The machine-readable form of one network's parity check."""
    return {
        "network": result.network,
        "checked_as": result.checked_as,
        "passed": result.passed,
        "images": result.images,
        "failures": result.failures,
        "round_trip_max_abs": result.round_trip,
        "logits_from": result.logits_from,
        "compiled_vs_eager_max_abs": result.compiled_vs_eager,
        "pairs": [pair.as_dict(per_layer) for pair in result.pairs],
    }


def record(out: Path, results: list[NetworkParity]) -> None:
    """Write ``parity.json`` to ``out`` and put the pairs into ``results.json`` when one is there."""
    write_json_atomic(out / "parity.json", [as_json(result, per_layer=True) for result in results])
    run_file = out / "results.json"
    if run_file.exists():
        run: RunResults = read_run(run_file)
        checked = {result.network for result in results}
        kept = [entry for entry in run.parity if entry.network not in checked]
        run.parity = kept + [pair.entry() for result in results for pair in result.pairs]
        write_run(run_file, run)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@framework_option
@mode_option
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TOLERANCE, show_default=True,
              help="Largest absolute difference of the logits that passes (float32).")
@click.option("--per-layer", is_flag=True, help="Show every layer's difference, not only the first divergent layer.")
@click.option("--batch", type=click.IntRange(min=1), default=4, show_default=True, help="Images in the fixed batch.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the neutral weights.")
@threads_option
@device_option
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds one framework may take per network.")
@executor_options
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where the spec's data set lies (else the usual places).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write parity.json here, and add the results to results.json in this folder when it exists.")
@click.option("--json", "as_json_output", is_flag=True, help="Print one JSON object per spec/variant on stdout.")
@click.option("--train-steps", type=click.IntRange(min=1, max=100),
              help="Also train N steps of the spec's optimizer from the same weights on the same batches in every "
                   "framework and the numpy reference, and compare losses per step and every tensor (dropout off).")
@click.option("--train-batch", type=click.IntRange(min=2), default=DEFAULT_BATCH, show_default=True,
              help="Images per training-parity batch (small, so that 224x224 networks stay quick; stated in the output).")
def parity(specs: tuple[str, ...], framework_names: str, modes: list[str], tolerance: float, per_layer: bool, batch: int,
           seed: int,
           threads: int | None, device: str, timeout: float | None, executor_name: str, ray_address: str | None,
           concurrency: int, data_dir: str | None, out: Path | None, as_json_output: bool, train_steps: int | None,
           train_batch: int) -> None:
    """Load the same neutral weights into every framework, run the same batch, and compare every layer.

    Every framework is compared with the numpy reference and with every other framework; a
    size-agnostic network is checked at two input sizes. With `--mode compiled` each framework's
    logits come from its compiled predict (the other layers from its eager path) and must also
    match its eager logits; with `--framework all` a framework without a compiled mode is left out
    of it (a note says so), named explicitly it is an error (exit 2). Exits 1 when any pair differs by more
    than the tolerance, any layer diverges (it is named), or the weight round trip is not exact.
    """
    networks, errors, discovery, selection = networks_and_frameworks(specs, framework_names)
    left_out = compiled_jobs_left_out(discovery, selection, modes, framework_names)
    for note in left_out.values():
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    executor_context = choose_executor(executor_name, ray_address, concurrency, discovery)
    threads = threads or default_threads()
    trainings: list[NetworkTraining] = []
    with started(executor_context) as executor:
        with Progress(TextColumn("parity: {task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      transient=True) as progress:
            distinct = sum(first is network for network, first in distinct_networks(networks))
            tasks = {framework: progress.add_task(framework, total=distinct * (len(modes) - (framework in left_out and "compiled" in modes)))
                     for framework in selection.names}
            results = check_networks(networks, selection.names, executor, modes=modes, threads=threads,  # type: ignore[arg-type]
                                     device=device, batch=batch, seed=seed, tolerance=tolerance, timeout=timeout,
                                     images=real_or_synthetic(data_dir), without_compiled=list(left_out),
                                     advance=lambda name: progress.advance(tasks[name.split(":")[0]]))
        if not as_json_output:
            for result in results:
                print_parity(result, tolerance, per_layer)
        if train_steps:
            trainings = train_all(networks, discovery.classes(selection.names), executor, train_steps, train_batch,
                                  threads=threads, device=device, seed=seed, timeout=timeout, per_layer=per_layer,
                                  quiet=as_json_output)
    if out is not None:
        record(out, results)
    if as_json_output:
        click.echo(json.dumps([as_json(result, per_layer) for result in results]
                              + [training.as_dict(per_layer) for training in trainings], indent=2))
    else:
        failed = [result.network for result in results if not result.passed]
        failed += [f"{training.network} (training)" for training in trainings if not training.passed]
        console.print(f"[red]parity fails for {', '.join(failed)}[/]" if failed
                      else f"[green]parity holds for all {len(results)} networks[/] in {', '.join(selection.names)}")
    passed = all(result.passed for result in results) and all(training.passed for training in trainings)
    raise SystemExit(1 if errors or not passed else 0)


def print_parity(result: NetworkParity, tolerance: float, per_layer: bool) -> None:
    """The pairs' table, then failures, compiled-vs-eager logits, inexact round trips and divergent pairs;
    for a network that shares another's check, one line that says so."""
    if result.checked_as:
        verdict = "[green]holds[/]" if result.passed else "[red]fails[/]"
        console.print(f"{result.network}: the same forward pass as {result.checked_as} (they differ only in how they "
                      f"train), so its check above is this network's: parity {verdict}", highlight=False)
        return
    console.print(pairs_table(result))
    for name, reason in result.failures.items():
        console.print(f"  [red]{name} failed:[/] {reason}", markup=True, highlight=False)
    for name, source in result.logits_from.items():
        if name in result.compiled_vs_eager:
            error = result.compiled_vs_eager[name]
            colour = "green" if error <= tolerance else "red"
            console.print(f"  {name}: logits from {source}; compiled vs eager logits max abs [{colour}]{error:.2e}[/]",
                          highlight=False)
    for name, error in result.round_trip.items():
        if error != 0.0:
            console.print(f"  [red]{name}: weights exported back differ from those loaded by {error:.2e}[/]")
    for pair in result.pairs:
        if per_layer or not pair.passed:
            console.print(layers_table(pair))


def train_all(networks: list[Network], frameworks: dict[str, type[Framework]], executor: Executor, steps: int, batch: int, *,
              threads: int, device: str, seed: int, timeout: float | None, per_layer: bool,
              quiet: bool) -> list[NetworkTraining]:
    """Training parity of every network (``--train-steps``), printed unless ``quiet``."""
    from harness.commands.train_parity_view import print_training

    trainings = []
    for network in networks:
        with err_console.status(f"training parity: {network.key}, {steps} steps in {', '.join(frameworks)}"):
            trainings.append(check_training(network, frameworks, executor, steps=steps, batch=batch, threads=threads,
                                            device=device, seed=seed, timeout=timeout))
        if not quiet:
            print_training(console, trainings[-1], per_layer)
    return trainings
