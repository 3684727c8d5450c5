"""The one place where the neutral spec is mapped onto PyTorch's conventions.

* Layout: the spec is channels-last (NHWC); PyTorch runs channels-first (NCHW). Images are
  permuted on the way in, feature maps on the way out.
* ``same`` padding follows TensorFlow's rule for every stride (PyTorch's ``padding='same'``
  refuses stride 2): the pixels on each side are computed from the actual input size with
  :func:`harness.shapes.same_padding` and padded explicitly, asymmetrically where needed.
  Padded pixels never count in pooling: max pooling pads with ``-inf``, average pooling divides
  by the number of real pixels in each window.
* Batch norm: PyTorch's ``momentum`` is the weight of the *new* statistic, ``1 - neutral``.
* Optimizers and the loss get every hyperparameter passed explicitly, never PyTorch's defaults.
* Weights: conv kernels HWIO <-> OIHW, depthwise (kh, kw, cin, mult) <-> (cin*mult, 1, kh, kw)
  with ``groups=cin``, dense (in, out) <-> (out, in). The network flattens natively, in
  (C, H, W) order, so the rows of a dense layer right after a flatten are permuted on load and
  export (:func:`dense_rows_after_flatten`), and every flattened feature vector is reported
  back in the neutral (H, W, C) order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness import shapes
from harness.spec import Network, Node
from harness.spec import schema

# ----------------------------------------------------------------------------- layout


def images_to_native(images: np.ndarray, device: str) -> torch.Tensor:
    """NHWC numpy images as a contiguous NCHW float32 tensor on ``device``."""
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(device)
    return tensor.permute(0, 3, 1, 2).contiguous()


def labels_to_native(labels: np.ndarray, device: str) -> torch.Tensor:
    """Integer class labels as an int64 tensor on ``device``."""
    return torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)


def output_to_neutral(output: torch.Tensor, order: np.ndarray | None) -> np.ndarray:
    """A layer's output as channels-last numpy; a flattened vector back in (H, W, C) order."""
    array = output.detach().cpu()
    if array.dim() == 4:
        return array.permute(0, 2, 3, 1).contiguous().numpy()
    array_np = array.numpy()
    return array_np if order is None else array_np[:, inverse(order)]


# ----------------------------------------------------------------------------- padding


def window_pads(
    padding: schema.Padding, height: int, width: int, kernel: tuple[int, int], stride: tuple[int, int]
) -> shapes.Pads:
    """``(top, bottom, left, right)`` pixels for an input of ``height`` x ``width`` (run time)."""
    pads = shapes.resolve_padding(padding, height, width, kernel, stride)
    assert pads is not None, "a known input size always resolves the padding"
    return pads


def is_symmetric(pads: shapes.Pads) -> bool:
    """Whether PyTorch's own (symmetric) conv padding can apply ``pads``."""
    top, bottom, left, right = pads
    return top == bottom and left == right


def pad(x: torch.Tensor, pads: shapes.Pads, value: float = 0.0) -> torch.Tensor:
    """Pad an NCHW tensor by ``(top, bottom, left, right)`` pixels filled with ``value``."""
    top, bottom, left, right = pads
    return F.pad(x, (left, right, top, bottom), value=value)


MAX_POOL_FILL = float("-inf")
"""Max pooling pads with -inf so that padded pixels never win."""


# ----------------------------------------------------------------------------- activations


def activation(name: schema.ActivationName) -> nn.Module:
    """The module for a neutral activation; softmax runs over the channel axis (dim 1 in NCHW)."""
    modules: dict[str, Any] = {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "softmax": lambda: nn.Softmax(dim=1),
        "linear": nn.Identity,
    }
    return modules[name]()


# ----------------------------------------------------------------------------- batch norm


def bn_momentum(neutral_momentum: float) -> float:
    """PyTorch's BN momentum (weight of the new statistic) for the neutral one (weight of the old)."""
    return 1.0 - neutral_momentum


def batch_norm(layer: schema.BatchNorm, channels: int, feature_map: bool) -> nn.Module:
    """Batch norm over channels (``BatchNorm2d``) or over features of a vector (``BatchNorm1d``)."""
    kind = nn.BatchNorm2d if feature_map else nn.BatchNorm1d
    return kind(channels, eps=layer.epsilon, momentum=bn_momentum(layer.momentum), affine=True, track_running_stats=True)


