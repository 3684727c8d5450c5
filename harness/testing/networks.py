"""The small networks the conformance kit builds: together they hold every layer type and head.

Each is a spec written as data (no file), small enough to build and run in well under a second
in any framework, and chosen to catch the conventions a plugin most easily gets wrong: TensorFlow's
``same`` padding with stride 2 on odd sizes, asymmetric explicit padding, average pooling that
leaves padded pixels out, softmax over channels, depthwise multipliers, residual adds, the
feature order of a flatten, batch norm in inference mode, and size-agnostic inputs.
"""

from __future__ import annotations

from typing import Any

from harness.spec import Network
from harness.spec import schema
from harness.spec.network import expand
from harness.testing.specs import inline_spec

CLASSES = 3

AGNOSTIC_SIZES: tuple[tuple[int, int], ...] = ((9, 12), (16, 16))
"""Input sizes a size-agnostic network is run at."""

OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {"name": "sgd", "lr": 0.05},
    "momentum": {"name": "momentum", "lr": 0.05, "momentum": 0.9, "nesterov": True},
    "adam": {"name": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
    "adadelta": {"name": "adadelta", "lr": 1.0, "rho": 0.9, "epsilon": 1e-6},
    "rmsprop": {"name": "rmsprop", "lr": 0.01, "rho": 0.8, "momentum": 0.5, "epsilon": 1e-6, "centered": True},
}
"""One configuration of every optimizer, each hyperparameter away from the frameworks' defaults."""

_SPECS: dict[str, dict[str, Any]] = {
    "conv_padding": {
        "input": [9, 11, 2],
        "backbone": [
            {"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same", "activation": "relu"},
            {"type": "conv", "filters": 3, "kernel": [3, 2], "padding": [1, 0, 2, 1], "stride": [1, 2], "activation": "relu6"},
            {"type": "conv", "filters": 4, "kernel": 2, "padding": 1, "use_bias": False, "activation": "tanh"},
            {"type": "conv", "filters": 3, "kernel": 3, "activation": "sigmoid"},
        ],
        "head": {"type": "flatten", "dropout": 0.1, "hidden": [{"units": 5, "activation": "relu", "dropout": 0.2}]},
    },
    "depthwise_pooling": {
        "input": [11, 10, 3],
        "backbone": [
            {"type": "depthwise_conv", "kernel": 3, "stride": 2, "padding": "same", "depth_multiplier": 2, "activation": "relu6"},
            {"type": "depthwise_conv", "kernel": [2, 3], "use_bias": False},
            {"type": "max_pool", "pool": 3, "stride": 2, "padding": "same"},
            {"type": "avg_pool", "pool": 2, "stride": 1, "padding": "same"},
            {"type": "avg_pool", "pool": 3, "stride": 2, "padding": 1},
            {"type": "max_pool", "pool": 2, "stride": 1, "padding": [0, 1, 1, 0]},
        ],
        "head": {"type": "global_avg", "hidden": [4]},
    },
    "batch_norm_activations": {
        "input": [8, 8, 3],
        "backbone": [
            {"type": "conv", "filters": 4, "kernel": 3, "padding": "same"},
            {"type": "batch_norm", "momentum": 0.9, "epsilon": 0.01},
            {"type": "activation", "function": "relu"},
            {"type": "conv", "filters": 5, "kernel": 3, "stride": 2, "padding": "same", "use_bias": False},
            {"type": "batch_norm"},
            {"type": "activation", "function": "sigmoid"},
            {"type": "activation", "function": "tanh"},
            {"type": "activation", "function": "relu6"},
            {"type": "activation", "function": "linear"},
            {"type": "activation", "function": "softmax"},
            {"type": "dropout", "rate": 0.3},
            {"type": "max_pool"},
        ],
        "head": {"type": "global_max", "dropout": 0.2, "hidden": [{"units": 6, "activation": "tanh"}]},
    },
    "inverted_residual": {
        "input": [8, 8, 4],
        "backbone": [
            {"type": "conv", "filters": 6, "kernel": 1, "use_bias": False},
            {"type": "repeat", "times": 2, "layers": [{"type": "residual", "layers": [
                {"type": "conv", "filters": 12, "kernel": 1, "use_bias": False},
                {"type": "batch_norm", "momentum": 0.999, "epsilon": 0.001},
                {"type": "activation", "function": "relu6"},
                {"type": "depthwise_conv", "kernel": 3, "padding": "same", "use_bias": False},
                {"type": "batch_norm", "momentum": 0.999, "epsilon": 0.001},
                {"type": "activation", "function": "relu6"},
                {"type": "conv", "filters": 6, "kernel": 1, "use_bias": False},
                {"type": "batch_norm", "momentum": 0.999, "epsilon": 0.001},
            ]}]},
        ],
        "head": {"type": "conv", "filters": 5, "dropout": 0.2, "hidden": [{"filters": 4, "dropout": 0.1}]},
    },
    "fcn_head": {
        "input": [7, 7, 2],
        "backbone": [{"type": "conv", "filters": 4, "kernel": 3, "padding": "same", "activation": "relu"}],
        "head": {"type": "fcn", "hidden": [5], "pool": "avg"},
    },
    "size_agnostic": {
        "input": [None, None, 3],
        "backbone": [
            {"type": "conv", "filters": 4, "kernel": 3, "stride": 2, "padding": "same", "activation": "relu"},
            {"type": "max_pool", "pool": 2, "padding": "same"},
        ],
        "head": {"type": "fcn", "hidden": [{"filters": 5, "activation": "relu"}], "pool": "max"},
    },
    "no_head": {
        "input": [6, 7, 2],
        "backbone": [
            {"type": "conv", "filters": 4, "kernel": 3, "activation": "relu"},
            {"type": "global_max_pool", "keepdims": True},
            {"type": "conv", "filters": 6, "kernel": 1, "activation": "relu"},
            {"type": "global_avg_pool", "keepdims": True},
            {"type": "flatten"},
            {"type": "dense", "units": 5, "activation": "softmax", "use_bias": False},
            {"type": "dense", "units": CLASSES},
        ],
        "head": {"type": "none"},
    },
}


