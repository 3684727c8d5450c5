"""The worker's ``train_parity`` task: N training steps from given weights on given batches.

The framework switches to float64 when the request asks (:meth:`Framework.use_float64`; the spec's
float hyperparameters are rounded to float32 either way, as in the parent), loads the neutral
weights, prepares the spec's optimizer and runs ``train_step`` on each batch in turn (dropout off,
see :func:`harness.runner.train_parity.without_dropout`). After every step it records the loss, a
digest of the batch and, per tensor, how far training has moved the weights (the L2 norm of
``w_k - w_0``), so that the parent can name the first step and layer that diverge; after the last
step it writes every weight, BN moving statistics included, in the neutral layout.
"""

from __future__ import annotations

import numpy as np

from harness.framework import Framework
from harness.runner.protocol import StepRecord, TrainParityRequest, TrainParityResult
from harness.runner.train_parity import framework_run, with_float32_hyperparameters, without_dropout
from harness.weights import check_complete, load_weights, save_weights


def train_parity_task(framework: Framework, request: TrainParityRequest) -> TrainParityResult:
    """Run the request's steps and report them (see the module's docstring)."""
    network = with_float32_hyperparameters(without_dropout(request.network.network()))
    weights = load_weights(request.weights)
    check_complete(network, weights)
    with np.load(request.batches) as archive:
        batches = [(archive[f"images{step}"], archive[f"labels{step}"]) for step in range(request.steps)]
    if request.dtype == "float64":
        framework.use_float64()
    run = framework_run(framework, network, weights, batches)
    save_weights(request.output, run.final)
    steps = [StepRecord(loss=loss, batch=batch, change_norm=changes)
             for loss, batch, changes in zip(run.losses, run.batches, run.changes, strict=True)]
    return TrainParityResult(steps=steps, conventions=run.conventions)
