"""The PyTorch framework as the harness drives it.

The class body runs in the harness's own process and imports no torch; every method below
``__init__`` runs in a worker subprocess and imports the torch-side modules on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.framework import (
    EffectiveSettings, Framework, Mode, NeutralWeights, ParamCount, StepResult, TrainingConventions,
)
from harness.spec import Network
from harness.spec.schema import Train

if TYPE_CHECKING:
    from harness_torch.layers import NeutralNet
    from harness_torch.train import Trainer


class TorchFramework(Framework):
    """PyTorch, eager mode or ``torch.compile`` (inductor), channels-first, float32."""

    name = "torch"
    display_name = "PyTorch"
    module = "torch"
    distribution = "torch"
    install_hint = "pip install -e plugins/torch"
    compiled_mode = "torch.compile, inductor backend (needs a C++ compiler on CPU)"
    # No argument of torch.optim.Adam, torch.optim.RMSprop or nn.BatchNorm2d removes these.
    training_conventions = TrainingConventions(adam_epsilon="after_correction", rmsprop_epsilon="outside_sqrt",
                                               bn_moving_variance="unbiased")
    float64_unavailable = None

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0, mode: Mode = "eager") -> None:
        """Check the device, then set threads, seeds, deterministic algorithms and IEEE float32."""
        super().__init__(device, threads, seed, mode)
        from harness_torch import runtime
        from harness_torch.compile import Compiled

        runtime.configure(device, threads, seed)
        self.runnable = Compiled(threads) if mode == "compiled" else (lambda model: model)

    def use_float64(self) -> None:
        from harness_torch import runtime

        runtime.use_float64()

    def devices(self) -> list[str]:
        from harness_torch import runtime

        return runtime.available_devices()

    def thread_settings(self) -> dict[str, Any]:
        from harness_torch import runtime

        return runtime.thread_settings()

    def build(self, network: Network) -> NeutralNet:
        """The network on ``self.device``, initialised by PyTorch from ``self.seed``."""
        import torch

        from harness_torch.build import build_model

        torch.manual_seed(self.seed)
        return build_model(network).to(self.device)

    def count_params(self, model: NeutralNet) -> dict[str, ParamCount]:
        from harness_torch import weights as torch_weights

        return torch_weights.count_params(model)

    def effective_settings(self, model: NeutralNet, network: Network) -> EffectiveSettings:
        from harness_torch.settings import effective_settings

        settings = effective_settings(model, network, self.device, self.seed)
        if self.mode == "compiled":
            from harness_torch.compile import add_settings

            add_settings(settings)
        return settings

    def prepare_training(self, model: NeutralNet, train: Train) -> Trainer:
        from harness_torch import train as torch_train

        return torch_train.prepare(self.runnable(model), train, self.device)

    def train_step(self, trainer: Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        from harness_torch import train as torch_train

        return torch_train.step(trainer, images, labels)

    def predict(self, model: NeutralNet, images: np.ndarray) -> np.ndarray:
        from harness_torch import train as torch_train

        return torch_train.predict(self.runnable(model), images, self.device)

    def load_weights(self, model: NeutralNet, weights: NeutralWeights) -> None:
        from harness_torch import weights as torch_weights

        torch_weights.load(model, weights)

    def export_weights(self, model: NeutralNet) -> NeutralWeights:
        from harness_torch import weights as torch_weights

        return torch_weights.export(model)

    def layer_outputs(self, model: NeutralNet, images: np.ndarray) -> Mapping[str, np.ndarray]:
        """Every layer's output in inference mode, channels-last; flattened vectors in (H, W, C) order."""
        from harness_torch import train as torch_train

        return torch_train.layer_outputs(model, images, self.device)

    def synchronize(self) -> None:
        from harness_torch import runtime

        runtime.synchronize(self.device)
