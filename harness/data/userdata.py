"""The user's own data: a directory of IDX files in MNIST's naming, or an ``.npz`` file."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.data.errors import CorruptDataError, DataNotFoundError
from harness.data.idx import parse_idx, read_content, too_large
from harness.data.locate import find_file
from harness.data.official import MNIST, SplitName
from harness.data.raw import RawData, make_split
from harness.data.verify import file_sha256, sha256_hex
from harness.limits import data_bytes_limit


def load_idx_dir(path: Path | str, splits: Sequence[SplitName]) -> RawData:
    """Read ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``) from the directory ``path``."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(
            f"the IDX data directory {folder} does not exist or is not a directory.",
            "set the data set's path (or --data-dir) to a directory holding the IDX files in MNIST's naming.",
        )
    data = RawData(name="idx", title=f"IDX files in {folder}", splits={}, source=str(folder))
    for split in splits:
        files = MNIST.files(split)
        paths = [find_file(folder, file) for file in files]
        if not all(paths):
            missing = [f.content_name for f, p in zip(files, paths) if p is None]
            raise DataNotFoundError(
                f"the {split} split of the IDX data in {folder} is missing: there is no {' and no '.join(missing)} (with or without .gz).",
                f"put {', '.join(f.content_name for f in files)} (optionally gzip-compressed, with .gz) in {folder}.",
            )
        contents = [read_content(p) for p in paths]
        arrays = [parse_idx(content, str(p)) for content, p in zip(contents, paths)]
        data.splits[split] = make_split(arrays[0], arrays[1], str(folder))
        data.digests += [(p.name.removesuffix(".gz"), sha256_hex(c)) for p, c in zip(paths, contents)]
    return data


def load_npz(path: Path | str, splits: Sequence[SplitName]) -> RawData:
    """Read ``x_train``, ``y_train``, ``x_test`` and ``y_test`` from the ``.npz`` file ``path``."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataNotFoundError(
            f"the npz data file {file} does not exist.",
            "set the data set's path (or --data-dir) to an .npz file holding x_train, y_train, x_test and y_test.",
        )
    try:
        with zipfile.ZipFile(file) as members:
            expanded = sum(member.file_size for member in members.infolist())
        if expanded > data_bytes_limit():
            raise too_large(str(file), f"holds {expanded:,} bytes of arrays")
        with np.load(file, allow_pickle=False) as archive:
            needed = [f"{axis}_{split}" for split in splits for axis in ("x", "y")]
            absent = [key for key in needed if key not in archive.files]
            if absent:
                raise DataNotFoundError(
                    f"{file} has no array {' and no '.join(absent)} (it holds: {', '.join(archive.files) or 'nothing'}).",
                    "save the data with numpy.savez(path, x_train=..., y_train=..., x_test=..., y_test=...).",
                )
            arrays = {key: archive[key] for key in needed}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptDataError(
            f"{file} cannot be read as an .npz archive ({exc}); it was not used.",
            "save it again with numpy.savez (object arrays are not accepted).",
        ) from None
    data = RawData(name="npz", title=f"{file.name}", splits={}, source=str(file), digests=[(file.name, file_sha256(file))])
    for split in splits:
        data.splits[split] = make_split(arrays[f"x_{split}"], arrays[f"y_{split}"], f"{file} ({split})")
    return data
