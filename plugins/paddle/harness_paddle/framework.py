"""The Paddle framework class: registered in the harness process, used in a worker subprocess.

Nothing at module level imports Paddle: the class body and the class methods the harness calls
for discovery stay framework-free. ``__init__`` imports :mod:`harness_paddle.runtime` (which
imports Paddle) in the worker, and the other methods import the plugin modules that need it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.framework import EffectiveSettings, Framework, NeutralWeights, ParamCount, StepResult, TrainingConventions
from harness.spec import Network, Node
from harness.spec.schema import Train

if TYPE_CHECKING:
    from harness_paddle.conventions import FeatureMap
    from harness_paddle.model import PaddleNetwork

THREAD_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The variables Paddle's OpenMP and MKL thread pools read at start-up."""


@dataclass
class PaddleTrainer:
    """What :meth:`PaddleFramework.train_step` needs: the model, its optimizer and loss."""

    model: PaddleNetwork
    optimizer: Any
    loss: Any


def _weighted_layers(model: PaddleNetwork) -> Iterator[tuple[Node, dict[str, str], Any, FeatureMap | None]]:
    """Every layer that holds weights, in execution order: its node, its neutral tensor names mapped to
    the Paddle layer's attributes, that Paddle layer, and the feature map whose channels-first
    flattening it reads (None when it reads no flattened vector)."""
    from harness_paddle.conventions import PARAMETER_NAMES

    for node in model.network.walk():
        names = PARAMETER_NAMES.get(node.type)
        if names is not None:
            yield node, names, model.unit(node.name).core, model.order.inputs.get(node.name)


class PaddleFramework(Framework):
    """PaddlePaddle in dygraph mode, channels-first, on CPU or CUDA."""

    name = "paddle"
    display_name = "PaddlePaddle"
    module = "paddle"
    distribution = "paddlepaddle"
    install_hint = "pip install -e plugins/paddle  (or: pip install 'harness[paddle]')"
    # paddle.optimizer.Adam has no argument that moves epsilon before the bias correction.
    training_conventions = TrainingConventions(adam_epsilon="after_correction")

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0) -> None:
        """Import Paddle and apply the thread count, device, seed and determinism flags."""
        super().__init__(device, threads, seed)
        from harness_paddle import runtime

        runtime.configure(device, threads, seed)

    def devices(self) -> list[str]:
        from harness_paddle import runtime

        return [runtime.CPU] + ([runtime.CUDA] if runtime.cuda_available() else [])

    def thread_settings(self) -> dict[str, Any]:
        from harness_paddle.runtime import paddle

        # Paddle has no getter for core.set_num_threads; its flag and the OpenMP/MKL variables it
        # reads are what can be read back (threadpoolctl reports the native pools separately).
        flags = paddle.get_flags(["FLAGS_paddle_num_threads"])
        return flags | {name: os.environ.get(name) for name in THREAD_ENVIRONMENT}

    def build(self, network: Network) -> PaddleNetwork:
        from harness_paddle.model import PaddleNetwork

        return PaddleNetwork(network)

    def count_params(self, model: PaddleNetwork) -> dict[str, ParamCount]:
        counts: dict[str, ParamCount] = {}
        for node in model.network.walk():
            parameters = [] if node.children else model.unit(node.name).parameters()
            trainable = sum(int(p.size) for p in parameters if p.trainable)
            counts[node.name] = ParamCount(trainable, sum(int(p.size) for p in parameters) - trainable)
        return counts

    def effective_settings(self, model: PaddleNetwork, network: Network) -> EffectiveSettings:
        from harness_paddle.settings import effective_settings

        return effective_settings(model.order, network, self.seed)

    def prepare_training(self, model: PaddleNetwork, train: Train) -> PaddleTrainer:
        from harness_paddle.conventions import make_loss, make_optimizer

        trainable = [p for p in model.parameters() if p.trainable]
        return PaddleTrainer(model, make_optimizer(train.optimizer, trainable), make_loss())

    def train_step(self, trainer: PaddleTrainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        from harness_paddle.conventions import to_channels_first
        from harness_paddle.runtime import BATCH_NORM_TRAINING_WARNING, paddle

        trainer.model.train()
        targets = paddle.to_tensor(np.asarray(labels, dtype=np.int64))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=BATCH_NORM_TRAINING_WARNING)
            logits = trainer.model(to_channels_first(images))
        loss = trainer.loss(logits, targets)
        loss.backward()
        trainer.optimizer.step()
        trainer.optimizer.clear_grad()
        correct = (paddle.argmax(logits, axis=1) == targets).astype("int64").sum()
        return StepResult(float(loss), int(correct))

    def predict(self, model: PaddleNetwork, images: np.ndarray) -> np.ndarray:
        from harness_paddle.conventions import to_channels_first
        from harness_paddle.runtime import paddle

        model.eval()
        with paddle.no_grad():
            return model(to_channels_first(images)).numpy()

    def load_weights(self, model: PaddleNetwork, weights: NeutralWeights) -> None:
        from harness_paddle.conventions import to_paddle_layout

        for node, names, core, flattened in _weighted_layers(model):
            for tensor, array in weights[node.name].items():
                parameter = getattr(core, names[tensor])
                value = to_paddle_layout(node.layer, tensor, np.asarray(array, dtype=np.float32), flattened)
                if tuple(parameter.shape) != value.shape:
                    raise ValueError(f"{node.name}/{tensor}: Paddle holds shape {tuple(parameter.shape)}, "
                                     f"the neutral weights give {value.shape} after conversion")
                parameter.set_value(value)

    def export_weights(self, model: PaddleNetwork) -> NeutralWeights:
        from harness_paddle.conventions import to_neutral_layout

        weights: NeutralWeights = {}
        for node, names, core, flattened in _weighted_layers(model):
            weights[node.name] = {
                tensor: to_neutral_layout(node.layer, tensor, getattr(core, attribute).numpy(), flattened)
                for tensor, attribute in names.items()
                if getattr(core, attribute) is not None
            }
        return weights

    def layer_outputs(self, model: PaddleNetwork, images: np.ndarray) -> Mapping[str, np.ndarray]:
        from harness_paddle.conventions import reorder_flat_features, to_channels_first, to_channels_last
        from harness_paddle.runtime import paddle

        model.eval()
        with paddle.no_grad():
            outputs = model.outputs(to_channels_first(images))
        result: dict[str, np.ndarray] = {}
        for name, output in outputs.items():
            flattened = model.order.outputs.get(name)
            array = to_channels_last(output)
            result[name] = array if flattened is None else reorder_flat_features(array, flattened, "channels_last", axis=1)
        return result

    def synchronize(self) -> None:
        if self.device == "cuda":
            from harness_paddle.runtime import paddle

            paddle.device.synchronize()
