"""How ``harness parity --train-steps N`` shows training parity: one table per network."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from harness.equivalence.parity import REFERENCE
from harness.equivalence.train_compare import FLOAT64_TOLERANCES, ROUNDING_FACTOR, TOLERANCES, TrainPair
from harness.runner.train_parity import NetworkTraining


def _row(pair: TrainPair) -> list[str]:
    return [pair.dtype, f"{pair.a} vs {pair.b}", pair.judged_steps(), f"{pair.max_loss_diff:.2e}", f"{pair.max_weight_diff:.2e}",
            pair.first_divergence.describe() if pair.first_divergence else "-",
            "[green]pass[/]" if pair.passed else "[red]FAIL[/]"]


def training_table(result: NetworkTraining) -> Table:
    """Every pair: largest loss difference over the steps, largest tensor difference after the last
    step (relative to how far training moved it), and the first step and layer that diverge."""
    shape = "x".join(map(str, result.input_shape))
    table = Table(title=f"{result.network}: {result.steps} training steps, batch {result.batch}, input {shape}",
                  title_justify="left", caption=f"tolerances: float64 {FLOAT64_TOLERANCES.describe()}; float32 "
                  f"{TOLERANCES.describe(tensors=False)}", caption_justify="left")
    for column in ("dtype", "pair", "judged", "max loss diff", "max tensor diff", "first divergence (step, layer)", "result"):
        table.add_column(column, justify="right" if column.startswith("max") else "left")
    for pair in result.pairs:
        table.add_row(*_row(pair))
    return table


def print_training(console: Console, result: NetworkTraining, per_layer: bool) -> None:
    """The table, the stated set-up, each framework's declared departures and their effect, failures."""
    console.print(training_table(result))
    console.print(f"  data: {result.data}; dropout off (rate 0) in every framework and in the reference", highlight=False)
    if result.rounding is not None:
        console.print(f"  float32 rounding alone (the reference in float32 against float64) moves the losses by up to "
                      f"{result.rounding.max_loss_diff:.2e} and the tensors by up to {result.rounding.max_weight_diff:.2e} "
                      f"of their change; {ROUNDING_FACTOR:g} times its loss difference is allowed on top of the float32 "
                      "tolerance", highlight=False)
    for note in result.notes():
        console.print(f"  {note}", highlight=False)
    for name, effect in result.departures.items():
        declared = effect.a.removeprefix(REFERENCE).strip(" ()")
        console.print(f"  {name} declares departures from the neutral update ({declared}); their effect on this run: "
                      f"losses up to {effect.max_loss_diff:.2e}, tensors up to {effect.max_weight_diff:.2e} of their "
                      f"change. {name} is compared with the reference that makes the same departures.", highlight=False)
    for name, reason in result.failures.items():
        console.print(f"  [red]{name} failed:[/] {reason}", highlight=False)
    for pair in result.pairs:
        if per_layer or not pair.passed:
            table = Table(title=f"{result.network}: {pair.a} vs {pair.b}, tensors after step {pair.steps}", title_justify="left")
            table.add_column("layer/tensor")
            table.add_column("||a - b|| / ||change||", justify="right")
            for key, value in pair.layers.items():
                table.add_row(key, f"{value:.2e}")
            console.print(table)
