"""The small Paddle layers the neutral spec needs and Paddle does not ship as such.

All of them work on channels-first (NCHW) feature maps of any height and width, so size-agnostic
networks run at every input size. Which of them a neutral layer becomes is decided in
:mod:`harness_paddle.build`.
"""

from __future__ import annotations

from typing import Literal

from harness.neutral import channels_first
from harness.neutral.shapes import Pads
from harness_paddle.runtime import F, nn, paddle


def run_time_same_padding(x: paddle.Tensor, kernel: tuple[int, int], stride: tuple[int, int]) -> Pads:
    """TensorFlow's ``same`` pixels ``(top, bottom, left, right)`` for the size of ``x`` (NCHW)."""
    return channels_first.run_time_pads("same", int(x.shape[2]), int(x.shape[3]), kernel, stride)


class SamePadding2D(nn.Layer):
    """Zero padding by TensorFlow's ``same`` rule, computed from each input's own size (the odd
    pixel at the bottom/right); a convolution with no padding of its own follows it."""

    def __init__(self, kernel: tuple[int, int], stride: tuple[int, int]) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        pads = run_time_same_padding(x, self.kernel, self.stride)
        if not any(pads):
            return x
        return F.pad(x, list(channels_first.last_axis_first(pads)), mode="constant", value=0.0, data_format="NCHW")

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


class Pool2D(nn.Layer):
    """Max or average pooling whose padded pixels never count: max ignores them, average leaves
    them out of the count (``exclusive``). ``pads`` is ``(top, bottom, left, right)``, or None
    for TensorFlow's ``same`` computed from each input's size."""

    def __init__(self, mode: Literal["max", "avg"], pool: tuple[int, int], stride: tuple[int, int], pads: Pads | None) -> None:
        super().__init__()
        self.mode = mode
        self.pool = pool
        self.stride = stride
        self.pads = pads

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        pads = list(self.pads if self.pads is not None else run_time_same_padding(x, self.pool, self.stride))
        if self.mode == "max":
            return F.max_pool2d(x, self.pool, self.stride, padding=pads, ceil_mode=False, data_format="NCHW")
        return F.avg_pool2d(x, self.pool, self.stride, padding=pads, ceil_mode=False, exclusive=True, data_format="NCHW")

    def extra_repr(self) -> str:
        return f"mode={self.mode}, pool={self.pool}, stride={self.stride}, pads={self.pads or 'same at run time'}"


class GlobalPool2D(nn.Layer):
    """Mean or max over the whole feature map: ``(N, C)``, or ``(N, C, 1, 1)`` with ``keepdims``."""

    def __init__(self, mode: Literal["max", "avg"], keepdims: bool) -> None:
        super().__init__()
        self.mode = mode
        self.keepdims = keepdims

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.mode == "avg":
            return paddle.mean(x, axis=[2, 3], keepdim=self.keepdims)
        # Not paddle.max over axes: its CPU gradient (an Eigen broadcast per element) took about
        # 15 s for one 32x32x36x36 batch, against 40 ms for the max pool's (docs/timing.md, E2c).
        pooled = F.adaptive_max_pool2d(x, 1)
        return pooled if self.keepdims else paddle.flatten(pooled, start_axis=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode}, keepdims={self.keepdims}"


class ChannelsLastFlatten(nn.Layer):
    """Flatten in (H, W, C) order: for a flatten that no dense layer follows (whose rows could
    otherwise absorb the order), e.g. one that produces the logits itself."""

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return paddle.flatten(paddle.transpose(x, [0, 2, 3, 1]), start_axis=1)


class Unit(nn.Layer):
    """One neutral layer: optional run-time padding, the Paddle layer that does the work (and
    holds the weights, as ``core``), optional activation."""

    def __init__(self, core: nn.Layer, pad: nn.Layer | None = None, activation: nn.Layer | None = None) -> None:
        super().__init__()
        self.pad = pad
        self.core = core
        self.activation = activation

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if self.pad is not None:
            x = self.pad(x)
        x = self.core(x)
        return x if self.activation is None else self.activation(x)
