"""Two Keras layers the neutral padding rules need and Keras does not ship.

* :class:`ConstantPadding2D` pads with any value: ``-inf`` before a max pool, so padded pixels
  never win (Keras' ``ZeroPadding2D`` would let a zero beat negative activations).
* :class:`PaddingExcludedAveragePooling2D` averages over explicitly padded windows with the padded
  pixels left out of the count, TensorFlow's rule for ``same`` extended to any padding.

Both work on any input height and width (size-agnostic networks).
"""

from __future__ import annotations

from typing import Any

from harness.neutral.shapes import Pads
from harness_keras.runtime import keras

ops = keras.ops


def _pad_widths(pads: Pads) -> list[tuple[int, int]]:
    top, bottom, left, right = pads
    return [(0, 0), (top, bottom), (left, right), (0, 0)]


@keras.saving.register_keras_serializable(package="harness")
class ConstantPadding2D(keras.layers.Layer):
    """Pad a channels-last feature map by ``(top, bottom, left, right)`` pixels of ``value``."""

    def __init__(self, pads: Pads, value: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pads = tuple(int(p) for p in pads)
        self.value = float(value)

    def call(self, inputs: Any) -> Any:
        return ops.pad(inputs, _pad_widths(self.pads), constant_values=self.value)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        batch, height, width, channels = input_shape
        top, bottom, left, right = self.pads
        return (
            batch,
            None if height is None else height + top + bottom,
            None if width is None else width + left + right,
            channels,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pads": self.pads, "value": self.value}


@keras.saving.register_keras_serializable(package="harness")
class PaddingExcludedAveragePooling2D(keras.layers.Layer):
    """Average pooling over a zero-padded map, divided by the number of real (unpadded) pixels
    in each window rather than by the window size."""

    def __init__(self, pool_size: tuple[int, int], strides: tuple[int, int], pads: Pads, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = tuple(pool_size)
        self.strides = tuple(strides)
        self.pads = tuple(int(p) for p in pads)

    def _window_mean(self, x: Any) -> Any:
        padded = ops.pad(x, _pad_widths(self.pads))
        return ops.average_pool(padded, self.pool_size, self.strides, padding="valid", data_format="channels_last")

    def call(self, inputs: Any) -> Any:
        real_pixels = ops.ones_like(inputs[:1, :, :, :1])  # broadcast over the batch and channels
        return self._window_mean(inputs) / self._window_mean(real_pixels)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        batch, height, width, channels = input_shape
        top, bottom, left, right = self.pads

        def out(size: int | None, before: int, after: int, window: int, stride: int) -> int | None:
            return None if size is None else (size + before + after - window) // stride + 1

        return (
            batch,
            out(height, top, bottom, self.pool_size[0], self.strides[0]),
            out(width, left, right, self.pool_size[1], self.strides[1]),
            channels,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides, "pads": self.pads}
