"""The worker's ``train_parity`` task: N training steps from given weights on given batches.

The framework loads the neutral weights, prepares the spec's optimizer and runs ``train_step`` on
each batch in turn (dropout off, see :func:`harness.train_parity.without_dropout`). After every
step it records the loss, a digest of the batch and, per tensor, how far training has moved the
weights (the L2 norm of ``w_k - w_0``), so that the parent can name the first step and layer that
diverge; after the last step it writes every weight, BN moving statistics included, in the
neutral layout.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, PositiveInt

from harness.framework import Framework
from harness.spec import load_network
from harness.train_parity import framework_run, without_dropout
from harness.weights import check_complete, load_weights, save_weights


class TrainParityRequest(BaseModel):
    """What the parent asks of one framework's worker."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["train_parity"]
    framework: str
    spec: str
    variant: str | None = None
    threads: PositiveInt
    device: str = "cpu"
    seed: int = 0
    weights: str
    """``.npz`` of the neutral weights to start from."""
    batches: str
    """``.npz`` with ``images0``, ``labels0``, ``images1``... (NHWC float32, int64)."""
    steps: PositiveInt
    output: str
    """``.npz`` to write the weights after the last step to."""


class StepRecord(BaseModel):
    """One step as the framework ran it."""

    model_config = ConfigDict(extra="forbid")

    loss: float
    batch: str
    """A digest of the batch's images and labels (the same batches in the same order everywhere)."""
    change_norm: dict[str, float]
    """``layer/tensor`` -> L2 norm of (weights after this step - initial weights)."""


class TrainParityResult(BaseModel):
    """What the worker sends back (the final weights are in the request's ``output`` file)."""

    model_config = ConfigDict(extra="forbid")

    steps: list[StepRecord]
    conventions: dict[str, str]
    """The framework's declared departures from the neutral update that apply to this network."""


def train_parity_task(framework: Framework, request: dict[str, Any]) -> dict[str, Any]:
    """Run the request's steps and report them (see the module's docstring)."""
    config = TrainParityRequest.model_validate(request)
    network = without_dropout(load_network(config.spec, config.variant))
    weights = load_weights(config.weights)
    check_complete(network, weights)
    with np.load(config.batches) as archive:
        batches = [(archive[f"images{step}"], archive[f"labels{step}"]) for step in range(config.steps)]
    run = framework_run(framework, network, weights, batches)
    save_weights(config.output, run.final)
    steps = [StepRecord(loss=loss, batch=batch, change_norm=changes)
             for loss, batch, changes in zip(run.losses, run.batches, run.changes, strict=True)]
    return TrainParityResult(steps=steps, conventions=run.conventions).model_dump(mode="json")
