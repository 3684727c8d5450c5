"""``load_data``: a spec's data set read, checked, limited, fitted and ready to batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import numpy as np

from harness.data.batches import assign_buckets
from harness.data.download import DEFAULT_TIMEOUT
from harness.data.errors import DataError
from harness.data.fit import Fit, check_channels
from harness.data.official import OFFICIAL_SETS, SPLITS, SplitName
from harness.data.raw import RawData
from harness.data.split import Split
from harness.data.standard import load_standard
from harness.data.synthetic import load_synthetic
from harness.data.userdata import load_idx_dir, load_npz
from harness.results import DataInfo
from harness.spec.schema import Dataset

if TYPE_CHECKING:
    from harness.spec.network import Network

InputShape = Sequence[int | None]
DEFAULT_MAX_EAGER_BYTES = 1 << 28
DEFAULT_SYNTHETIC_SIZE = (28, 28)
DEFAULT_CLASSES = 10
DATASET_NAMES: tuple[str, ...] = get_args(Dataset.model_fields["name"].annotation)


@dataclass
class LoadedData:
    """The data of one job: fitted splits and the record of what was loaded (``info``)."""

    info: DataInfo
    splits: dict[SplitName, Split]

    def split(self, name: SplitName) -> Split:
        if name not in self.splits:
            raise DataError(f"the {name} split of {self.info.name} was not loaded.", f"load it with splits including '{name}'.")
        return self.splits[name]

    @property
    def train(self) -> Split:
        return self.split("train")

    @property
    def test(self) -> Split:
        return self.split("test")

    def fixed_batch(self, count: int) -> np.ndarray:
        """The first ``count`` test images (fewer if the split is smaller), fitted; for a
        size-agnostic input, to the first bucket's size."""
        test = self.test
        return test.fits[0](test.raw.images[:count])


@dataclass(frozen=True)
class Where:
    """Where data files are looked for and fetched from (see :mod:`harness.data.locate`)."""

    data_dir: Path | str | None = None
    search_path: list[Path] | None = None
    mirrors: Sequence[str] | None = None
    download: bool | None = None
    timeout: float = DEFAULT_TIMEOUT


def read_raw(
    dataset: Dataset, overridden: bool, input_shape: InputShape, classes: int, seed: int, splits: Sequence[SplitName], where: Where
) -> RawData:
    """Read the data set's requested splits, unfitted. A spec's own ``path`` counts as the data
    directory of MNIST and Fashion-MNIST unless ``--dataset`` replaced the spec's data set."""
    own_path = None if overridden else dataset.path
    if dataset.name in OFFICIAL_SETS:
        return load_standard(
            dataset.name, splits, data_dir=where.data_dir or own_path, search_path=where.search_path,
            mirrors=where.mirrors, download=where.download, timeout=where.timeout,
        )
    if dataset.name == "synthetic":
        height, width, channels = input_shape
        size = (height, width) if height is not None and width is not None else max(dataset.sizes or [DEFAULT_SYNTHETIC_SIZE])
        counts: dict[SplitName, int] = {"train": dataset.train_size, "test": dataset.test_size}
        return load_synthetic((int(size[0]), int(size[1]), int(channels)), classes, seed, counts, splits)
    path = where.data_dir or own_path
    if path is None:
        raise DataError(f"data set '{dataset.name}' needs a path to the user's files.", "give dataset.path in the spec, or --data-dir.")
    return load_idx_dir(path, splits) if dataset.name == "idx" else load_npz(path, splits)


def check_values(raw: RawData, classes: int | None) -> None:
    """Labels must be below ``classes``; integer pixels must lie in 0..255."""
    for name, split in raw.splits.items():
        if classes is not None and len(split) and int(split.labels.max()) >= classes:
            raise DataError(
                f"the {name} labels of {raw.title} go up to {int(split.labels.max())}, but the network has {classes} classes.",
                f"set the spec's classes to at least {int(split.labels.max()) + 1}, or use a data set with {classes} classes.",
            )
        images = split.images
        if np.issubdtype(images.dtype, np.integer) and len(images) and (images.min() < 0 or images.max() > 255):
            raise DataError(
                f"the {name} images of {raw.title} are integers outside 0..255 ({images.min()}..{images.max()}).",
                "store pixels as uint8 (0..255) or as floats already scaled as the network expects.",
            )


