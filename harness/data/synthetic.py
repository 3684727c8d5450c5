"""Seeded synthetic images that a small network can learn: a smooth pattern per class plus noise.

Each class has a random coarse grid of intensities, upsampled bilinearly to the image size; an
image is 0.6 x its class's pattern + 0.4 x uniform noise, stored as uint8. The patterns come from
the seed alone, the training and test images from separate streams of it, so any seed gives the
same images on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import scipy.ndimage

from harness.data.errors import DataError
from harness.data.official import SplitName
from harness.data.raw import RawData, RawSplit
from harness.limits import data_bytes_limit, describe_data_limit

PATTERN_WEIGHT = 0.6
PATTERN_CELLS = 4
CHUNK = 256
STREAMS: dict[str, int] = {"patterns": 0, "train": 1, "test": 2}


def generator(seed: int, stream: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, STREAMS[stream]]))


def class_patterns(shape: tuple[int, int, int], classes: int, seed: int) -> np.ndarray:
    """One smooth pattern in [0, 1] per class, shape (classes, H, W, C)."""
    height, width, channels = shape
    coarse = generator(seed, "patterns").random((classes, PATTERN_CELLS, PATTERN_CELLS, channels), dtype=np.float32)
    zoom = (1.0, height / PATTERN_CELLS, width / PATTERN_CELLS, 1.0)
    return scipy.ndimage.zoom(coarse, zoom, order=1, grid_mode=True, mode="nearest")


def synthetic_split(patterns: np.ndarray, count: int, rng: np.random.Generator) -> RawSplit:
    """``count`` images with uniformly drawn labels."""
    labels = rng.integers(0, len(patterns), count, dtype=np.int64)
    images = np.empty((count,) + patterns.shape[1:], dtype=np.uint8)
    for start in range(0, count, CHUNK):
        chosen = patterns[labels[start : start + CHUNK]]
        noise = rng.random(chosen.shape, dtype=np.float32)
        mixed = PATTERN_WEIGHT * chosen + (1.0 - PATTERN_WEIGHT) * noise
        images[start : start + CHUNK] = np.rint(mixed * 255.0).astype(np.uint8)
    return RawSplit(images, labels)


def load_synthetic(
    shape: tuple[int, int, int], classes: int, seed: int, sizes: dict[SplitName, int], splits: Sequence[SplitName]
) -> RawData:
    """Synthetic images of ``shape`` (H, W, C) in ``classes`` classes, ``sizes[split]`` images per split.

    Refused (:class:`DataError`) before anything is allocated when they would not fit the data limit.
    """
    count = sum(sizes[split] for split in splits)
    needed = count * (int(np.prod(shape)) + np.dtype(np.int64).itemsize) + classes * int(np.prod(shape)) * 4
    if needed > data_bytes_limit():
        raise DataError(
            f"the synthetic data set would take {needed:,} bytes in memory ({count:,} images of "
            f"{'x'.join(map(str, shape))}), more than a data set may.",
            f"lower dataset.train_size and test_size (or the image size); {describe_data_limit()}.",
        )
    patterns = class_patterns(shape, classes, seed)
    data = RawData(name="synthetic", title="synthetic images", splits={}, source=f"generated (seed {seed})")
    for split in splits:
        raw = synthetic_split(patterns, sizes[split], generator(seed, split))
        data.splits[split] = raw
        digest = hashlib.sha256(raw.images.tobytes() + raw.labels.tobytes()).hexdigest()
        data.digests.append((f"synthetic:{split}", digest))
    height, width, channels = shape
    data.notes.append(
        f"synthetic images: {classes} classes, {height}x{width}x{channels}, each {PATTERN_WEIGHT:g} x a smooth class "
        f"pattern + {1 - PATTERN_WEIGHT:g} x uniform noise, seed {seed}."
    )
    return data
