"""Data as read, before fitting: uint8 (or float) NHWC images and int64 labels per split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from harness.data.errors import CorruptDataError
from harness.data.official import SplitName


@dataclass(frozen=True)
class RawSplit:
    """One split's images (N, H, W, C) and labels (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def first(self, count: int | None) -> RawSplit:
        """The first ``count`` images (all when None)."""
        return self if count is None else RawSplit(self.images[:count], self.labels[:count])


@dataclass
class RawData:
    """A data set as read: its splits, where they came from and the digests of the files read."""

    name: str
    title: str
    splits: dict[SplitName, RawSplit]
    source: str
    digests: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def checksum(self) -> str:
        """sha256 over one ``name sha256`` line per file read (decompressed content), in reading order."""
        lines = "".join(f"{name} {digest}\n" for name, digest in self.digests)
        return hashlib.sha256(lines.encode()).hexdigest()


def make_split(images: np.ndarray, labels: np.ndarray, origin: str) -> RawSplit:
    """A split from arrays as files hold them: (N, H, W) or (N, H, W, C) images and N labels."""
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise CorruptDataError(
            f"{origin}: images must be an array of shape (N, H, W) or (N, H, W, C), not {images.shape}.",
            "store the images channels-last, one image per row of the first axis.",
        )
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
        raise CorruptDataError(
            f"{origin}: {len(images)} images need {len(images)} integer labels, one per image, but the labels have "
            f"shape {labels.shape} and type {labels.dtype}.",
            "store one integer class index per image.",
        )
    if len(labels) and labels.min() < 0:
        raise CorruptDataError(f"{origin}: labels must be class indices from 0, but one is {labels.min()}.", "store class indices 0..classes-1.")
    return RawSplit(images, labels.astype(np.int64))
