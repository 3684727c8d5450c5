"""Keras 3 on PyTorch and on JAX: frameworks of their own, each chosen before Keras is imported.

A process holds one Keras backend, so everything that imports Keras on a backend other than this
session's TensorFlow runs in a subprocess of its own.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from harness.plugins import discover, frameworks, worker_environment
from harness_keras.framework import KerasFramework, KerasJaxFramework, KerasTorchFramework

BACKENDS = {"keras-torch": (KerasTorchFramework, "torch"), "keras-jax": (KerasJaxFramework, "jax")}

PROGRAM = """
import json, sys
import numpy as np
from harness.equivalence import reference
from harness.testing.specs import inline_network
from harness.neutral.weights import initial_weights
from harness.plugins import framework_class

framework = framework_class(sys.argv[1])(threads=1, seed=0)
network = inline_network(
    [{"type": "conv", "filters": 3, "kernel": 3, "stride": 2, "padding": "same", "activation": "relu"},
     {"type": "batch_norm", "momentum": 0.9}, {"type": "max_pool", "pool": 2, "padding": 1},
     {"type": "depthwise_conv", "kernel": 3, "depth_multiplier": 2, "padding": "same"}],
    [9, 9, 2], head={"type": "flatten", "hidden": [5], "dropout": 0.2},
    train={"optimizer": {"name": "rmsprop", "momentum": 0.5, "centered": True}, "batch_size": 4})
model = framework.build(network)
weights = initial_weights(network, 1)
framework.load_weights(model, weights)
x = np.random.default_rng(0).random((4, 9, 9, 2), dtype=np.float32)
got, want = framework.layer_outputs(model, x), reference.layer_outputs(network, weights, x)
worst = max(float(np.abs(got[k] - want[k]).max()) for k in want)
trainer = framework.prepare_training(model, network.spec.train)
steps = [framework.train_step(trainer, x, np.arange(4) % network.spec.classes) for _ in range(2)]
runtime = framework.effective_settings(model, network).as_dict()["runtime"]
print(json.dumps({
    "worst": worst, "losses": [s.loss for s in steps], "correct": [s.correct for s in steps],
    "changed": not np.array_equal(framework.export_weights(model)["logits"]["kernel"], weights["logits"]["kernel"]),
    "backend": runtime["backend"]["value"], "threads": framework.thread_settings(),
    "tensorflow": "tensorflow" in sys.modules,
}))
"""

OWN_STEP_PROGRAM = """
import json, sys
import numpy as np
from harness.testing.specs import inline_network
from harness.neutral.weights import initial_weights
from harness.plugins import framework_class

framework = framework_class(sys.argv[1])(threads=1, seed=0)  # chooses the backend before Keras is imported
from harness_keras.train import make_loss, make_optimizer
network = inline_network(
    [{"type": "conv", "filters": 3, "kernel": 3, "padding": 1, "activation": "relu"},
     {"type": "batch_norm", "momentum": 0.9}, {"type": "max_pool", "pool": 2}],
    [8, 8, 2], head={"type": "flatten", "hidden": [5]}, train={"optimizer": {"name": "adam"}, "batch_size": 4})
weights = initial_weights(network, 1)
rng = np.random.default_rng(0)
batches = [(rng.random((4, 8, 8, 2), dtype=np.float32), rng.integers(0, network.spec.classes, 4)) for _ in range(3)]
ours, keras_own = framework.build(network), framework.build(network)
for built in (ours, keras_own):
    framework.load_weights(built, weights)
