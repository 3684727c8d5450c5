"""Where MNIST and Fashion-MNIST are looked for, in order.

1. The explicit data directory: ``--data-dir`` (the ``data_dir`` argument), else ``HARNESS_DATA_DIR``.
2. The harness's own cache, ``$XDG_CACHE_HOME/harness/datasets`` (``~/.cache/harness/datasets``),
   where downloads go.
3. The search path: the places other tools keep these data sets, ``$KERAS_HOME/datasets``
   (``~/.keras/datasets``: Keras keeps Fashion-MNIST's IDX files in ``fashion-mnist/`` and MNIST as
   ``mnist.npz``) and ``/usr/share/datasets`` (Debian's ``dataset-fashion-mnist``). The
   ``search_path`` argument or ``HARNESS_DATA_PATH`` (directories joined by ``os.pathsep``)
   replaces this list.

In each directory D the files are looked for in ``D/<name>/`` and then in ``D`` itself, under
their official names with or without ``.gz``; for MNIST, Keras' ``D/mnist.npz`` comes last.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.data.errors import DataNotFoundError
from harness.data.official import OfficialFile

DATA_DIR_ENV = "HARNESS_DATA_DIR"
SEARCH_PATH_ENV = "HARNESS_DATA_PATH"
DEBIAN_DATASETS = Path("/usr/share/datasets")


@dataclass(frozen=True)
class SearchDir:
    """A directory searched, and why it is searched."""

    path: Path
    label: str

    def describe(self) -> str:
        return f"{self.path} ({self.label})"


def cache_root() -> Path:
    """The harness's data cache: ``$XDG_CACHE_HOME/harness/datasets``, by default under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness" / "datasets"


def keras_datasets_dir() -> Path:
    """Where Keras keeps downloaded data sets: ``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets"


def standard_search_path() -> list[SearchDir]:
    """The places other tools keep MNIST and Fashion-MNIST."""
    return [SearchDir(keras_datasets_dir(), "Keras' data sets"), SearchDir(DEBIAN_DATASETS, "Debian's data set packages")]


def explicit_data_dir(data_dir: Path | str | None) -> SearchDir | None:
    """The directory the user named (argument, else environment); it must exist."""
    label = "--data-dir"
    if data_dir is None and os.environ.get(DATA_DIR_ENV):
        data_dir, label = os.environ[DATA_DIR_ENV], DATA_DIR_ENV
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(
            f"the data directory {path} (given by {label}) does not exist or is not a directory.",
            f"give {label} a directory that holds the data set's files (for MNIST: the four IDX files), or leave it out.",
        )
    return SearchDir(path, label)


def search_dirs(data_dir: Path | str | None = None, search_path: list[Path] | None = None) -> list[SearchDir]:
    """Every directory to search, in order (see the module docstring)."""
    dirs = [d for d in (explicit_data_dir(data_dir),) if d is not None]
    dirs.append(SearchDir(cache_root(), "the harness cache"))
    if search_path is not None:
        dirs += [SearchDir(Path(p).expanduser(), "search path") for p in search_path]
    elif os.environ.get(SEARCH_PATH_ENV) is not None:
        entries = [p for p in os.environ[SEARCH_PATH_ENV].split(os.pathsep) if p]
        dirs += [SearchDir(Path(p).expanduser(), SEARCH_PATH_ENV) for p in entries]
    else:
        dirs += standard_search_path()
    return dirs


def folders_in(directory: Path, name: str) -> list[Path]:
    """The folders of ``directory`` that may hold data set ``name``'s files."""
    return [directory / name, directory]


def find_file(folder: Path, file: OfficialFile) -> Path | None:
    """The file in ``folder`` under its official name, compressed or not."""
    for candidate in (folder / file.name, folder / file.content_name):
        if candidate.is_file():
            return candidate
    return None
