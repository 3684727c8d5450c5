"""The numpy training reference: exact gradients for every layer type, the optimizers' declared
departures, dropout, and the step-by-step comparison that names the first diverging step and layer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.equivalence import reference_train
from harness.equivalence.agreement import batch_order_difference
from harness.framework import TrainingConventions
from harness.spec.network import expand
from harness.testing.networks import AGNOSTIC_SIZES, OPTIMIZERS, conformance_networks, training_network
from harness.testing.specs import inline_spec
from harness.equivalence.train_compare import Tolerances, compare_runs, predictable_steps
from harness.runner.train_parity import describe_hyperparameters, reference_run, training_batches
from harness.runner.train_parity_task import relevant_departures, with_float32_hyperparameters, without_dropout
from harness.neutral.weights import initial_weights

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


def test_float32_runs_are_judged_on_the_losses_of_the_predictable_steps() -> None:
    network = training_network("adam")
    start, batches = initial_weights(network, 0), training_batches(network, 4, 8, 0)
    run = reference_run(network, start, batches)
    key = next(iter(run.changes[0]))
    tensor = _altered(run, 1, key, 1.5)
    assert compare_runs(network.key, tensor, run, start, run).first_divergence.step == 1
    shown = compare_runs(network.key, tensor, run, start, run, judged=4)
    assert shown.passed and shown.judged_steps() == "losses, all 4 steps" and shown.max_weight_diff > 0.1  # shown, not judged
    late_loss = dataclasses.replace(run, losses=[*run.losses[:3], run.losses[3] * 1.01])
    assert not compare_runs(network.key, late_loss, run, start, run, judged=4).passed
    judged = compare_runs(network.key, late_loss, run, start, run, judged=3)
    assert judged.passed and judged.judged_steps() == "losses, steps 1-3"
    assert predictable_steps(late_loss, run) == 3 and predictable_steps(run, run) == 4


def test_float64_runs_use_hyperparameters_float32_holds_exactly() -> None:
    network = expand(inline_spec(
        name="hp", title="t", source="t", classes=3, input=[8, 8, 1],
        backbone=[{"type": "conv", "filters": 2, "kernel": 3}, {"type": "batch_norm", "momentum": 0.99, "epsilon": 1e-3},
                  {"type": "dropout", "rate": 0.3}],
        head={"type": "flatten"}, train={"optimizer": {"name": "adam", "lr": 0.001, "beta2": 0.999, "epsilon": 1e-7}}))
    rounded = with_float32_hyperparameters(without_dropout(network))
    optimizer, norm = rounded.spec.train.optimizer, next(node.layer for node in rounded.walk() if node.type == "batch_norm")
    for value in (optimizer.lr, optimizer.beta2, optimizer.epsilon, norm.momentum, norm.epsilon):
        assert value == float(np.float32(value))
    assert optimizer.beta2 == float(np.float32(0.999)) != 0.999 and norm.momentum == float(np.float32(0.99))
    assert [node.name for node in rounded.walk()] == [node.name for node in network.walk()]
    assert network.spec.train.optimizer.beta2 == 0.999  # the original is left alone
    assert "adam beta2 0.9990000128746033" in describe_hyperparameters(rounded)
