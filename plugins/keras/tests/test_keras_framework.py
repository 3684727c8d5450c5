"""The Keras framework class: discovery, devices, threads, training steps, weights, settings."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from harness.plugins import discover, frameworks, worker_environment
from harness.neutral.weights import initial_weights
from harness_keras.framework import KerasFramework
from harness_keras.runtime import DeviceError, gpus

SMALL_CNN = [
    {"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same", "activation": "relu"},
    {"type": "max_pool", "pool": 2, "padding": 1},
    {"type": "avg_pool", "pool": 2, "padding": [0, 1, 0, 1]},
]

OPTIMIZERS = {
    "sgd": {"name": "sgd", "lr": 0.05, "momentum": 0.0, "nesterov": False},
    "momentum": {"name": "momentum", "lr": 0.02, "momentum": 0.8, "nesterov": True},
    "adam": {"name": "adam", "lr": 0.003, "beta1": 0.85, "beta2": 0.995, "epsilon": 1e-8},
    "adadelta": {"name": "adadelta", "lr": 0.5, "rho": 0.9, "epsilon": 1e-6},
    "rmsprop": {"name": "rmsprop", "lr": 0.002, "rho": 0.8, "momentum": 0.5, "epsilon": 1e-6, "centered": True},
}


def test_the_plugin_registers_keras_through_its_entry_point() -> None:
    assert frameworks()["keras"].framework is KerasFramework


def test_keras_workers_get_the_tensorflow_backend_and_quiet_logs() -> None:
    manager = discover().manager
    assert worker_environment(manager, "keras", 1, "cpu") == {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    assert "KERAS_BACKEND" not in worker_environment(manager, "some_other_framework", 1, "cpu")


def test_discovery_does_not_import_tensorflow() -> None:
    code = "import sys, harness.plugins as p; p.frameworks(); assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_and_availability_come_from_package_metadata() -> None:
    from harness_keras.runtime import keras, tf

    assert KerasFramework.version() == f"{keras.__version__} (TensorFlow {tf.__version__})"
    assert KerasFramework.unavailable_reason() is None


def test_devices_and_thread_settings(framework: KerasFramework) -> None:
    assert framework.devices()[0] == "cpu"
    assert framework.thread_settings() == {"intra_op_parallelism_threads": 1, "inter_op_parallelism_threads": 1}


@pytest.mark.skipif(bool(gpus()), reason="a GPU is present, so cuda is available")
def test_cuda_without_a_gpu_is_a_clear_error(framework: KerasFramework) -> None:
    with pytest.raises(DeviceError, match="no GPU"):
        KerasFramework(device="cuda", threads=framework.threads, seed=framework.seed)


def test_an_unknown_device_is_a_clear_error(framework: KerasFramework) -> None:
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        KerasFramework(device="tpu", threads=framework.threads, seed=framework.seed)


def test_a_step_counts_the_correct_predictions_of_its_own_batch(framework: KerasFramework, make_network) -> None:
    network = make_network(SMALL_CNN, [8, 8, 1])
    built = framework.build(network)
    trainer = framework.prepare_training(built, network.spec.train)
    rng = np.random.default_rng(0)
    for _ in range(3):  # no dropout or batch norm: the training forward pass equals inference
        images = rng.random((16, 8, 8, 1), dtype=np.float32)
        labels = rng.integers(0, 3, 16)
        expected = int((framework.predict(built, images).argmax(axis=1) == labels).sum())
        assert framework.train_step(trainer, images, labels).correct == expected


def test_training_steps_lower_the_loss_on_a_fixed_batch(framework: KerasFramework, make_network) -> None:
    network = make_network(SMALL_CNN, [8, 8, 1], train={"optimizer": OPTIMIZERS["adam"]})
    built = framework.build(network)
    trainer = framework.prepare_training(built, network.spec.train)
    images = np.random.default_rng(0).random((8, 8, 8, 1), dtype=np.float32)
    labels = np.arange(8) % 3
    losses = [framework.train_step(trainer, images, labels).loss for _ in range(30)]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_optimizer_hyperparameters_are_read_back_as_the_spec_wrote_them(framework: KerasFramework, make_network, optimizer: str) -> None:
    network = make_network(SMALL_CNN, [8, 8, 1], train={"optimizer": OPTIMIZERS[optimizer]})
    built = framework.build(network)
    framework.prepare_training(built, network.spec.train)
    group = framework.effective_settings(built, network).groups["optimizer"]
    assert group["class"].value == {"adam": "Adam", "adadelta": "Adadelta", "rmsprop": "RMSprop"}.get(optimizer, "SGD")
    written = {key: value for key, value in OPTIMIZERS[optimizer].items() if key != "name"}
    keras_names = {"lr": "learning_rate", "beta1": "beta_1", "beta2": "beta_2"}
    for key, value in written.items():
        setting = group[keras_names.get(key, key)]
        assert (setting.value, setting.neutral, setting.default) == (pytest.approx(value), pytest.approx(value), False), key


def test_effective_settings_report_padding_defaults_and_runtime(framework: KerasFramework, make_network) -> None:
    network = make_network(SMALL_CNN + [{"type": "batch_norm", "momentum": 0.95, "epsilon": 1e-4}], [8, 8, 1])
    settings = framework.effective_settings(framework.build(network), network)
    groups = settings.groups
    assert groups["conv_1"]["padding"].value == "same"
    assert groups["conv_1"]["padding_pixels"].value == [0, 1, 0, 1]
    assert groups["conv_1"]["kernel_initializer"].default is True
    assert groups["max_pool_1"]["padding_pixels"].value == [1, 1, 1, 1]
    assert "-inf" in groups["max_pool_1"]["padding"].note
    assert "left out" in groups["avg_pool_1"]["padding"].note
    assert (groups["batch_norm_1"]["momentum"].value, groups["batch_norm_1"]["epsilon"].value) == (0.95, 1e-4)
    assert groups["batch_norm_1"]["moving_variance_initializer"].value == "Ones"
    assert (groups["loss"]["from_logits"].value, groups["loss"]["reduction"].value) == (True, "sum_over_batch_size")
    assert groups["runtime"]["op_determinism"].value is True
    assert groups["runtime"]["intra_op_threads"].value == framework.threads
    json.dumps(settings.as_dict())


def test_weights_that_do_not_fit_are_refused_by_name(framework: KerasFramework, make_network) -> None:
    network = make_network(SMALL_CNN, [8, 8, 1])
    built = framework.build(network)
    weights = initial_weights(network, seed=0)
    missing = {layer: dict(tensors) for layer, tensors in weights.items()}
    del missing["conv_1"]["bias"]
    with pytest.raises(ValueError, match="lack conv_1/bias"):
        framework.load_weights(built, missing)
    extra = {**weights, "nowhere": {"kernel": np.zeros(1, np.float32)}}
    with pytest.raises(ValueError, match="nowhere/kernel"):
        framework.load_weights(built, extra)
    wrong = {**weights, "logits": {**weights["logits"], "kernel": np.zeros((3, 3), np.float32)}}
    with pytest.raises(ValueError, match=r"logits/kernel has shape \(3, 3\)"):
        framework.load_weights(built, wrong)
