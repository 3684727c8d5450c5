"""The Paddle framework class: registered in the harness process, used in a worker subprocess.

Nothing at module level imports Paddle: the class body and the class methods the harness calls
for discovery stay framework-free. ``__init__`` imports :mod:`harness_paddle.runtime` (which
imports Paddle) in the worker, and the other methods import the plugin modules that need it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.framework import (
    EffectiveSettings, Framework, Mode, NeutralWeights, ParamCount, StepResult, TrainingConventions,
)
from harness.spec import Network
from harness.spec.schema import Train

if TYPE_CHECKING:
    from harness_paddle.build import PaddleNetwork
    from harness_paddle.train import PaddleTrainer

THREAD_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The variables Paddle's OpenMP and MKL thread pools read at start-up."""


class PaddleFramework(Framework):
    """PaddlePaddle in dygraph mode, channels-first, on CPU or CUDA."""

    name = "paddle"
    display_name = "PaddlePaddle"
    module = "paddle"
    distribution = "paddlepaddle"
    install_hint = "pip install -e plugins/paddle  (or: pip install 'harness[paddle]')"
    compiled_mode = "paddle.jit.to_static, full graph (AST conversion), Paddle's executor (no CINN)"
    # paddle.optimizer.Adam has no argument that moves epsilon before the bias correction.
    training_conventions = TrainingConventions(adam_epsilon="after_correction")
    float64_unavailable = None

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0, mode: Mode = "eager") -> None:
        """Import Paddle and apply the thread count, device, seed and determinism flags."""
        super().__init__(device, threads, seed, mode)
        from harness_paddle import runtime
        from harness_paddle.compile import Compiled

        runtime.configure(device, threads, seed)
        self.runnable = Compiled() if mode == "compiled" else (lambda model: model)

    def use_float64(self) -> None:
        from harness_paddle import runtime

        runtime.use_float64()

    def devices(self) -> list[str]:
        from harness.devices import available_devices
        from harness_paddle import runtime

        return available_devices(runtime.cuda_available())

    def thread_settings(self) -> dict[str, Any]:
        from harness_paddle.runtime import paddle

        # Paddle has no getter for core.set_num_threads; its flag and the OpenMP/MKL variables it
        # reads are what can be read back (threadpoolctl reports the native pools separately).
        flags = paddle.get_flags(["FLAGS_paddle_num_threads"])
        return flags | {name: os.environ.get(name) for name in THREAD_ENVIRONMENT}

    def build(self, network: Network) -> PaddleNetwork:
        from harness_paddle.build import PaddleNetwork

        return PaddleNetwork(network)

    def count_params(self, model: PaddleNetwork) -> dict[str, ParamCount]:
        from harness_paddle import weights as paddle_weights

        return paddle_weights.count_params(model)

    def effective_settings(self, model: PaddleNetwork, network: Network) -> EffectiveSettings:
        from harness_paddle.settings import effective_settings

        settings = effective_settings(model, network, self.seed)
        if self.mode == "compiled":
            from harness_paddle.compile import add_settings

            add_settings(settings)
        return settings

    def prepare_training(self, model: PaddleNetwork, train: Train) -> PaddleTrainer:
        from harness_paddle import train as paddle_train

        return paddle_train.prepare(model, train, forward=self.runnable(model))

    def train_step(self, trainer: PaddleTrainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        from harness_paddle import train as paddle_train

        return paddle_train.step(trainer, images, labels)

    def predict(self, model: PaddleNetwork, images: np.ndarray) -> np.ndarray:
        from harness_paddle import train as paddle_train

        return paddle_train.predict(self.runnable(model), images)

    def load_weights(self, model: PaddleNetwork, weights: NeutralWeights) -> None:
        from harness_paddle import weights as paddle_weights

        paddle_weights.load(model, weights)

    def export_weights(self, model: PaddleNetwork) -> NeutralWeights:
        from harness_paddle import weights as paddle_weights

        return paddle_weights.export(model)

    def layer_outputs(self, model: PaddleNetwork, images: np.ndarray) -> Mapping[str, np.ndarray]:
        """Every layer's output in inference mode, channels-last; flattened vectors in (H, W, C) order."""
        from harness_paddle import train as paddle_train

        return paddle_train.layer_outputs(model, images)

    def synchronize(self) -> None:
        if self.device.startswith("cuda"):
            from harness_paddle.runtime import paddle

            paddle.device.synchronize()
