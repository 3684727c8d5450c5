"""Training: each optimizer follows the neutral update rule with the spec's hyperparameters, the
step is compiled once per batch shape, batch norm and dropout train, and the settings read back."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.spec import Network
from harness.spec.network import with_train
from harness.neutral.weights import initial_weights
from harness_jax.framework import JaxFramework

MakeNetwork = Callable[..., Network]
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {"name": "sgd", "lr": 0.05, "momentum": 0.0, "nesterov": False},
    "momentum": {"name": "momentum", "lr": 0.05, "momentum": 0.8, "nesterov": False},
    "nesterov": {"name": "momentum", "lr": 0.02, "momentum": 0.7, "nesterov": True},
    "adam": {"name": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
    "adadelta": {"name": "adadelta", "lr": 0.5, "rho": 0.9, "epsilon": 1e-5},
    "rmsprop": {"name": "rmsprop", "lr": 0.003, "rho": 0.8, "momentum": 0.0, "epsilon": 1e-4, "centered": False},
    "rmsprop_centered_momentum": {"name": "rmsprop", "lr": 0.003, "rho": 0.8, "momentum": 0.3, "epsilon": 1e-4,
                                  "centered": True},
}
STEPS = 3
BATCH = 4


def linear_network(make_network: MakeNetwork, optimizer: dict[str, Any]) -> Network:
    """Flatten then logits: the loss's gradient is simple enough to write in numpy."""
    return make_network([{"type": "activation", "function": "linear"}], [2, 2, 1], head={"type": "flatten"}, train={"optimizer": optimizer, "batch_size": BATCH})


def batch(network: Network, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, *network.input_shape), dtype=np.float32), rng.integers(0, network.spec.classes, BATCH)


