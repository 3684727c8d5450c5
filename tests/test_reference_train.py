"""The numpy training reference: exact gradients for every layer type, the optimizers' declared
departures, dropout, and the step-by-step comparison that names the first diverging step and layer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness import reference_train
from harness.agreement import batch_order_difference
from harness.framework import TrainingConventions
from harness.spec.network import expand
from harness.testing.networks import AGNOSTIC_SIZES, OPTIMIZERS, conformance_networks, training_network
from harness.testing.specs import inline_spec
from harness.train_compare import Tolerances, compare_runs, rounding_driven
from harness.runner.train_parity import reference_run, relevant_departures, training_batches, without_dropout
from harness.weights import initial_weights

NETWORKS = [without_dropout(network) for network in conformance_networks()]


def _float64(weights: dict) -> dict:
    return {layer: {name: array.astype(np.float64) for name, array in tensors.items()} for layer, tensors in weights.items()}


@pytest.mark.parametrize("network", NETWORKS, ids=lambda network: network.key)
def test_gradients_equal_finite_differences(network) -> None:
    """Every layer type's backward pass, checked on a few entries of every tensor (central differences)."""
    height, width, channels = network.input_shape
    size = (height, width) if height is not None else AGNOSTIC_SIZES[0]
    rng = np.random.default_rng(0)
    images, labels = rng.random((3, *size, channels)), rng.integers(0, network.spec.classes, 3)
    weights = _float64(initial_weights(network, 1))
    grads = reference_train.gradients(network, weights, images, labels).grads
    assert set(grads) == {layer for layer, tensors in weights.items() if set(tensors) & set(reference_train.TRAINABLE)}
    for layer, tensors in grads.items():
        for name, grad in tensors.items():
            array = weights[layer][name]
            for index in list(np.ndindex(array.shape))[:: max(1, array.size // 5)]:
                original = array[index]
                array[index] = original + 1e-6
                up = reference_train.gradients(network, weights, images, labels).loss
                array[index] = original - 1e-6
                down = reference_train.gradients(network, weights, images, labels).loss
                array[index] = original
                assert abs((up - down) / 2e-6 - grad[index]) < 1e-7, f"{layer}/{name}{index}"


def test_dropout_needs_a_generator_and_scales_what_it_keeps() -> None:
    network = conformance_networks()[0]
    images = np.random.default_rng(0).random((2, *network.input_shape))
    weights = initial_weights(network, 0)
    with pytest.raises(ValueError, match="dropout off"):
        reference_train.gradients(network, weights, images, np.array([0, 1]))
    first = reference_train.gradients(network, weights, images, np.array([0, 1]), np.random.default_rng(5))
    again = reference_train.gradients(network, weights, images, np.array([0, 1]), np.random.default_rng(5))
    assert first.loss == again.loss
    assert without_dropout(network).nodes != network.nodes
    assert [node.name for node in without_dropout(network).walk()] == [node.name for node in network.walk()]


@pytest.mark.parametrize(("optimizer", "departure"), [("adam", {"adam_epsilon": "after_correction"}),
                                                      ("rmsprop", {"rmsprop_epsilon": "outside_sqrt"}),
                                                      ("sgd", {"bn_moving_variance": "unbiased"})])
def test_each_declared_departure_changes_the_training(optimizer: str, departure: dict[str, str]) -> None:
    network = training_network(optimizer)
    conventions = TrainingConventions(**departure)  # type: ignore[arg-type]
    assert relevant_departures(conventions, network) == departure
    start, batches = initial_weights(network, 0), training_batches(network, 3, 8, 0)
    neutral, departed = reference_run(network, start, batches), reference_run(network, start, batches, conventions)
    effect = compare_runs(network.key, departed, neutral, start, neutral)
    assert effect.max_weight_diff > 0 and not effect.passed


def test_a_departure_of_another_optimizer_is_not_relevant() -> None:
    conventions = TrainingConventions(adam_epsilon="after_correction", rmsprop_epsilon="outside_sqrt")
    assert relevant_departures(conventions, training_network("sgd")) == {}


def _altered(run, step: int, key: str, factor: float):
    changes = [dict(c) for c in run.changes]
    for later in changes[step - 1 :]:
        later[key] *= factor
    final = {layer: dict(tensors) for layer, tensors in run.final.items()}
    layer, name = key.split("/")
    final[layer][name] = final[layer][name] * np.float32(factor)
    return dataclasses.replace(run, name="altered", changes=changes, final=final)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_comparison_names_the_first_diverging_step_and_layer(optimizer: str) -> None:
    network = training_network(optimizer)
    start, batches = initial_weights(network, 0), training_batches(network, 5, 8, 0)
    run = reference_run(network, start, batches)
    assert compare_runs(network.key, run, run, start, run).passed
    key = next(iter(run.changes[0]))
    pair = compare_runs(network.key, _altered(run, 3, key, 1.01), run, start, run)
    assert pair.first_divergence is not None
    assert (pair.first_divergence.step, pair.first_divergence.what) == (3, key)


def test_tolerances_grow_with_the_step_and_batches_must_match() -> None:
    network = training_network("sgd")
    start = initial_weights(network, 0)
    run = reference_run(network, start, training_batches(network, 4, 8, 0))
    other = reference_run(network, start, training_batches(network, 4, 8, 1))
    pair = compare_runs(network.key, other, run, start, run)
    assert pair.first_divergence is not None and pair.first_divergence.step == 1
    assert pair.first_divergence.what.startswith("batch")
    key = next(iter(run.changes[0]))
    slightly = _altered(run, 1, key, 1 + 3e-4)  # 3e-4 of the change: beyond 1e-4 x step at step 1 and 2, not at 4
    assert not compare_runs(network.key, slightly, run, start, run, Tolerances()).passed
    assert compare_runs(network.key, slightly, run, start, run, Tolerances(weights=1e-3)).passed


def test_batch_order_difference_names_the_first_step() -> None:
    assert batch_order_difference({"a": ["x", "y"], "b": ["x", "y"]}, {"a": "o", "b": "o"}) is None
    assert "step 2" in str(batch_order_difference({"a": ["x", "y"], "b": ["x", "z"]}, {"a": "o", "b": "p"}))
    assert "over all steps" in str(batch_order_difference({"a": ["x"], "b": ["x"]}, {"a": "o", "b": "p"}))


def test_the_reference_also_trains_in_float32_and_measures_rounding() -> None:
    network = training_network("adam")
    start, batches = initial_weights(network, 0), training_batches(network, 3, 8, 0)
    float64, float32 = reference_run(network, start, batches), reference_run(network, start, batches, dtype=np.float32)
    rounding = compare_runs(network.key, float32, float64, start, float64)
    assert rounding.passed and 0 < rounding.max_weight_diff < 1e-3
    key = next(iter(float64.changes[0]))
    altered = _altered(float64, 2, key, 1.01)
    assert not compare_runs(network.key, altered, float64, start, float64, rounding=(float64, float32)).passed


def _bias_cancelled_by_batch_norm() -> object:
    """A conv whose bias the batch norm right after it cancels exactly, trained with Adam: its bias
    gradient is 0 in exact arithmetic and rounding noise in float32, which Adam scales to full steps."""
    body = {"input": [8, 8, 1], "backbone": [{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batch_norm"},
                                             {"type": "conv", "filters": 4, "kernel": 3, "activation": "relu"}],
            "head": {"type": "flatten"}}
    train = {"optimizer": {"name": "adam", "lr": 0.01, "epsilon": 1e-7}, "batch_size": 8, "epochs": 1, "seed": 0}
    return expand(inline_spec(name="cancelled_bias", title="t", source="t", classes=3, train=train, **body))


def test_elements_that_rounding_moves_are_left_out_and_the_rest_still_compared() -> None:
    network = _bias_cancelled_by_batch_norm()
    start, batches = initial_weights(network, 0), training_batches(network, 6, 8, 0)
    float64, float32 = reference_run(network, start, batches), reference_run(network, start, batches, dtype=np.float32)
    excluded = rounding_driven(start, float64, float32)
    bias = next(key for key in excluded if key.endswith("/bias"))
    assert excluded[bias].all() and len(excluded) == 1, {key: int(mask.sum()) for key, mask in excluded.items()}
    kept64 = reference_run(network, start, batches, excluded=excluded)
    kept32 = reference_run(network, start, batches, dtype=np.float32, excluded=excluded)
    assert kept64.changes[-1][bias] == 0.0 < float64.changes[-1][bias]
    # another float32 run with its own rounding (images one ulp off), as a second framework would have
    nudged = [(images * np.float32(1 + 2**-23), labels) for images, labels in batches]
    other = dataclasses.replace(reference_run(network, start, nudged, dtype=np.float32, excluded=excluded),
                                batches=kept64.batches)
    pair = compare_runs(network.key, other, kept64, start, kept64, rounding=(kept64, kept32), excluded=excluded)
    assert pair.passed, pair.first_divergence
    kernel = bias.replace("/bias", "/kernel")
    altered = compare_runs(network.key, _altered(other, 3, kernel, 1.01), kept64, start, kept64, rounding=(kept64, kept32),
                           excluded=excluded)
    assert altered.first_divergence is not None and altered.first_divergence.what == kernel