trainer = framework.prepare_training(ours, network.spec.train)
keras_own.model.compile(optimizer=make_optimizer(network.spec.train.optimizer), loss=make_loss(), metrics=["accuracy"])
steps = [framework.train_step(trainer, x, y) for x, y in batches]
keras_logs = [keras_own.model.train_on_batch(x, y, return_dict=True) for x, y in batches]
held = getattr(trainer.step, "state", None) is not None  # JAX's step holds the values
logits, keras_logits = framework.predict(ours, batches[0][0]), keras_own.model.predict_on_batch(batches[0][0])
exported, keras_exported = framework.export_weights(ours), framework.export_weights(keras_own)
framework.load_weights(ours, weights)
print(json.dumps({
    "losses": [s.loss for s in steps], "keras_losses": [float(l["loss"]) for l in keras_logs],
    "correct": [s.correct for s in steps], "keras_correct": [round(float(l["accuracy"]) * 4) for l in keras_logs],
    "held_between_steps": held,
    "logits": float(np.abs(logits - keras_logits).max()),
    "weights": max(float(np.abs(exported[l][n] - keras_exported[l][n]).max()) for l in exported for n in exported[l]),
    "moving_mean_moved": not np.array_equal(exported["batch_norm_1"]["moving_mean"], weights["batch_norm_1"]["moving_mean"]),
    "after_reload": framework.train_step(trainer, *batches[0]).loss,
}))
"""


@pytest.mark.parametrize("name", BACKENDS)
def test_the_plugins_own_step_trains_as_train_on_batch_does(name: str) -> None:
    """The plugin's own step (``harness_keras.jax_step``'s jitted step on held values,
    ``harness_keras.torch_step``'s eager one) gives Keras' own ``train_on_batch``'s losses, correct
    counts, weights and batch-norm statistics; on JAX a read writes the held values back; on both,
    a weight load in between is what the next step trains from."""
    cls, backend = BACKENDS[name]
    if cls.unavailable_reason():
        pytest.skip(cls.unavailable_reason())
    result = subprocess.run([sys.executable, "-c", OWN_STEP_PROGRAM, name], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["held_between_steps"] == (backend == "jax")
    assert report["losses"] == pytest.approx(report["keras_losses"], rel=1e-5)
    assert report["correct"] == report["keras_correct"]
    assert report["logits"] < 1e-5 and report["weights"] < 1e-5 and report["moving_mean_moved"]
    assert report["after_reload"] == pytest.approx(report["losses"][0], rel=1e-6)


def test_the_keras_plugin_registers_keras_on_every_backend() -> None:
    found = frameworks()
    assert found["keras"].framework is KerasFramework
    for name, (cls, _) in BACKENDS.items():
        assert found[name].framework is cls and found[name].plugin == "keras"


@pytest.mark.parametrize("name", BACKENDS)
def test_versions_name_the_backend(name: str) -> None:
    cls, backend = BACKENDS[name]
    if cls.unavailable_reason():
        pytest.skip(cls.unavailable_reason())
    display = {"torch": "PyTorch", "jax": "JAX"}[backend]
    assert f"({display} {__import__('importlib.metadata').metadata.version(backend)})" in cls.version()


@pytest.mark.parametrize(("name", "threads", "device", "expected"), [
    ("keras", 2, "cpu", {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}),
    ("keras-torch", 2, "cpu", {"KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}),
    ("keras-torch", 2, "cuda", {"KERAS_BACKEND": "torch"}),
    ("keras-jax", 3, "cpu", {"KERAS_BACKEND": "jax", "NPROC": "3", "JAX_PLATFORMS": "cpu"}),
])
def test_each_worker_gets_its_backend_before_keras_starts(name: str, threads: int, device: str, expected: dict) -> None:
    env = worker_environment(discover().manager, name, threads, device)
    assert expected.items() <= env.items()
    if device == "cuda":
        assert "CUDA_VISIBLE_DEVICES" not in env


@pytest.mark.parametrize("name", BACKENDS)
def test_keras_on_another_backend_matches_the_reference_and_trains_without_tensorflow(name: str) -> None:
    cls, backend = BACKENDS[name]
    if cls.unavailable_reason():
        pytest.skip(cls.unavailable_reason())
    result = subprocess.run([sys.executable, "-c", PROGRAM, name], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["worst"] < 1e-4
    assert all(math.isfinite(loss) for loss in report["losses"]) and report["losses"][0] != report["losses"][1]
    assert report["changed"] and report["backend"] == backend
    assert not report["tensorflow"], "a Keras job on another backend must not import TensorFlow"
    counts = [v for v in report["threads"].values() if isinstance(v, int) and not isinstance(v, bool)]
    assert counts and set(counts) == {1}


def test_another_backend_in_a_tensorflow_process_is_a_clear_error(framework: KerasFramework) -> None:
    with pytest.raises(RuntimeError, match="already imported in this process on the 'tensorflow' backend"):
        KerasTorchFramework(threads=1)
