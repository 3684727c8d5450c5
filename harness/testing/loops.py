"""Layers written out as loops over output pixels in numpy: an independent check, by hand, of the
padding and layouts that the harness's reference and the framework plugins implement."""

from __future__ import annotations

import numpy as np


def loop_conv(x: np.ndarray, kernel: np.ndarray, stride: int, pads: tuple[int, int, int, int]) -> np.ndarray:
    """A channels-last convolution (no bias) of ``x`` zero-padded by ``pads`` (top, bottom, left, right),
    written as loops over output pixels."""
    top, bottom, left, right = pads
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, _, filters = kernel.shape
    out_h = (padded.shape[1] - kh) // stride + 1
    out_w = (padded.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            patch = padded[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out
