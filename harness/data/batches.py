"""The order of images and their grouping into batches, decided by the harness from (seed, epoch).

An epoch's batches come from ``PCG64([seed, epoch])``: each size bucket's images are permuted and
cut into batches of ``batch_size``, the order of the full batches is permuted, and the partial
batches (the remainder of each bucket, kept so that every image is seen once per epoch) come last,
bucket by bucket. With one bucket (a fixed-size input) this is simply a permutation of the split
cut into batches, the last one partial. Without shuffling, batches follow the images' order
bucket by bucket. Images are assigned to buckets once, balanced and seeded by
``PCG64([seed, BUCKET_STREAM, split])``.
"""

from __future__ import annotations

import math

import numpy as np

BUCKET_STREAM = 0xB0C


def epoch_generator(seed: int, epoch: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, epoch]))


def assign_buckets(count: int, buckets: int, seed: int, split: int) -> np.ndarray:
    """Bucket index per image: as balanced as possible, in a seeded random arrangement."""
    rng = np.random.Generator(np.random.PCG64([seed, BUCKET_STREAM, split]))
    return rng.permutation(np.arange(count) % buckets)


def plan_batches(bucket_of: np.ndarray, batch_size: int, seed: int, epoch: int, shuffle: bool) -> list[tuple[int, np.ndarray]]:
    """The epoch's batches as (bucket, image indices), in the order they are to be used."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, not {batch_size}")
    rng = epoch_generator(seed, epoch)
    full: list[tuple[int, np.ndarray]] = []
    partial: list[tuple[int, np.ndarray]] = []
    for bucket in range(int(bucket_of.max(initial=-1)) + 1):
        indices = np.flatnonzero(bucket_of == bucket)
        if shuffle:
            indices = rng.permutation(indices)
        for start in range(0, len(indices), batch_size):
            batch = (bucket, indices[start : start + batch_size])
            (full if len(batch[1]) == batch_size else partial).append(batch)
    if shuffle:
        full = [full[i] for i in rng.permutation(len(full))]
    return full + partial


def count_batches(bucket_of: np.ndarray, batch_size: int) -> int:
    """How many batches an epoch has."""
    return sum(math.ceil(n / batch_size) for n in np.bincount(bucket_of) if n)
