"""The JAX framework as the harness drives it: Flax NNX models, optax optimizers, ``jax.jit``.

The class body imports nothing from JAX: the harness process reads its class variables, and
every method that needs JAX runs in a worker subprocess. ``__init__`` sets XLA's thread and
device variables before JAX's first import (:mod:`harness_jax.runtime`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.framework import EffectiveSettings, Framework, NeutralWeights, ParamCount, StepResult, TrainingConventions
from harness.spec import Network
from harness.spec.network import frozen_layers
from harness.spec.schema import Train
from harness_jax import runtime

if TYPE_CHECKING:
    from harness_jax.build import JaxNetwork
    from harness_jax.train import Trainer

COMPANIONS = ("flax", "optax")
"""Packages the plugin needs beside JAX (checked, not imported, in the harness process)."""


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


class JaxFramework(Framework):
    """JAX with Flax NNX and optax, channels-last, with XLA-compiled training and inference."""

    name = "jax"
    display_name = "JAX/Flax"
    module = "jax"
    distribution = "jax"
    install_hint = "pip install -e plugins/jax"
    # optax.adam adds epsilon after the bias correction (as PyTorch and Paddle do); no argument moves it.
    training_conventions = TrainingConventions(adam_epsilon="after_correction")
    float64_unavailable = None
    eager_compiled_by = "jax.jit (XLA), training step and inference alike"

    @classmethod
    def version(cls) -> str | None:
        """JAX's version with Flax's and optax's, e.g. ``0.10.2 (Flax 0.12.8, optax 0.2.8)`` (no import)."""
        jax_version = _installed(cls.distribution)
        if jax_version is None:
            return None
        companions = ", ".join(f"{name.capitalize() if name == 'flax' else name} {_installed(name)}"
                               for name in COMPANIONS if _installed(name))
        return f"{jax_version} ({companions})" if companions else jax_version

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why JAX, Flax or optax cannot be used here, or None (no import)."""
        for module in (cls.module, *COMPANIONS):
            if importlib.util.find_spec(module) is None:
                return f"the module '{module}' is not installed; install it with: {cls.install_hint}"
        return None

    def __init__(self, device: str = "cpu", threads: int = 1, seed: int = 0) -> None:
        super().__init__(device, threads, seed)
        runtime.prepare_environment(threads, device)
        runtime.configure(device)
        self._device = runtime.default_device(device)

    def use_float64(self) -> None:
        runtime.use_float64()

    def devices(self) -> list[str]:
        return runtime.available_devices()

    def thread_settings(self) -> dict[str, Any]:
        return runtime.thread_settings(self.device)

    def build(self, network: Network) -> JaxNetwork:
        from harness_jax.build import build_model

        return build_model(network, self.seed, self._device)

    def build_structure(self, network: Network) -> JaxNetwork:
        """The network's shapes without values (``nnx.eval_shape``): XLA compiles no initialiser,
        which is most of a real build's time (MobileNetV2: about 6 s against 1)."""
        from harness_jax.build import build_model

        return build_model(network, self.seed, self._device, abstract=True)

    def count_params(self, model: JaxNetwork) -> dict[str, ParamCount]:
        import jax
        from flax import nnx

        def size(state: Any) -> int:
            return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(state))

        net = model.module()
        frozen = frozen_layers(model.network)  # their parameters get no update (harness_jax.train)
        counts = {node.name: ParamCount(0, 0) for node in model.network.walk()}
        for name, layer in net.layers.items():
            params, stats = size(nnx.state(layer, nnx.Param)), size(nnx.state(layer, nnx.BatchStat))
            counts[name] = ParamCount(0, params + stats) if name in frozen else ParamCount(params, stats)
        return counts

    def effective_settings(self, model: JaxNetwork, network: Network) -> EffectiveSettings:
        from harness_jax.settings import effective_settings

        return effective_settings(model, network, self.seed)

    def prepare_training(self, model: JaxNetwork, train: Train) -> Trainer:
        from harness_jax.train import make_trainer

        return make_trainer(model, train)

    def train_step(self, trainer: Trainer, images: np.ndarray, labels: np.ndarray) -> StepResult:
        loss, correct = trainer.run(images, labels)
        return StepResult(loss=loss, correct=correct)

    def predict(self, model: JaxNetwork, images: np.ndarray) -> np.ndarray:
        return model.predict(images)

    def load_weights(self, model: JaxNetwork, weights: NeutralWeights) -> None:
        from harness_jax.weights import load_weights

        load_weights(model, weights)

    def export_weights(self, model: JaxNetwork) -> NeutralWeights:
        from harness_jax.weights import export_weights

        return export_weights(model)

    def layer_outputs(self, model: JaxNetwork, images: np.ndarray) -> Mapping[str, np.ndarray]:
        return model.layer_outputs(images)
