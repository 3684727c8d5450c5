"""Training steps with every optimizer, and the effective settings read back from PyTorch."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from harness.spec import Network
from harness_torch.framework import TorchFramework

MakeNetwork = Callable[..., Network]
SMALL_BACKBONE: list[dict[str, Any]] = [
    {"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same", "activation": "relu"},
    {"type": "batch_norm", "momentum": 0.9, "epsilon": 0.01},
    {"type": "max_pool", "pool": 2, "padding": "same"},
    {"type": "dropout", "rate": 0.25},
]
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {"name": "sgd", "lr": 0.05, "momentum": 0.5, "nesterov": True},
    "momentum": {"name": "momentum", "lr": 0.05, "momentum": 0.8},
    "adam": {"name": "adam", "lr": 0.002, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
    "adadelta": {"name": "adadelta", "lr": 0.5, "rho": 0.9, "epsilon": 1e-5},
    "rmsprop": {"name": "rmsprop", "lr": 0.003, "rho": 0.8, "momentum": 0.1, "epsilon": 1e-4, "centered": True},
}


def small_network(make_network: MakeNetwork, optimizer: dict[str, Any]) -> Network:
    return make_network(SMALL_BACKBONE, [10, 10, 2], head={"type": "flatten", "hidden": [5]},
                        train={"optimizer": optimizer, "batch_size": 4})


def batch(network: Network, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((4, *network.input_shape), dtype=np.float32), rng.integers(0, network.spec.classes, 4)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_takes_a_step(framework: TorchFramework, make_network: MakeNetwork, optimizer: str) -> None:
    network = small_network(make_network, OPTIMIZERS[optimizer])
    model = framework.build(network)
    before = framework.export_weights(model)
    trainer = framework.prepare_training(model, network.spec.train)
    images, labels = batch(network)
    results = [framework.train_step(trainer, images, labels) for _ in range(3)]
    assert all(math.isfinite(r.loss) and 0 <= r.correct <= len(labels) for r in results)
    after = framework.export_weights(model)
    assert not np.array_equal(after["logits"]["kernel"], before["logits"]["kernel"])
    assert not np.array_equal(after["batch_norm_1"]["moving_mean"], before["batch_norm_1"]["moving_mean"])


def test_the_same_seed_gives_the_same_initial_weights_and_losses(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = small_network(make_network, OPTIMIZERS["adam"])
    images, labels = batch(network, seed=1)
    runs = []
    for _ in range(2):
        model = framework.build(network)
        weights = framework.export_weights(model)
        trainer = framework.prepare_training(model, network.spec.train)
        runs.append((weights, [framework.train_step(trainer, images, labels).loss for _ in range(2)]))
    (first, losses_a), (second, losses_b) = runs
    assert all(np.array_equal(first[layer][name], second[layer][name]) for layer in first for name in first[layer])
    assert losses_a == losses_b


def test_predict_is_in_inference_mode(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = small_network(make_network, OPTIMIZERS["sgd"])
    model = framework.build(network)
    images, _ = batch(network)
    logits = framework.predict(model, images)
    assert logits.shape == (4, network.spec.classes) and logits.dtype == np.float32
    np.testing.assert_array_equal(framework.predict(model, images), logits)


def _settings(framework: TorchFramework, network: Network) -> dict[str, dict[str, dict[str, Any]]]:
    settings = framework.effective_settings(framework.build(network), network).as_dict()
    json.dumps(settings)  # they travel from the worker as JSON
    return settings


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [
        ("sgd", {"lr": 0.05, "momentum": 0.5, "nesterov": True, "dampening": 0.0, "weight_decay": 0.0}),
        ("momentum", {"lr": 0.05, "momentum": 0.8, "nesterov": False}),
        ("adam", {"lr": 0.002, "betas": [0.8, 0.99], "eps": 1e-6, "amsgrad": False}),
        ("adadelta", {"lr": 0.5, "rho": 0.9, "eps": 1e-5}),
        ("rmsprop", {"lr": 0.003, "alpha": 0.8, "eps": 1e-4, "momentum": 0.1, "centered": True}),
    ],
)
def test_optimizer_hyperparameters_are_passed_explicitly(
        framework: TorchFramework, make_network: MakeNetwork, optimizer: str, expected: dict[str, Any]) -> None:
    settings = _settings(framework, small_network(make_network, OPTIMIZERS[optimizer]))["optimizer"]
    for name, value in expected.items():
        assert settings[name]["value"] == pytest.approx(value), name
        assert not settings[name]["default"]
    assert all(not setting["default"] for setting in settings.values())


def test_the_neutral_adam_epsilon_replaces_pytorchs_default(framework: TorchFramework, make_network: MakeNetwork) -> None:
    settings = _settings(framework, small_network(make_network, {"name": "adam"}))["optimizer"]
    assert settings["eps"]["value"] == pytest.approx(1e-7) and settings["eps"]["neutral"] == pytest.approx(1e-7)
    assert settings["eps"]["value"] != torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults["eps"]


def test_layer_settings_show_pytorch_values_next_to_neutral_ones(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = small_network(make_network, OPTIMIZERS["adam"])
    settings = _settings(framework, network)
    norm = settings["batch_norm_1"]
    assert norm["momentum"]["value"] == pytest.approx(0.1) and norm["momentum"]["neutral"] == 0.9
    assert norm["epsilon"]["value"] == pytest.approx(0.01)
    assert norm["gamma_initializer"]["default"] and norm["moving_variance_initializer"]["value"] == "ones"
    conv = settings["conv_1"]
    assert conv["padding_pixels"]["value"] == [0, 1, 0, 1]  # 10 -> 5 at stride 2: the extra pixel bottom/right
    assert conv["padding"]["value"] == "F.pad (asymmetric), then conv2d padding=0"
    assert conv["kernel_initializer"]["default"] and conv["activation"]["value"] == "ReLU"
    assert settings["max_pool_1"]["padding_pixels"]["value"] == [0, 1, 0, 1]
    assert settings["dropout_1"]["rate"]["value"] == 0.25
    assert settings["head_flatten_1"]["order"]["value"] == "(C, H, W)"
    assert "input_rows" in settings["head_dense_1"] and "input_rows" not in settings["logits"]
    assert settings["loss"]["reduction"]["value"] == "mean" and settings["loss"]["label_smoothing"]["value"] == 0.0
    runtime = settings["runtime"]
    assert runtime["deterministic_algorithms"]["value"] is True and runtime["seed"]["value"] == 0
    assert runtime["intra_op_threads"]["value"] == framework.threads
    assert runtime["conv_fp32_precision"]["value"] == runtime["matmul_fp32_precision"]["value"] == "ieee"


def test_size_agnostic_padding_is_reported_as_resolved_per_input(framework: TorchFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": "same"}], [None, None, 1])
    settings = _settings(framework, network)
    assert settings["conv_1"]["padding_pixels"]["value"] == "TensorFlow same rule, per input size"


def steps_against_reference(framework: TorchFramework, network: Network, steps: int = 4) -> Any:
    """``steps`` PyTorch steps from neutral weights, compared with the numpy reference (dropout off)."""
    from harness.equivalence.train_compare import compare_runs
    from harness.runner.train_parity import reference_run, training_batches
    from harness.runner.train_parity_task import framework_run, without_dropout
    from harness.neutral.weights import initial_weights

    network = without_dropout(network)
    start, batches = initial_weights(network, 0), training_batches(network, steps, 4, 0)
    expected = reference_run(network, start, batches, TorchFramework.training_conventions)
    return compare_runs(network.key, framework_run(framework, network, start, batches), expected, start, expected)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_steps_match_the_numpy_reference(framework: TorchFramework, make_network: MakeNetwork, optimizer: str) -> None:
    pair = steps_against_reference(framework, small_network(make_network, OPTIMIZERS[optimizer]))
    assert pair.passed, pair.first_divergence


def test_planted_missing_zero_grad_is_caught(framework: TorchFramework, make_network: MakeNetwork,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The survivor: optimizer.zero_grad() removed from the step, so gradients accumulate."""
    from harness.framework import StepResult
    from harness_torch import runtime
    from harness_torch import train as torch_train

    def step_without_zero_grad(trainer: torch_train.Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        targets = runtime.labels_to_native(labels, trainer.device)
        trainer.model.train()
        logits = trainer.model(runtime.images_to_native(images, trainer.device))
        loss = trainer.loss(logits, targets)
        loss.backward()
        trainer.optimizer.step()
        return StepResult(loss=float(loss.item()), correct=int((logits.argmax(dim=1) == targets).sum().item()))

    monkeypatch.setattr(torch_train, "step", step_without_zero_grad)
    pair = steps_against_reference(framework, small_network(make_network, OPTIMIZERS["momentum"]))
    assert pair.first_divergence is not None and pair.first_divergence.step == 2, pair.first_divergence
