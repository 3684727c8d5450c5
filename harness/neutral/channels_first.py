"""What a channels-first framework needs to run the channels-last neutral spec, in numpy only.

The spec, its weights (:mod:`harness.neutral.weights`) and every reported output are channels-last. A
framework that runs channels-first (NCHW: PyTorch, PaddlePaddle, a third party's) converts at
three places, all framework-free and written once here; its plugin keeps only the tensor ops:

* **Kernels**: conv HWIO <-> OIHW; depthwise ``(kh, kw, cin, mult)`` <-> ``(cin*mult, 1, kh, kw)``
  with ``groups=cin`` (output channel ``c*mult + m`` in both); dense ``(in, out)`` <-> ``(out, in)``
  for frameworks that hold it transposed.
* **Flatten order**: a native flatten of an NCHW map orders its features (C, H, W); the neutral
  order is (H, W, C). :func:`layout_plan` decides, for any block structure, which flattens run
  natively and in which order every layer's flat input and output features are: the rows of
  the dense layer that reads a natively flattened vector absorb the permutation (and a dense
  that ends a residual block emits its block's input order, so the add lines up); batch-norm
  vectors in between are permuted alike. A flatten that no dense layer follows at its own level
  flattens in (H, W, C) order instead (transpose to channels-last, then flatten), since no
  weights could absorb the permutation before the logits, unless both orders agree (a 1x1 map).
* **Padding**: TensorFlow's ``same`` for every stride, asymmetric where needed (the odd pixel at
  the bottom/right), from :func:`harness.neutral.shapes.same_padding`: :func:`static_pads` when the input
  size is known, :func:`run_time_pads` from each batch's own size otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.neutral import shapes
from harness.spec import Network, Node
from harness.spec import schema

ORDER_PRESERVING = ("batch_norm", "dropout", "activation")
"""Layers whose flat output features are in the order of their input features."""

NATIVE_FLATTEN = "(C, H, W)"
NEUTRAL_FLATTEN = "(H, W, C)"
"""The feature orders of a channels-first framework's flatten and of the neutral one."""

# ----------------------------------------------------------------------------- kernels


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


def dense_kernel_to_out_in(kernel: np.ndarray) -> np.ndarray:
    """(in, out) -> (out, in), for frameworks that hold a dense kernel transposed."""
    return np.ascontiguousarray(kernel.T)


def dense_kernel_from_out_in(weight: np.ndarray) -> np.ndarray:
    """(out, in) -> (in, out)."""
    return np.ascontiguousarray(weight.T)


# ----------------------------------------------------------------------------- feature orders


def flatten_order(height: int, width: int, channels: int) -> np.ndarray:
    """Position ``i`` of a (C, H, W) flatten holds neutral feature ``order[i]`` ((H, W, C) numbering)."""
    return np.arange(height * width * channels).reshape(height, width, channels).transpose(2, 0, 1).reshape(-1)


def inverse(order: np.ndarray) -> np.ndarray:
    """The permutation that undoes ``order``."""
    return np.argsort(order)


def features_to_native(array: np.ndarray, order: np.ndarray | None, axis: int = 0) -> np.ndarray:
    """Neutral-ordered features along ``axis`` (a bias, a batch-norm vector) in the native ``order``
    (None: unchanged)."""
    return array if order is None else np.ascontiguousarray(np.take(array, order, axis=axis))


def features_to_neutral(array: np.ndarray, order: np.ndarray | None, axis: int = 0) -> np.ndarray:
    """Native-ordered features back in the neutral order (the inverse of :func:`features_to_native`)."""
    return array if order is None else features_to_native(array, inverse(order), axis)


