"""The worker's ``train_parity`` task: N training steps from given weights on given batches.

The framework switches to float64 when the request asks (:meth:`Framework.use_float64`; the spec's
float hyperparameters are rounded to float32 either way, as in the parent), loads the neutral
weights, prepares the spec's optimizer and runs ``train_step`` on each batch in turn (dropout off,
see :func:`without_dropout`). After every step it records the loss, a
digest of the batch and, per tensor, how far training has moved the weights (the L2 norm of
``w_k - w_0``), so that the parent can name the first step and layer that diverge; after the last
step it writes every weight, BN moving statistics included, in the neutral layout.

The parent's driver (:mod:`harness.runner.train_parity`, which starts workers) takes the network
transformations, the digests and the weight changes from here, so that both sides compute them
the same way and no worker-side module imports the parent side.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel

from harness.framework import Framework, NeutralWeights, TrainingConventions
from harness.runner.protocol import StepRecord, TrainParityRequest, TrainParityResult
from harness.spec import Network, Node
from harness.spec.network import trace
from harness.spec.schema import Layer, Spec
from harness.equivalence.train_compare import TrainingRun
from harness.neutral.weights import check_complete, load_weights, save_weights


def _changed(nodes: tuple[Node, ...], change: Callable[[Node], Layer]) -> tuple[Node, ...]:
    return tuple(dataclasses.replace(node, layer=change(node), children=_changed(node.children, change)) for node in nodes)


def _with_layers(network: Network, change: Callable[[Node], Layer], spec: Spec | None = None) -> Network:
    """``network`` with every node's layer replaced by ``change(node)`` (names and weights unchanged)."""
    spec = spec or network.spec
    nodes = _changed(network.nodes, change)
    return dataclasses.replace(network, spec=spec, nodes=nodes, trace=tuple(trace(nodes, spec.input)))


def without_dropout(network: Network) -> Network:
    """``network`` with every dropout layer's rate set to 0 (layer names and weights unchanged)."""
    return _with_layers(network, lambda node: node.layer.model_copy(update={"rate": 0.0}) if node.type == "dropout"
                        else node.layer)


def float_fields(model: BaseModel) -> dict[str, float]:
    """A layer's or optimizer's float hyperparameters, by name."""
    return {name: value for name, value in model if isinstance(value, float)}


def _float32_values(model: BaseModel) -> Any:
    return model.model_copy(update={name: float(np.float32(value)) for name, value in float_fields(model).items()})


def with_float32_hyperparameters(network: Network) -> Network:
    """``network`` with every float hyperparameter (the optimizer's, batch norm's momentum and
    epsilon...) rounded to the nearest float32, for every training-parity run: Keras and Paddle hold
    some of them in float32 (Keras' Adam bias correction, Paddle's optimizers and batch norm), which
    a float64 run shows, and a value float32 holds exactly is the same value everywhere."""
    train = network.spec.train
    spec = network.spec.model_copy(update={"train": train.model_copy(update={"optimizer": _float32_values(train.optimizer)})})
    return _with_layers(network, lambda node: _float32_values(node.layer), spec)


def batch_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """A short digest of one batch's images and labels."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.ascontiguousarray(images, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def weight_changes(start: NeutralWeights, now: NeutralWeights) -> dict[str, float]:
    """Per tensor (``layer/tensor``), the L2 norm of ``now - start`` (float64)."""
    return {
        f"{layer}/{name}": float(np.linalg.norm(np.asarray(now[layer][name], dtype=np.float64) - array.astype(np.float64)))
        for layer, tensors in start.items() for name, array in tensors.items()
    }


def relevant_departures(conventions: TrainingConventions, network: Network) -> dict[str, str]:
    """The declared departures that can change how ``network`` trains (its optimizer, its layers)."""
    optimizer = network.spec.train.optimizer.name
    applies = {"adam_epsilon": optimizer == "adam", "rmsprop_epsilon": optimizer == "rmsprop",
               "bn_moving_variance": any(node.type == "batch_norm" for node in network.walk())}
    return {name: value for name, value in conventions.departures().items() if applies[name]}


def framework_run(framework: Framework, network: Network, weights: NeutralWeights,
                  batches: list[tuple[np.ndarray, np.ndarray]]) -> TrainingRun:
    """``framework``'s N steps in this process: build, load ``weights``, ``train_step`` per batch."""
    model = framework.build(network)
    framework.load_weights(model, weights)
    trainer = framework.prepare_training(model, network.spec.train)
    losses, digests, changes = [], [], []
    for images, labels in batches:
        losses.append(framework.train_step(trainer, images, labels).loss)
        digests.append(batch_digest(images, labels))
        changes.append(weight_changes(weights, framework.export_weights(model)))
    conventions = relevant_departures(type(framework).training_conventions, network)
    return TrainingRun(framework.name, losses, digests, changes, framework.export_weights(model), conventions)




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