NON_TRAINABLE_BUFFERS = ("running_mean", "running_var")
"""Buffers counted as non-trainable parameters (BN moving statistics); ``num_batches_tracked``
and any other buffer are not parameters."""


# ----------------------------------------------------------------------------- optimizer and loss


def optimizer_arguments(spec: schema.Optimizer) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
    """The optimizer class and every keyword argument it is given, from the neutral spec."""
    if spec.name in ("sgd", "momentum"):
        return torch.optim.SGD, {
            "lr": spec.lr,
            "momentum": spec.momentum,
            "dampening": 0.0,
            # PyTorch refuses Nesterov without momentum; with momentum 0 both are plain SGD.
            "nesterov": spec.nesterov and spec.momentum > 0,
            "weight_decay": 0.0,
            "maximize": False,
        }
    if spec.name == "adam":
        return torch.optim.Adam, {
            "lr": spec.lr,
            "betas": (spec.beta1, spec.beta2),
            "eps": spec.epsilon,
            "weight_decay": 0.0,
            "amsgrad": False,
            "maximize": False,
        }
    if spec.name == "adadelta":
        return torch.optim.Adadelta, {
            "lr": spec.lr, "rho": spec.rho, "eps": spec.epsilon, "weight_decay": 0.0, "maximize": False,
        }
    return torch.optim.RMSprop, {
        "lr": spec.lr,
        "alpha": spec.rho,
        "eps": spec.epsilon,
        "momentum": spec.momentum,
        "centered": spec.centered,
        "weight_decay": 0.0,
        "maximize": False,
    }


OPTIMIZER_NEUTRAL_NAMES: dict[str, str | tuple[str, str]] = {
    "lr": "lr",
    "momentum": "momentum",
    "nesterov": "nesterov",
    "betas": ("beta1", "beta2"),
    "eps": "epsilon",
    "rho": "rho",
    "alpha": "rho",
    "centered": "centered",
}
"""PyTorch's optimizer argument -> the neutral field(s) it comes from; the rest are fixed."""

OPTIMIZER_NOTES: dict[str, str] = {
    "sgd": "PyTorch's b = m*b + g; w -= lr*b equals the neutral v = m*v - lr*g at a constant lr",
    "momentum": "PyTorch's b = m*b + g; w -= lr*b equals the neutral v = m*v - lr*g at a constant lr",
    "adam": "PyTorch adds eps to the bias-corrected sqrt(v); Keras adds it before the correction",
    "adadelta": "same update rule as Keras",
    "rmsprop": "PyTorch adds eps to sqrt(v); Keras adds it under the square root",
}


def make_optimizer(parameters: Iterable[nn.Parameter], spec: schema.Optimizer) -> torch.optim.Optimizer:
    """The optimizer the spec names, with every hyperparameter passed explicitly."""
    kind, arguments = optimizer_arguments(spec)
    return kind(parameters, **arguments)


LOSS_ARGUMENTS: dict[str, Any] = {"reduction": "mean", "label_smoothing": 0.0}


def make_loss() -> nn.CrossEntropyLoss:
    """Softmax cross-entropy on logits, averaged over the batch (arguments explicit)."""
    return nn.CrossEntropyLoss(**LOSS_ARGUMENTS)


# ----------------------------------------------------------------------------- weight layouts


def conv_kernel_to_native(kernel: np.ndarray) -> np.ndarray:
    """HWIO -> OIHW."""
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def conv_kernel_from_native(weight: np.ndarray) -> np.ndarray:
    """OIHW -> HWIO."""
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def depthwise_kernel_to_native(kernel: np.ndarray) -> np.ndarray:
    """(kh, kw, cin, mult) -> (cin*mult, 1, kh, kw); output channel ``c*mult + m`` (groups=cin)."""
    kh, kw, cin, mult = kernel.shape
    return np.ascontiguousarray(kernel.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None])


