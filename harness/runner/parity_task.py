"""The worker's ``parity`` task: load neutral weights, run fixed batches, save every layer's output."""

from __future__ import annotations

import numpy as np

from harness.framework import Framework
from harness.runner.protocol import ParityRequest, ParityResult
from harness.neutral.weights import check_complete, load_weights


def parity_task(framework: Framework, request: ParityRequest) -> ParityResult:
    """Outputs of every layer for each input batch, and the weight round trip's largest error.

    In compiled mode the logits saved are the compiled ``predict``'s (every other layer's output
    comes from the eager ``layer_outputs``), and their distance to the eager logits is reported.
    """
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
    logits = list(network.walk())[-1].name
    compiled_vs_eager: list[float] = []
    for inputs, outputs in zip(request.inputs, request.outputs, strict=True):
        images = np.load(inputs)
        layer_outputs = {name: np.asarray(value) for name, value in framework.layer_outputs(model, images).items()}
        if framework.mode != "eager":
            compiled = np.asarray(framework.predict(model, images))
            compiled_vs_eager.append(float(np.abs(compiled - layer_outputs[logits]).max()))
            layer_outputs[logits] = compiled
        np.savez(outputs, **layer_outputs)
    if framework.mode == "eager":
        return ParityResult(round_trip_max_abs=round_trip)
    return ParityResult(round_trip_max_abs=round_trip, logits_from=f"predict ({framework.compiled_mode})",
                        compiled_vs_eager_max_abs=max(compiled_vs_eager, default=0.0))