def _spec(name: str, body: dict[str, Any], optimizer: dict[str, Any]) -> schema.Spec:
    train = {"optimizer": optimizer, "batch_size": 8, "epochs": 1, "seed": 0}
    return inline_spec(name=name, title=f"conformance network {name}", source="harness.testing.networks",
                       classes=CLASSES, train=train, **body)


def conformance_networks() -> list[Network]:
    """Every conformance network, expanded and traced (all layer types and heads, between them)."""
    return [expand(_spec(name, body, OPTIMIZERS["sgd"])) for name, body in _SPECS.items()]


def training_network(optimizer: str) -> Network:
    """A small conv, batch-norm, pooling and dense network trained with ``optimizer``. The second
    batch norm sees one value per image and channel, so that the n - 1 of an unbiased moving
    variance shows clearly."""
    body = {
        "input": [8, 8, 1],
        "backbone": [
            {"type": "conv", "filters": 4, "kernel": 3, "padding": "same", "activation": "relu"},
            {"type": "batch_norm", "momentum": 0.9},
            {"type": "max_pool"},
            {"type": "conv", "filters": 6, "kernel": 4, "activation": "tanh"},
            {"type": "batch_norm", "momentum": 0.8, "epsilon": 0.01},
        ],
        "head": {"type": "flatten", "hidden": [8]},
    }
    return expand(_spec(f"train_{optimizer}", body, OPTIMIZERS[optimizer]))


def covered_types(networks: list[Network]) -> tuple[set[str], set[str]]:
    """The layer types (before expansion, so ``repeat`` counts) and head types the networks use."""
    layers: set[str] = set()

    def visit(items: list[schema.Layer]) -> None:
        for layer in items:
            layers.add(layer.type)
            if layer.type in ("residual", "repeat"):
                visit(layer.layers)

    for network in networks:
        visit(network.spec.backbone)
    return layers, {network.spec.head.type for network in networks}