def dense_rows_after_flatten(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The rows of a dense kernel ``(in, out)`` rearranged so that row ``i`` is row ``order[i]``.

    Loading passes the reading layer's input order (:func:`flatten_order` for a native flatten);
    exporting passes its :func:`inverse`.
    """
    return rows[order]


@dataclass(frozen=True)
class FeatureOrder:
    """How a layer's flat input and output features are ordered natively (None: as neutral).

    An array ``order`` means the native feature at position ``i`` is neutral feature ``order[i]``.
    """

    inputs: np.ndarray | None
    outputs: np.ndarray | None


def dense_kernel_to_native_order(kernel: np.ndarray, order: FeatureOrder) -> np.ndarray:
    """A neutral dense kernel ``(in, out)`` with its rows and columns in the layer's native orders."""
    if order.inputs is not None:
        kernel = dense_rows_after_flatten(kernel, order.inputs)
    return np.ascontiguousarray(features_to_native(kernel, order.outputs, axis=1))


def dense_kernel_to_neutral_order(kernel: np.ndarray, order: FeatureOrder) -> np.ndarray:
    """A native-ordered dense kernel ``(in, out)`` back in the neutral orders."""
    kernel = features_to_neutral(kernel, order.outputs, axis=1)
    if order.inputs is not None:
        kernel = dense_rows_after_flatten(kernel, inverse(order.inputs))
    return np.ascontiguousarray(kernel)


BATCH_NORM_TENSORS: dict[str, str] = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
"""Neutral BN tensor -> its name in PyTorch (``BatchNorm2d`` attributes and ``state_dict`` keys)."""


def torch_layer_to_neutral(node: Node, native: dict[str, np.ndarray], order: FeatureOrder) -> dict[str, np.ndarray]:
    """One layer's tensors as PyTorch names and holds them (``weight`` OIHW or ``(out, in)``,
    ``bias``, ``running_mean``...; a PyTorch model's own or a plain ``state_dict``'s) in the neutral
    layout, for the spec layer ``node`` whose native feature orders are ``order``."""
    if node.type == "batch_norm":
        return {neutral: features_to_neutral(native[name], order.inputs) for neutral, name in BATCH_NORM_TENSORS.items()}
    weight = native["weight"]
    if node.type == "conv":
        kernel = conv_kernel_from_native(weight)
    elif node.type == "depthwise_conv":
        kernel = depthwise_kernel_from_native(weight, node.layer.depth_multiplier)  # type: ignore[union-attr]
    else:
        kernel = dense_kernel_to_neutral_order(dense_kernel_from_out_in(weight), order)
    tensors = {"kernel": kernel}
    if native.get("bias") is not None:
        tensors["bias"] = features_to_neutral(native["bias"], order.outputs)
    return tensors


@dataclass(frozen=True)
class LayoutPlan:
    """Every layer's native feature orders and the flattens that run natively, in (C, H, W) order."""

    orders: dict[str, FeatureOrder]
    native_flattens: frozenset[str]

    def flattens_natively(self, name: str) -> bool:
        """Whether the flatten ``name`` flattens in (C, H, W) order (else in (H, W, C) order)."""
        return name in self.native_flattens


def _identity_as_none(order: np.ndarray) -> np.ndarray | None:
    return None if np.array_equal(order, np.arange(order.size)) else order


def _plan(nodes: Sequence[Node], order: np.ndarray | None, target: np.ndarray | None,
          input_shapes: dict[str, shapes.Shape], orders: dict[str, FeatureOrder], native: set[str]) -> None:
    """Orders of ``nodes`` entered in ``order``; the sequence must leave in ``target``."""
    last_dense = max((index for index, node in enumerate(nodes) if node.type == "dense"), default=-1)
    for index, node in enumerate(nodes):
        out: np.ndarray | None
        if node.children:
            # The block's output is added to its input, so it must end in its input's order.
            _plan(node.children, order, order, input_shapes, orders, native)
            out = order
        elif node.type == "flatten":
            height, width, channels = (int(size) for size in input_shapes[node.name])  # type: ignore[arg-type]
            out = _identity_as_none(flatten_order(height, width, channels))
            if index < last_dense or out is None:  # a dense absorbs the order, or both orders agree
                native.add(node.name)
            else:
                out = None  # flattened in (H, W, C) order: no weights before the logits could absorb it
        elif node.type == "dense":
            out = target if index == last_dense else None
        elif node.type in ORDER_PRESERVING:
            out = order
        else:
            out = None  # feature maps and global pools
        orders[node.name] = FeatureOrder(order, out)
        order = out


def layout_plan(network: Network) -> LayoutPlan:
    """Which flattens run natively, and every layer's native feature orders, through any nesting
    of residual blocks; the network's output (the logits) is always in the neutral order."""
    input_shapes = {traced.node.name: traced.input_shape for traced in network.trace}
    orders: dict[str, FeatureOrder] = {}
    native: set[str] = set()
    _plan(network.nodes, None, None, input_shapes, orders, native)
    return LayoutPlan(orders, frozenset(native))


# ----------------------------------------------------------------------------- activations


def images_to_channels_first(images: np.ndarray) -> np.ndarray:
    """NHWC images as a contiguous NCHW float32 array."""
    return np.ascontiguousarray(np.asarray(images, dtype=np.float32).transpose(0, 3, 1, 2))


def output_to_neutral(output: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """A layer's native output as the neutral one: an NCHW map as NHWC, a flat vector whose
    features are in ``order`` back in (H, W, C) order."""
    if output.ndim == 4:
        return np.ascontiguousarray(output.transpose(0, 2, 3, 1))
    return features_to_neutral(output, order, axis=1)


# ----------------------------------------------------------------------------- padding


def window(layer: schema.Conv | schema.DepthwiseConv | schema.MaxPool | schema.AvgPool) -> tuple[tuple[int, int], tuple[int, int]]:
    """A conv's kernel or a pool's window, and its stride (a pool's stride defaults to its window)."""
    if layer.type in ("max_pool", "avg_pool"):
        return schema.pair(layer.pool), schema.pair(layer.stride if layer.stride is not None else layer.pool)
    return schema.pair(layer.kernel), schema.pair(layer.stride)


def static_pads(layer: schema.Conv | schema.DepthwiseConv | schema.MaxPool | schema.AvgPool,
                input_shape: shapes.Shape) -> shapes.Pads | None:
    """``(top, bottom, left, right)`` pixels of a conv or pool on ``input_shape``; None when the
    input size is unknown and ``same`` must be computed at run time (:func:`run_time_pads`)."""
    kernel, stride = window(layer)
    return shapes.resolve_padding(layer.padding, input_shape[0], input_shape[1], kernel, stride)


def run_time_pads(padding: schema.Padding, height: int, width: int, kernel: tuple[int, int],
                  stride: tuple[int, int]) -> shapes.Pads:
    """``(top, bottom, left, right)`` pixels for an input of ``height`` x ``width`` (known at run time)."""
    pads = shapes.resolve_padding(padding, height, width, kernel, stride)
    assert pads is not None, "a known input size always resolves the padding"
    return pads


def is_symmetric(pads: Sequence[int]) -> bool:
    """Whether ``(top, bottom, left, right)`` pads the same on both sides of each axis (so a
    framework's own symmetric conv padding can apply it)."""
    top, bottom, left, right = pads
    return top == bottom and left == right


def last_axis_first(pads: Sequence[int]) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` as ``(left, right, top, bottom)``: the order of NCHW pad
    functions that list the last axis first (``torch.nn.functional.pad``, ``paddle...pad``)."""
    top, bottom, left, right = pads
    return left, right, top, bottom