def depthwise_kernel_from_native(weight: np.ndarray, multiplier: int) -> np.ndarray:
    """(cin*mult, 1, kh, kw) -> (kh, kw, cin, mult)."""
    outputs, _, kh, kw = weight.shape
    return np.ascontiguousarray(weight[:, 0].transpose(1, 2, 0).reshape(kh, kw, outputs // multiplier, multiplier))


def flatten_order(height: int, width: int, channels: int) -> np.ndarray:
    """Feature ``order[i]`` (channels-last numbering) is at position ``i`` of PyTorch's (C, H, W) flatten."""
    return np.arange(height * width * channels).reshape(height, width, channels).transpose(2, 0, 1).reshape(-1)


def inverse(order: np.ndarray) -> np.ndarray:
    """The permutation that undoes ``order``."""
    return np.argsort(order)


def dense_rows_after_flatten(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The rows of a dense kernel ``(in, out)`` rearranged so that row ``i`` is row ``order[i]``.

    Loading passes :func:`flatten_order` (channels-last rows -> PyTorch's channels-first
    flatten); exporting passes its :func:`inverse`.
    """
    return rows[order]


def reorder_features(vector: np.ndarray, order: np.ndarray | None, axis: int = 0) -> np.ndarray:
    """A per-feature tensor taken along ``axis`` in ``order`` (None: unchanged)."""
    return vector if order is None else np.take(vector, order, axis=axis)


def dense_kernel_to_native(kernel: np.ndarray, rows: np.ndarray | None, columns: np.ndarray | None) -> np.ndarray:
    """(in, out) -> (out, in), rows and columns in the network's native feature orders."""
    if rows is not None:
        kernel = dense_rows_after_flatten(kernel, rows)
    return np.ascontiguousarray(reorder_features(kernel, columns, axis=1).T)


def dense_kernel_from_native(weight: np.ndarray, rows: np.ndarray | None, columns: np.ndarray | None) -> np.ndarray:
    """(out, in) -> (in, out) in the neutral feature orders."""
    kernel = reorder_features(weight.T, None if columns is None else inverse(columns), axis=1)
    if rows is not None:
        kernel = dense_rows_after_flatten(kernel, inverse(rows))
    return np.ascontiguousarray(kernel)


BATCH_NORM_TENSORS: dict[str, str] = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
"""Neutral BN tensor -> PyTorch attribute."""


# ----------------------------------------------------------------------------- feature orders


@dataclass(frozen=True)
class FeatureOrder:
    """How a layer's flat input and output features are ordered natively (None: as neutral).

    An array ``order`` means the native feature at position ``i`` is neutral feature ``order[i]``.
    """

    inputs: np.ndarray | None
    outputs: np.ndarray | None


def _identity_as_none(order: np.ndarray) -> np.ndarray | None:
    return None if np.array_equal(order, np.arange(order.size)) else order


def _orders(nodes: tuple[Node, ...], order: np.ndarray | None, target: np.ndarray | None,
            shapes_by_name: dict[str, shapes.Shape], result: dict[str, FeatureOrder]) -> None:
    last_dense = max((i for i, node in enumerate(nodes) if node.type == "dense"), default=None)
    for index, node in enumerate(nodes):
        if node.children:
            # The block's output is added to its input, so it must end in its input's order.
            _orders(node.children, order, order, shapes_by_name, result)
            out = order
        elif node.type == "flatten":
            height, width, channels = (int(s) for s in shapes_by_name[node.name])  # type: ignore[arg-type]
            out = _identity_as_none(flatten_order(height, width, channels))
        elif node.type == "dense":
            out = target if index == last_dense else None
        elif node.type in ("batch_norm", "dropout", "activation"):
            out = order
        else:
            out = None
        result[node.name] = FeatureOrder(order, out)
        order = out


def feature_orders(network: Network) -> dict[str, FeatureOrder]:
    """Every layer's native feature orders: vectors that come from a flatten keep PyTorch's
    (C, H, W) order until the next dense layer, whose kernel rows absorb the permutation."""
    shapes_by_name = {traced.node.name: traced.input_shape for traced in network.trace}
    result: dict[str, FeatureOrder] = {}
    _orders(network.nodes, None, None, shapes_by_name, result)
    return result