def bucket_sizes(dataset: Dataset, input_shape: InputShape, native: tuple[int, int], notes: list[str]) -> list[tuple[int, int]]:
    """The (H, W) of each size bucket: the input's own size, else ``dataset.sizes``, else the images' size."""
    height, width, _ = input_shape
    if height is not None and width is not None:
        if dataset.sizes:
            notes.append(f"dataset.sizes ignored: the input has the fixed size {height}x{width}.")
        return [(int(height), int(width))]
    return [tuple(s) for s in dataset.sizes] if dataset.sizes else [native]  # type: ignore[misc]


def load_data(
    dataset: Dataset,
    input_shape: InputShape,
    *,
    classes: int | None = None,
    data_dir: Path | str | None = None,
    seed: int = 0,
    limit_train: int | None = None,
    limit_test: int | None = None,
    name_override: str | None = None,
    splits: Sequence[SplitName] = SPLITS,
    search_path: list[Path] | None = None,
    mirrors: Sequence[str] | None = None,
    download: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_eager_bytes: int = DEFAULT_MAX_EAGER_BYTES,
) -> LoadedData:
    """Load ``dataset`` for a network whose input is ``input_shape`` (H, W, C; H and W may be None).

    See the package docstring for the meaning of every argument.
    """
    requested = dataset.name
    overridden = name_override is not None and name_override != dataset.name
    if overridden and name_override not in DATASET_NAMES:
        raise DataError(f"there is no data set '{name_override}'.", f"use --dataset with one of: {', '.join(DATASET_NAMES)}.")
    if overridden:
        dataset = dataset.model_copy(update={"name": name_override})
    where = Where(data_dir, search_path, mirrors, download, timeout)
    raw = read_raw(dataset, overridden, input_shape, classes or DEFAULT_CLASSES, seed, splits, where)
    check_values(raw, classes)
    notes: list[str] = []
    if overridden:
        notes.append(f"{dataset.name} stands in for the spec's {requested} (chosen explicitly with --dataset).")
    limits: dict[SplitName, int | None] = {"train": limit_train or dataset.limit_train, "test": limit_test or dataset.limit_test}
    full_sizes = {name: len(split) for name, split in raw.splits.items()}
    for name, split in list(raw.splits.items()):
        limit = limits[name]
        if limit is not None and limit < len(split):
            notes.append(f"{name} limited to its first {limit} of {len(split)} images.")
            raw.splits[name] = split.first(limit)
    first = next(iter(raw.splits.values()))
    source_shape = tuple(int(n) for n in first.images.shape[1:])
    channels = int(input_shape[2])
    check_channels(source_shape[2], channels)
    sizes = bucket_sizes(dataset, input_shape, source_shape[:2], notes)
    scale = dataset.normalize and np.issubdtype(first.images.dtype, np.integer)
    fits = [Fit(source_shape, (h, w, channels), dataset.fit, scale) for h, w in sizes]  # type: ignore[arg-type]
    notes += [fit.describe() for fit in fits]
    if dataset.normalize and not scale:
        notes.append("the images are floats: used as stored, not rescaled.")
    if len(sizes) > 1:
        notes.append(
            f"size buckets {', '.join(f'{h}x{w}' for h, w in sizes)}: images assigned to buckets by seed {seed}, "
            "each batch holds one bucket's size, in training and in evaluation."
        )
    prepared = {
        name: Split(split, fits, assign_buckets(len(split), len(fits), seed, SPLITS.index(name)), max_eager_bytes)
        for name, split in raw.splits.items()
    }
    info = DataInfo(
        name=dataset.name,
        requested=requested if overridden else None,
        source=raw.source,
        checksum=raw.checksum,
        train_size=len(raw.splits["train"]) if "train" in raw.splits else 0,
        test_size=len(raw.splits["test"]) if "test" in raw.splits else 0,
        full_train_size=full_sizes.get("train"),
        full_test_size=full_sizes.get("test"),
        image_shape=list(source_shape),
        fitted_to=list(input_shape),
        fit="none" if all(f.same_size for f in fits) else dataset.fit,
        notes=notes + raw.notes,
    )
    return LoadedData(info, prepared)


def parity_batch(
    network: Network, size: tuple[int, int], count: int, data_dir: str | None = None
) -> tuple[np.ndarray, str]:
    """The first ``count`` test images of the network's data set fitted to ``size``, and a description."""
    spec = network.spec
    shape = (size[0], size[1], spec.input[2])
    data = load_data(
        spec.dataset.model_copy(update={"sizes": None}), shape, classes=spec.classes, seed=spec.train.seed,
        limit_test=count, splits=("test",), data_dir=data_dir,
    )
    return data.fixed_batch(count), f"the first {count} {data.info.name} test images ({data.test.fits[0].describe()})"
