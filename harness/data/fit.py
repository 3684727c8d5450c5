"""Fitting images to a network's input: size (bilinear resize or zero-pad), channels, scale.

Every step works image by image, so fitting a whole split at once and fitting each batch as it
is produced give the same numbers bit for bit. Resizing is scipy's order-1 spline zoom with
``grid_mode=True``: bilinear interpolation with half-pixel centres and clamped edges, the rule of
``tf.image.resize`` and of PyTorch's ``interpolate(..., align_corners=False)`` without antialiasing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.ndimage

from harness.data.errors import DataError

Shape3 = tuple[int, int, int]
FitMethod = Literal["resize", "pad"]
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
PIXEL_MAX = 255.0


def describe_shape(shape: Shape3) -> str:
    return "x".join(str(n) for n in shape)


def check_channels(source: int, target: int) -> None:
    """Raise unless ``source`` channels can be turned into ``target`` (same, grey to any, RGB to grey)."""
    if source != target and source != 1 and (source, target) != (3, 1):
        raise DataError(
            f"the images have {source} channels and the network's input takes {target}; the harness turns grey into "
            "any number of channels (by repetition) and RGB into grey (by luminance), nothing else.",
            f"give the spec's input {source} channels, or use images with 1 or {target} channels.",
        )


@dataclass(frozen=True)
class Fit:
    """How images of shape ``source`` become float32 images of shape ``target`` (both H, W, C)."""

    source: Shape3
    target: Shape3
    method: FitMethod
    scale: bool

    def __post_init__(self) -> None:
        check_channels(self.source[2], self.target[2])

    @property
    def same_size(self) -> bool:
        return self.source[:2] == self.target[:2]

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Fitted float32 copies of ``images`` (N, H, W, C)."""
        x = images.astype(np.float32)
        if self.scale:
            x /= np.float32(PIXEL_MAX)
        if not self.same_size:
            x = self.resize(x) if self.method == "resize" else self.pad(x)
        return self.convert_channels(x)

    def resize(self, x: np.ndarray) -> np.ndarray:
        height, width = self.target[:2]
        out = np.empty((len(x), height, width, x.shape[3]), dtype=np.float32)
        factors = (height / x.shape[1], width / x.shape[2])
        for n in range(len(x)):
            for c in range(x.shape[3]):
                out[n, :, :, c] = scipy.ndimage.zoom(x[n, :, :, c], factors, order=1, grid_mode=True, mode="nearest")
        return out

    def pad(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x),) + self.target[:2] + (x.shape[3],), dtype=np.float32)
        into, take = [], []
        for have, want in zip(x.shape[1:3], self.target[:2]):
            margin = abs(want - have) // 2
            size = min(have, want)
            into.append(slice(margin, margin + size) if want >= have else slice(0, size))
            take.append(slice(0, size) if want >= have else slice(margin, margin + size))
        out[:, into[0], into[1], :] = x[:, take[0], take[1], :]
        return out

    def convert_channels(self, x: np.ndarray) -> np.ndarray:
        have, want = x.shape[3], self.target[2]
        if have == want:
            return x
        if have == 1:
            return np.repeat(x, want, axis=3)
        return np.tensordot(x, LUMINANCE, axes=([3], [0]))[..., np.newaxis].astype(np.float32)

    def describe(self) -> str:
        """One line for the report, e.g. '28x28x1 resized to 224x224x3 by bilinear interpolation; ...'."""
        source, target = describe_shape(self.source), describe_shape(self.target)
        if self.same_size:
            parts = [f"{source} used at its own size"]
        elif self.method == "resize":
            parts = [f"{source} resized to {target} by bilinear interpolation (half-pixel centres)"]
        else:
            grows = all(w >= h for h, w in zip(self.source[:2], self.target[:2]))
            parts = [f"{source} {'zero-padded' if grows else 'zero-padded and centre-cropped'} (centred) to {target}"]
        have, want = self.source[2], self.target[2]
        if have != want:
            parts.append(f"grey replicated to {want} channels" if have == 1 else "RGB turned to grey by luminance (0.299, 0.587, 0.114)")
        parts.append("pixels scaled from 0..255 to [0, 1] as float32" if self.scale else "pixel values kept as float32")
        return "; ".join(parts)