def _gradients(w: np.ndarray, b: np.ndarray, x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = x @ w + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1.0
    p /= len(labels)
    return x.T @ p, p.sum(axis=0)


def _neutral_updates(spec: dict[str, Any]) -> Callable[[np.ndarray, dict[str, np.ndarray], int], np.ndarray]:
    """The update (to add) for a gradient: Keras' rules, with optax's documented adam epsilon."""
    lr = spec["lr"]

    def update(g: np.ndarray, s: dict[str, np.ndarray], t: int) -> np.ndarray:
        name = spec["name"]
        if name in ("sgd", "momentum"):
            m = spec["momentum"]
            s["v"] = m * s.get("v", 0.0) - lr * g
            return m * s["v"] - lr * g if spec["nesterov"] else s["v"]
        if name == "adam":
            b1, b2 = spec["beta1"], spec["beta2"]
            s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
            s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
            return -lr * (s["m"] / (1 - b1**t)) / (np.sqrt(s["v"] / (1 - b2**t)) + spec["epsilon"])
        if name == "adadelta":
            rho, eps = spec["rho"], spec["epsilon"]
            s["g2"] = rho * s.get("g2", 0.0) + (1 - rho) * g * g
            delta = -np.sqrt(s.get("d2", 0.0) + eps) / np.sqrt(s["g2"] + eps) * g
            s["d2"] = rho * s.get("d2", 0.0) + (1 - rho) * delta * delta
            return lr * delta
        rho, eps = spec["rho"], spec["epsilon"]
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        denominator = s["v"] + eps
        if spec["centered"]:
            s["mg"] = rho * s.get("mg", 0.0) + (1 - rho) * g
            denominator = denominator - s["mg"] ** 2
        increment = lr * g / np.sqrt(denominator)
        if spec["momentum"] > 0:
            s["mom"] = spec["momentum"] * s.get("mom", 0.0) + increment
            return -s["mom"]
        return -increment

    return update


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_follows_the_neutral_rule(framework: JaxFramework, make_network: MakeNetwork, optimizer: str) -> None:
    spec = OPTIMIZERS[optimizer]
    network = linear_network(make_network, spec)
    model = framework.build(network)
    weights = initial_weights(network, seed=2)
    framework.load_weights(model, weights)
    trainer = framework.prepare_training(model, network.spec.train)
    images, labels = batch(network)
    w, b = (weights["logits"][name].astype(np.float64) for name in ("kernel", "bias"))
    update, state_w, state_b = _neutral_updates(spec), {}, {}
    x = images.reshape(BATCH, -1).astype(np.float64)
    for t in range(1, STEPS + 1):
        result = framework.train_step(trainer, images, labels)
        assert math.isfinite(result.loss) and 0 <= result.correct <= BATCH
        gw, gb = _gradients(w, b, x, labels)
        w, b = w + update(gw, state_w, t), b + update(gb, state_b, t)
    after = framework.export_weights(model)["logits"]
    np.testing.assert_allclose(after["kernel"], w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(after["bias"], b, rtol=1e-4, atol=1e-6)


def test_the_step_is_compiled_once_per_batch_shape(framework: JaxFramework, make_network: MakeNetwork) -> None:
    network = make_network([{"type": "conv", "filters": 3, "kernel": 3}, {"type": "batch_norm", "momentum": 0.9},
                            {"type": "dropout", "rate": 0.5}], [6, 6, 1], head={"type": "global_avg"},
                           train={"optimizer": OPTIMIZERS["adam"], "batch_size": BATCH})
    model = framework.build(network)
    before = framework.export_weights(model)
    trainer = framework.prepare_training(model, network.spec.train)
    images, labels = batch(network)
    losses = [framework.train_step(trainer, images, labels).loss for _ in range(STEPS)]
    assert trainer.step._cache_size() == 1
    assert len(set(losses)) == STEPS, "the loss must change from step to step"
    after = framework.export_weights(model)
    assert not np.array_equal(after["batch_norm_1"]["moving_mean"], before["batch_norm_1"]["moving_mean"])
    assert np.array_equal(framework.predict(model, images), framework.predict(model, images)), "dropout off in inference"


def test_the_same_seed_gives_the_same_initial_weights_and_losses(make_network: MakeNetwork) -> None:
    network = linear_network(make_network, OPTIMIZERS["sgd"])
    images, labels = batch(network, seed=1)
    runs = []
    for _ in range(2):
        framework = JaxFramework(threads=1, seed=7)
        model = framework.build(network)
        trainer = framework.prepare_training(model, network.spec.train)
        runs.append((framework.export_weights(model)["logits"]["kernel"], framework.train_step(trainer, images, labels).loss))
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]


@pytest.mark.parametrize("optimizer", ["nesterov", "adam", "rmsprop_centered_momentum"])
def test_optimizer_settings_are_read_back_from_the_optax_state(framework: JaxFramework, make_network: MakeNetwork,
                                                               optimizer: str) -> None:
    network = linear_network(make_network, OPTIMIZERS[optimizer])
    model = framework.build(network)
    framework.prepare_training(model, network.spec.train)
    group = framework.effective_settings(model, network).groups["optimizer"]
    spec = network.spec.train.optimizer.model_dump()
    assert group["learning_rate"].value == spec["lr"] and group["learning_rate"].neutral == spec["lr"]
    neutral = {setting.neutral for setting in group.values() if not setting.note.startswith("fixed")}
    assert {value for name, value in spec.items() if name != "name"} <= neutral | {True, False}
    fixed = {name for name, setting in group.items() if setting.note == "fixed by the neutral convention"}
    assert fixed == {"adam": {"eps_root", "nesterov"}, "nesterov": set(),
                     "rmsprop_centered_momentum": {"initial_scale", "eps_in_sqrt", "nesterov", "bias_correction"}}[optimizer]


@pytest.mark.parametrize("init", ["framework", "shared"])
def test_initialisers_say_whether_neutral_weights_were_loaded(framework: JaxFramework, make_network: MakeNetwork,
                                                              init: str) -> None:
    network = with_train(make_network([{"type": "batch_norm", "momentum": 0.95, "epsilon": 0.002}], [4, 4, 2],
                                      head={"type": "flatten"}), init=init)
    model = framework.build(network)
    if init == "shared":
        framework.load_weights(model, initial_weights(network, seed=0))
    settings = framework.effective_settings(model, network).groups
    kernel, gamma = settings["logits"]["kernel_initializer"], settings["batch_norm_1"]["gamma_initializer"]
    if init == "shared":
        assert (kernel.value, kernel.neutral, kernel.default) == ("neutral weights (harness.neutral.weights)", "shared", False)
    else:
        assert (kernel.value, gamma.value, kernel.default) == ("lecun_normal", "ones", True)
    assert (settings["batch_norm_1"]["momentum"].value, settings["batch_norm_1"]["epsilon"].value) == (0.95, 0.002)
