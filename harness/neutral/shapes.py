"""Output shapes and padding of every neutral layer, in pure Python.

A feature map is ``(H, W, C)`` (channels-last, ``H``/``W`` may be ``None`` for a size-agnostic
input), a vector is ``(F,)``. Plugins call :func:`same_padding` at run time for size-agnostic
inputs, so TensorFlow's ``same`` rule lives in exactly one place.
"""

from __future__ import annotations

import math

from harness.spec import schema

Shape = tuple[int | None, ...]
Pads = tuple[int, int, int, int]


class ShapeError(ValueError):
    """A layer that cannot be applied to its input; ``what`` and ``fix`` are shown to the user."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``same``: output ceil(size / stride), the odd pixel after (bottom/right)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def explicit_padding(padding: schema.Padding) -> Pads | None:
    """``(top, bottom, left, right)`` for a numeric padding, ``(0,)*4`` for valid, None for same."""
    if padding == "same":
        return None
    if padding == "valid":
        return (0, 0, 0, 0)
    if isinstance(padding, int):
        return (padding,) * 4
    return tuple(padding)  # type: ignore[return-value]


def resolve_padding(
    padding: schema.Padding, height: int | None, width: int | None, kernel: tuple[int, int], stride: tuple[int, int]
) -> Pads | None:
    """The pixels padded on each side for a given input size; None when unknown (same, no size)."""
    pads = explicit_padding(padding)
    if pads is not None:
        return pads
    if height is None or width is None:
        return None
    return same_padding(height, kernel[0], stride[0]) + same_padding(width, kernel[1], stride[1])


def _window_out(
    size: int | None, kernel: int, stride: int, before: int, after: int, padding: object, axis: str
) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    padded = size + before + after
    if kernel > padded:
        pad_note = " with padding: valid" if padding == "valid" else f" even padded to {padded}"
        raise ShapeError(
            f"its {kernel}-pixel window is larger than the input's {size}-pixel {axis}{pad_note}, so the "
            "feature map would shrink to nothing.",
            "use padding: same, a smaller kernel or pool, or a larger input (or remove a downsampling layer before it).",
        )
    return (padded - kernel) // stride + 1


def window_output(shape: Shape, kernel: tuple[int, int], stride: tuple[int, int], padding: schema.Padding, channels: int) -> Shape:
    """Output of a conv or pooling window over a feature map."""
    height, width, _ = _feature_map(shape)
    pads = explicit_padding(padding) or (0, 0, 0, 0)
    out_h = _window_out(height, kernel[0], stride[0], pads[0], pads[1], padding, "height")
    out_w = _window_out(width, kernel[1], stride[1], pads[2], pads[3], padding, "width")
    return (out_h, out_w, channels)


def _check_pool_padding(pool: tuple[int, int], padding: schema.Padding) -> None:
    """A pooling window must always hold a real pixel: each side's padding below the pool size."""
    pads = explicit_padding(padding) or (0, 0, 0, 0)
    limits = (pool[0], pool[0], pool[1], pool[1])
    if any(pad >= limit for pad, limit in zip(pads, limits)):
        raise ShapeError(
            f"padding {list(pads)} (top, bottom, left, right) is not smaller than the {pool[0]}x{pool[1]} pool, "
            "so some windows would hold only padding.",
            "pad each side by fewer pixels than the pool size, or use padding: same.",
        )


def _feature_map(shape: Shape) -> Shape:
    if len(shape) != 3:
        raise ShapeError(
            f"this layer needs a feature map (height, width, channels) but gets a flat vector of {shape[0]} features.",
            "move it before the flatten or global pooling, or remove it.",
        )
    return shape


def _vector(shape: Shape, what: str) -> Shape:
    if len(shape) != 1:
        raise ShapeError(
            f"{what} needs a flat vector but gets a {_text(shape)} feature map.",
            "add a 'flatten' or a global pooling layer before it, or use a conv instead.",
        )
    return shape


def _text(shape: Shape) -> str:
    return "x".join("?" if s is None else str(s) for s in shape)


def output_shape(layer: schema.Layer, shape: Shape) -> Shape:
    """The output shape of one non-container layer given its input shape."""
    kind = layer.type
    if kind == "conv":
        return window_output(shape, schema.pair(layer.kernel), schema.pair(layer.stride), layer.padding, layer.filters)
    if kind == "depthwise_conv":
        channels = _feature_map(shape)[2] * layer.depth_multiplier
        return window_output(shape, schema.pair(layer.kernel), schema.pair(layer.stride), layer.padding, channels)
    if kind in ("max_pool", "avg_pool"):
        stride = schema.pair(layer.stride if layer.stride is not None else layer.pool)
        _check_pool_padding(schema.pair(layer.pool), layer.padding)
        return window_output(shape, schema.pair(layer.pool), stride, layer.padding, _feature_map(shape)[2])
    if kind in ("global_avg_pool", "global_max_pool"):
        channels = _feature_map(shape)[2]
        return (1, 1, channels) if layer.keepdims else (channels,)
    if kind == "flatten":
        height, width, channels = _feature_map(shape)
        if height is None or width is None:
            raise ShapeError(
                "flatten needs a known height and width, but the input is size-agnostic (null height/width).",
                "use a global pooling layer or head (global_avg, global_max, fcn), or give the input a fixed size.",
            )
        return (height * width * channels,)
    if kind == "dense":
        _vector(shape, "dense")
        return (layer.units,)
    if kind in ("batch_norm", "dropout", "activation"):
        return shape
    raise ShapeError(f"the layer type '{kind}' has no shape rule.", "report this as a bug in harness.")


def check_positive(shape: Shape) -> None:
    """Reject a feature map that has shrunk to nothing."""
    if any(s is not None and s <= 0 for s in shape):
        raise ShapeError(
            f"the output shape {_text(shape)} has shrunk to zero.",
            "use padding: same, smaller strides or kernels, or a larger input.",
        )


def describe_shape(shape: Shape) -> str:
    """``(7, 7, 64)`` -> ``7x7x64``; unknown sizes as ``?``."""
    return _text(shape)
