"""Parity in the report: the verdict, the pair-by-pair tables (forward and training parity) and the
first training steps of every framework on the same batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from harness.equivalence.agreement import batch_order_difference
from harness.neutral.pretrained import init_label
from harness.report import format as fmt
from harness.report.document import Block, Details, Heading, Table, Text
from harness.report.model import FAIL, PASS, RunView, distinct, texts
from harness.results import ParityEntry, TrainParityEntry
from harness.neutral.shapes import describe_shape

NUMBERS = ("max_abs", "max_rel", "tolerance", "max_loss_diff", "max_weight_diff")
"""The columns of differences and tolerances, aligned right."""


def parity_table(entries: Sequence[ParityEntry] | Sequence[TrainParityEntry], id: str = "parity") -> Table | None:
    """The parity checks (or training-parity checks) as recorded: a column per field that any entry
    recorded (results from older harnesses lack some), in the model's order."""
    if not entries:
        return None
    recorded = set().union(*(entry.model_fields_set for entry in entries))
    columns = [name for name in type(entries[0]).model_fields if name in recorded]
    rows, marks = [], []
    for entry in entries:
        rows.append([_parity_cell(column, getattr(entry, column)) for column in columns])
        marks.append(["pass" if entry.passed is True and c == "passed" else "fail" if entry.passed is False and c == "passed"
                      else "" for c in columns])
    align = tuple("right" if c in NUMBERS else "left" for c in columns)
    return Table(texts(rows, columns), align, marks=pd.DataFrame(marks, columns=columns, dtype=object), id=id,
                 title="Parity checks, pair by pair" if id == "parity" else "Training parity, pair by pair")


def _parity_cell(column: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{PASS} pass" if value else f"{FAIL} fail"
    if isinstance(value, float):
        return f"{value:.2e}"
    if column == "input_shape" and isinstance(value, list):
        return describe_shape(tuple(value))
    return fmt.plain(value)


def first_steps_table(view: RunView) -> Table | None:
    """First-step and first-epoch training loss per framework, and the largest gap between frameworks.

    From shared neutral weights (``init: shared``) and the harness's common batch order the first
    steps should agree closely; with each framework's own initialisers they need not.
    """
    rows = []
    for network in view.networks:
        for seed in view.seeds:
            jobs = [job for job in view.jobs if job.network == network and job.seed == seed and job.first_step_losses]
            if len(jobs) < 2:
                continue
            first = {job.framework: job.first_step_losses[0] for job in jobs}
            epoch = {job.framework: job.history[0].train_loss for job in jobs if job.history}
            inits = distinct([init_label(job.config.get("init")) for job in jobs])
            difference = batch_order_difference({job.framework: job.first_step_batches for job in jobs},
                                                {job.framework: job.batch_order for job in jobs})
            recorded = all(job.batch_order for job in jobs)
            gap = max(first.values()) - min(first.values())
            epoch_gap = max(epoch.values()) - min(epoch.values()) if len(epoch) > 1 else None
            rows.append([network, str(seed), inits,
                         ", ".join(f"{name} {value:.6f}" for name, value in sorted(first.items())),
                         f"{gap:.2e}", fmt.plain(None if epoch_gap is None else f"{epoch_gap:.3g}"),
                         fmt.plain(None if not recorded else difference or "yes")])
    if not rows:
        return None
    columns = ["network", "seed", "init", "first-step loss", "largest first-step gap", "largest first-epoch gap",
               "same batches, same order"]
    return Table(texts(rows, columns), ("left", "left", "left", "left", "right", "right", "left"), id="first-steps",
                 title="First training steps")


def parity_verdict(view: RunView) -> Text:
    """How many pairs agree, and which do not."""
    entries = view.run.parity
    if not entries:
        return Text("No parity checks are recorded in this run.")
    failed = [entry for entry in entries if entry.passed is False]
    text = f"{len(entries) - len(failed)} of {len(entries)} pairs agree within their tolerance"
    if failed:
        text += "; disagreeing: " + "; ".join(
            f"{e.network} {e.a} vs {e.b}"
            + (f" (first at {e.first_divergent_layer})" if e.first_divergent_layer else "") for e in failed)
    return Text(text + ".")


def parity_blocks(view: RunView) -> list[Block]:
    """The parity part of the parameter section: the verdict and the pair-by-pair tables, the first
    training steps, and training parity."""
    blocks: list[Block] = [Heading("Parity: the same weights and images through every framework"), parity_verdict(view)]
    parity = parity_table(view.run.parity)
    if parity is not None:
        blocks.append(Details("Parity checks, pair by pair", (parity,)))
    first_steps = first_steps_table(view)
    if first_steps is not None:
        blocks.append(Details("First training steps: each framework's loss on the same batches", (Text(
            "Training loss of each framework's first step and first epoch on the same batches. From shared "
            "neutral weights (init shared) the first steps should agree to about 1e-4; with each framework's "
            "own initialisers (init framework) they need not."), first_steps)))
    training = parity_table(view.run.train_parity, id="train-parity")
    if training is not None:
        blocks += [Heading("Training parity"), Text(
            "The first training steps from the same neutral weights on the same seeded batches, dropout off, in every "
            "framework and the numpy reference (harness parity --train-steps): largest loss difference over the "
            "steps, largest tensor difference after the last step relative to how far training moved it, and the "
            "first step and layer that diverge."), Details("Training parity, pair by pair", (training,))]
    return blocks
