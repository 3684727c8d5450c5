"""A Flax NNX model from an expanded network, held as graphs and state for compiled functions.

The model is one :class:`NeutralNet` whose layers are keyed by their neutral names. For speed
it is kept split (``nnx.split``): two static graph definitions (training mode, inference mode:
dropout off and batch norm on its moving statistics) and the state they share, the parameters
and everything else (batch-norm statistics, dropout's random stream). Inference and training
are ``jax.jit`` functions of that state; JAX compiles them once per input shape, so a
size-agnostic network runs at any height and width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jax
import numpy as np
from flax import nnx

from harness.spec import Network, Node
from harness.spec.network import frozen_layers
from harness_jax.layers import make_layer
from harness_jax.runtime import float_dtype

Plan = tuple[tuple[str, "Plan"], ...]
"""The execution order: ``(name, block)`` per layer, ``block`` non-empty for a residual."""


def _plan(nodes: tuple[Node, ...]) -> Plan:
    return tuple((node.name, _plan(node.children)) for node in nodes)


class NeutralNet(nnx.Module):
    """Every neutral layer as a module under its name, run in the network's order; a residual
    layer adds its block's output to the block's input."""

    def __init__(self, network: Network, rngs: nnx.Rngs) -> None:
        # A plain dict marked as data: its keys are never attributes, so any layer name is safe.
        self.layers = nnx.data({
            traced.node.name: make_layer(traced.node.layer, int(traced.input_shape[-1]), rngs)  # type: ignore[arg-type]
            for traced in network.trace if not traced.node.children
        })
        self.plan = _plan(network.nodes)

    def _run(self, plan: Plan, x: jax.Array, outputs: dict[str, jax.Array] | None) -> jax.Array:
        for name, block in plan:
            x = x + self._run(block, x, outputs) if block else self.layers[name](x)
            if outputs is not None:
                outputs[name] = x
        return x

    def __call__(self, images: jax.Array) -> jax.Array:
        return self._run(self.plan, images, None)

    def layer_outputs(self, images: jax.Array) -> dict[str, jax.Array]:
        outputs: dict[str, jax.Array] = {}
        self._run(self.plan, images, outputs)
        return outputs


@dataclass
class JaxNetwork:
    """A built network: its graphs (training, inference) and state, and how it was initialised.

    ``params`` and ``rest`` are the current state; training replaces them after every step.
    ``trainer`` is the :class:`harness_jax.train.Trainer` training it, once there is one.
    """

    network: Network
    train_graph: nnx.GraphDef[NeutralNet]
    eval_graph: nnx.GraphDef[NeutralNet]
    params: nnx.State
    rest: nnx.State
    device: Any
    dtype: type[np.floating]
    """What weights and batches are held in: float32, or float64 when built after
    :func:`harness_jax.runtime.use_float64`."""
    trainer: Any = None

    def module(self) -> NeutralNet:
        """A live (inference-mode) module holding the current state, for reading and writing it."""
        return nnx.merge(self.eval_graph, self.params, self.rest)

    def store(self, module: NeutralNet) -> None:
        """Take ``module``'s state as the current one."""
        _, self.params, self.rest = nnx.split(module, nnx.Param, ...)

    def inputs(self, images: np.ndarray) -> jax.Array:
        """NHWC images, in the network's dtype, on its device."""
        return jax.device_put(np.asarray(images, dtype=self.dtype), self.device)

    @cached_property
    def forward(self) -> Any:
        """Compiled inference: (params, rest, images) -> logits."""
        graph = self.eval_graph
        return jax.jit(lambda params, rest, images: nnx.merge(graph, params, rest)(images))

    @cached_property
    def probe(self) -> Any:
        """Compiled inference returning every neutral layer's output."""
        graph = self.eval_graph
        return jax.jit(lambda params, rest, images: nnx.merge(graph, params, rest).layer_outputs(images))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Logits in inference mode, as float32 numpy."""
        return np.asarray(self.forward(self.params, self.rest, self.inputs(images)), dtype=np.float32)

    def layer_outputs(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Every neutral layer's output in inference mode, in execution order."""
        values = self.probe(self.params, self.rest, self.inputs(images))
        return {node.name: np.asarray(values[node.name], dtype=np.float32) for node in self.network.walk()}


def trainable_mask(network: Network, params: nnx.State) -> Any:
    """``params`` with each leaf replaced by whether it trains (False in a layer ``train.freeze``
    leaves untrained), or None when every parameter trains."""
    frozen = frozen_layers(network)
    if not frozen:
        return None
    return jax.tree_util.tree_map_with_path(lambda path, _: not (len(path) > 1 and getattr(path[1], "key", None) in frozen),
                                            params)


def build_model(network: Network, seed: int, device: Any, *, abstract: bool = False) -> JaxNetwork:
    """The network with Flax's own initialisers, seeded, its state on ``device``; with ``abstract``,
    its structure alone: every state leaf a ``jax.ShapeDtypeStruct``, nothing computed or compiled
    (``nnx.eval_shape``), to be read, never run."""
    def make() -> NeutralNet:
        return NeutralNet(network, nnx.Rngs(params=seed, dropout=seed))

    with jax.default_device(device):
        # Initialised in one compiled program: eagerly, every kernel's initialiser compiles alone.
        model = nnx.eval_shape(make) if abstract else nnx.jit(make)()
        model.eval()
        eval_graph, params, rest = nnx.split(model, nnx.Param, ...)
        model.train()
        for name in frozen_layers(network):
            if isinstance(model.layers.get(name), nnx.BatchNorm):
                model.layers[name].use_running_average = True  # a frozen batch norm trains on its moving statistics
        train_graph, _, _ = nnx.split(model, nnx.Param, ...)
    if not abstract:  # committed to the device, like every later state: one compilation serves all steps
        params, rest = jax.device_put((params, rest), device)
    return JaxNetwork(network, train_graph, eval_graph, params, rest, device, float_dtype())

