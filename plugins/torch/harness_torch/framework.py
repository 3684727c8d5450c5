"""The PyTorch framework as the harness drives it.

The class body runs in the harness's own process and imports no torch; every method below
``__init__`` runs in a worker subprocess and imports the torch-side modules on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.framework import EffectiveSettings, Framework, NeutralWeights, ParamCount, StepResult, TrainingConventions
from harness.spec import Network
from harness.spec.schema import Train

if TYPE_CHECKING:
    from harness_torch.modules import NeutralNet
    from harness_torch.training import Trainer


class TorchFramework(Framework):
    """PyTorch, eager mode, channels-first, float32."""

    name = "torch"
    display_name = "PyTorch"
    module = "torch"
    distribution = "torch"
    install_hint = "pip install -e plugins/torch"
    # No argument of torch.optim.Adam, torch.optim.RMSprop or nn.BatchNorm2d removes these.
    training_conventions = TrainingConventions(adam_epsilon="after_correction", rmsprop_epsilon="outside_sqrt",
                                               bn_moving_variance="unbiased")

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0) -> None:
        """Check the device, then set threads, seeds, deterministic algorithms and IEEE float32."""
        super().__init__(device, threads, seed)
        from harness_torch import runtime

        runtime.configure(device, threads, seed)

    def devices(self) -> list[str]:
        from harness_torch import runtime

        return runtime.available_devices()

    def thread_settings(self) -> dict[str, Any]:
        from harness_torch import runtime

        return runtime.thread_settings()

    def build(self, network: Network) -> NeutralNet:
        """The network on ``self.device``, initialised by PyTorch from ``self.seed``."""
        import torch

        from harness_torch.builder import build_model

        torch.manual_seed(self.seed)
        return build_model(network).to(self.device)

    def count_params(self, model: NeutralNet) -> dict[str, ParamCount]:
        from harness_torch.conventions import NON_TRAINABLE_BUFFERS

        counts: dict[str, ParamCount] = {}
        for node in model.network.walk():
            if node.name not in model.layers:
                counts[node.name] = ParamCount(0, 0)
                continue
            module = model.layers[node.name]
            parameters = list(module.parameters())
            buffers = [b for name, b in module.named_buffers() if name.rsplit(".", 1)[-1] in NON_TRAINABLE_BUFFERS]
            counts[node.name] = ParamCount(
                trainable=sum(p.numel() for p in parameters if p.requires_grad),
                non_trainable=sum(p.numel() for p in parameters if not p.requires_grad) + sum(b.numel() for b in buffers),
            )
        return counts

    def effective_settings(self, model: NeutralNet, network: Network) -> EffectiveSettings:
        from harness_torch.settings import effective_settings

        return effective_settings(model, network, self.device, self.seed)

    def prepare_training(self, model: NeutralNet, train: Train) -> Trainer:
        from harness_torch import training

        return training.prepare(model, train, self.device)

    def train_step(self, trainer: Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        from harness_torch import training

        return training.step(trainer, images, labels)

    def predict(self, model: NeutralNet, images: np.ndarray) -> np.ndarray:
        import torch

        from harness_torch.conventions import images_to_native

        model.eval()
        with torch.no_grad():
            return model(images_to_native(images, self.device)).cpu().numpy()

    def load_weights(self, model: NeutralNet, weights: NeutralWeights) -> None:
        from harness_torch import weights as torch_weights

        torch_weights.load(model, weights)

    def export_weights(self, model: NeutralNet) -> NeutralWeights:
        from harness_torch import weights as torch_weights

        return torch_weights.export(model)

    def layer_outputs(self, model: NeutralNet, images: np.ndarray) -> Mapping[str, np.ndarray]:
        """Every layer's output in inference mode, channels-last; flattened vectors in (H, W, C) order."""
        import torch

        from harness_torch import conventions

        orders = conventions.feature_orders(model.network)
        outputs: dict[str, torch.Tensor] = {}
        model.eval()
        with torch.no_grad():
            model.run(model.network.nodes, conventions.images_to_native(images, self.device), outputs)
        return {name: conventions.output_to_neutral(output, orders[name].outputs) for name, output in outputs.items()}

    def synchronize(self) -> None:
        from harness_torch import runtime

        runtime.synchronize(self.device)
