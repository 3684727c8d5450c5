"""The worker's ``parity`` task: load neutral weights, run fixed batches, save every layer's output."""

from __future__ import annotations

import numpy as np

from harness.framework import Framework
from harness.runner.protocol import ParityRequest, ParityResult
from harness.weights import check_complete, load_weights


def parity_task(framework: Framework, request: ParityRequest) -> ParityResult:
    """Outputs of every layer for each input batch, and the weight round trip's largest error."""
    network = request.network.network()
    weights = load_weights(request.weights)
    check_complete(network, weights)
    model = framework.build(network)
    framework.load_weights(model, weights)
    exported = framework.export_weights(model)
    round_trip = max(
        (float(np.abs(exported[layer][name] - array).max()) for layer, tensors in weights.items() for name, array in tensors.items()),
        default=0.0,
    )
    for inputs, outputs in zip(request.inputs, request.outputs, strict=True):
        images = np.load(inputs)
        layer_outputs = {name: np.asarray(value) for name, value in framework.layer_outputs(model, images).items()}
        np.savez(outputs, **layer_outputs)
    return ParityResult(round_trip_max_abs=round_trip)
