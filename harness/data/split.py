"""One split ready for training or evaluation: fitted batches in the harness's order."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from harness.data.batches import count_batches, plan_batches
from harness.data.fit import Fit
from harness.data.raw import RawSplit

EAGER_CHUNK = 1024


class Split:
    """Images and labels of one split, fitted per size bucket.

    With one bucket whose fitted images fit within ``max_eager_bytes`` the split is fitted once
    (in chunks); otherwise each batch is fitted as it is produced, so a 224x224x3 input never holds
    more than a batch of fitted images. Both give the same numbers.
    """

    def __init__(self, raw: RawSplit, fits: list[Fit], bucket_of: np.ndarray, max_eager_bytes: int) -> None:
        self.raw = raw
        self.fits = fits
        self.bucket_of = bucket_of
        fitted_bytes = len(raw) * int(np.prod(fits[0].target)) * 4
        self.fitted: np.ndarray | None = None
        if len(fits) == 1 and fitted_bytes <= max_eager_bytes:
            chunks = [fits[0](raw.images[start : start + EAGER_CHUNK]) for start in range(0, len(raw), EAGER_CHUNK)]
            self.fitted = np.concatenate(chunks) if chunks else np.empty((0, *fits[0].target), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def labels(self) -> np.ndarray:
        return self.raw.labels

    @property
    def lazy(self) -> bool:
        """Whether batches are fitted as they are produced."""
        return self.fitted is None

    def num_batches(self, batch_size: int) -> int:
        """How many batches one epoch of ``batch_size`` has (the last of each bucket may be partial)."""
        return count_batches(self.bucket_of, batch_size)

    def images(self, bucket: int, indices: np.ndarray) -> np.ndarray:
        """The fitted images at ``indices``, all of which belong to ``bucket``."""
        if self.fitted is not None:
            return self.fitted[indices]
        return self.fits[bucket](self.raw.images[indices])

    def batches(self, batch_size: int, seed: int, epoch: int, shuffle: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(images NHWC float32, labels int64) batches of one epoch, the same for every framework
        given the same ``seed`` and ``epoch``; the last batch of each size bucket may be smaller."""
        for bucket, indices in plan_batches(self.bucket_of, batch_size, seed, epoch, shuffle):
            yield self.images(bucket, indices), self.raw.labels[indices]
