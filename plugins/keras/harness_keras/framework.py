"""Keras 3 as the harness drives it, one framework per backend (TensorFlow, PyTorch, JAX).

The class bodies import nothing from Keras or a backend: the harness process reads their class
variables, and every method that needs Keras runs in a worker subprocess, importing it on first
use, after ``__init__`` has chosen the backend.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.framework import (
    EffectiveSettings,
    Framework,
    Mode,
    NeutralWeights,
    ParamCount,
    StepResult,
)
from harness.spec import Network
from harness.spec.schema import Train
from harness_keras.backends import BACKENDS, JAX, TENSORFLOW, TORCH, worker_environment

if TYPE_CHECKING:
    from harness_keras.build import KerasNetwork
    from harness_keras.train import Trainer

TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu")


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


class KerasFramework(Framework):
    """Keras 3 on the TensorFlow backend, channels-last, with traced training and inference."""

    name = "keras"
    display_name = "Keras/TensorFlow"
    module = "tensorflow"
    distribution = "tensorflow-cpu"
    install_hint = "pip install -e plugins/keras"
    compiled_mode = "XLA: jit_compile=True on the traced training step and forward pass"
    backend: ClassVar[str] = TENSORFLOW
    """The Keras backend (``KERAS_BACKEND``) this framework runs on."""
    float64_unavailable = None

    @classmethod
    def version(cls) -> str | None:
        """Keras' version with its backend's, e.g. ``3.15.1 (TensorFlow 2.21.0)`` (no import)."""
        if cls.backend == TENSORFLOW:
            found = next((v for v in map(_installed, TENSORFLOW_DISTRIBUTIONS) if v), None)
        else:
            found = _installed(BACKENDS[cls.backend].distribution)
        if found is None:
            return None
        keras = _installed("keras")
        display = BACKENDS[cls.backend].display
        return f"{keras} ({display} {found})" if keras else f"{display} {found}"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why the backend or Keras cannot be used here, or None (no import)."""
        reason = super().unavailable_reason()
        if reason is None and importlib.util.find_spec("keras") is None:
            return f"the module 'keras' is not installed; install it with: {cls.install_hint}"
        return reason

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0, mode: Mode = "eager") -> None:
        super().__init__(device, threads, seed, mode)
        if "keras" not in sys.modules:  # a worker has these already; a process of its own needs them now
            os.environ.update(worker_environment(self.backend, threads, device))
        from harness_keras import runtime

        if runtime.BACKEND != self.backend:
            raise RuntimeError(
                f"Keras was already imported in this process on the '{runtime.BACKEND}' backend; the framework "
                f"'{self.name}' needs '{self.backend}'. Run each Keras backend in a process of its own."
            )
        runtime.configure(device, threads, seed)
        if mode == "compiled":
            from harness_keras.compile import configure

            configure()

    def use_float64(self) -> None:
        if self.float64_unavailable is not None:
            super().use_float64()
        from harness_keras import runtime

        runtime.use_float64()

    def devices(self) -> list[str]:
        from harness_keras.runtime import CPU, CUDA, gpus

        return [CPU, CUDA] if gpus() else [CPU]

    def thread_settings(self) -> dict[str, Any]:
        from harness_keras.runtime import thread_settings

        return thread_settings()

    def build(self, network: Network) -> KerasNetwork:
        from harness_keras.build import build_model

        built = build_model(network)
        if self.mode == "compiled":
            from harness_keras.compile import jit_forward

            jit_forward(built)
        return built

    def build_structure(self, network: Network) -> KerasNetwork:
        """The model with its variables declared, never initialised (a ``keras.StatelessScope``
        that leaves them so): no initialiser runs, and on JAX no per-shape compile (Keras on JAX:
        about 8 s of building for the specs' 19 networks against 1). Keras keeps such variables in
        a list it initialises at the next scope that asks to; a counting worker opens none."""
        from harness_keras.build import build_model
        from harness_keras.runtime import keras

        with keras.StatelessScope(initialize_variables=False):
            return build_model(network)

    def count_params(self, model: KerasNetwork) -> dict[str, ParamCount]:
        def size(variables: list[Any]) -> int:
            return sum(int(np.prod(variable.shape)) for variable in variables)

        return {
            name: ParamCount(
                trainable=sum(size(layer.trainable_weights) for layer in layers),
                non_trainable=sum(size(layer.non_trainable_weights) for layer in layers),
            )
            for name, layers in model.groups.items()
        }

    def effective_settings(self, model: KerasNetwork, network: Network) -> EffectiveSettings:
        from harness_keras.settings import effective_settings

        settings = effective_settings(model, network, self.seed)
        if self.mode == "compiled":
            from harness_keras.compile import add_settings

            add_settings(settings)
        return settings

    def prepare_training(self, model: KerasNetwork, train: Train) -> Trainer:
        from harness_keras.train import make_trainer

        trainer = make_trainer(model, train)
        if self.mode == "compiled":
            from harness_keras.compile import jit_trainer

            return jit_trainer(trainer)
        return trainer

    def train_step(self, trainer: Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        loss, correct = trainer.run(images, labels)
        return StepResult(loss=loss, correct=correct)

    def predict(self, model: KerasNetwork, images: np.ndarray) -> np.ndarray:
        from harness_keras.train import predict

        return predict(model, images)

    def load_weights(self, model: KerasNetwork, weights: NeutralWeights) -> None:
        from harness_keras.weights import load_weights

        load_weights(model, weights)

    def export_weights(self, model: KerasNetwork) -> NeutralWeights:
        from harness_keras.weights import export_weights

        return export_weights(model)

    def layer_outputs(self, model: KerasNetwork, images: np.ndarray) -> Mapping[str, np.ndarray]:
        from harness_keras.train import layer_outputs

        return layer_outputs(model, images)

    def synchronize(self) -> None:
        from harness_keras.runtime import synchronize

        synchronize(self.device)


class KerasTorchFramework(KerasFramework):
    """Keras 3 on the PyTorch backend: the same Keras model, run by PyTorch (no TensorFlow)."""

    name = "keras-torch"
    display_name = "Keras/PyTorch"
    module = "torch"
    distribution = "torch"
    backend = TORCH
    compiled_mode = None  # harness_keras.compile drives TensorFlow's XLA; this backend has no compiled mode here
    float64_unavailable = ("under a float64 dtype policy, Keras (3.15) on PyTorch still computes batch norm and dense "
                           "layers in float32 (measured: 1e-7 from float64)")


class KerasJaxFramework(KerasFramework):
    """Keras 3 on the JAX backend: the same Keras model, compiled by XLA (no TensorFlow)."""

    name = "keras-jax"
    display_name = "Keras/JAX"
    module = "jax"
    distribution = "jax"
    backend = JAX
    compiled_mode = None  # harness_keras.compile drives TensorFlow's XLA; this backend has no compiled mode here
    eager_compiled_by = ("jax.jit on the plugin's stateless training step (harness_keras.jax_step), and Keras' "
                         "jit_compile='auto' on inference (XLA)")
    float64_unavailable = ("under a float64 dtype policy, Keras (3.15) on JAX still computes batch norm in float32 (its "
                           "type promotion takes float64 with float32 to float32 on this backend)")


KERAS_FRAMEWORKS: tuple[type[KerasFramework], ...] = (KerasFramework, KerasTorchFramework, KerasJaxFramework)
