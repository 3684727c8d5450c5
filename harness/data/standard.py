"""MNIST and Fashion-MNIST: searched for (see :mod:`harness.data.locate`), verified, downloaded when missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.data.download import DEFAULT_TIMEOUT, OFFLINE_ENV, download_file, downloads_allowed, mirror_list
from harness.data.errors import DataNotFoundError
from harness.data.idx import parse_idx
from harness.data.locate import SearchDir, cache_root, find_file, folders_in, search_dirs
from harness.data.official import OFFICIAL_SETS, OfficialSet, SplitName
from harness.data.raw import RawData, RawSplit, make_split
from harness.data.verify import ForeignFile, VerifiedFile, verify_file, verify_keras_npz


@dataclass
class FoundSplit:
    """One split as found: its arrays, where, the digests of its files and what to note about them."""

    split: RawSplit
    where: str
    digests: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


@dataclass
class Search:
    """The state of one data set's search: what each place held, and Keras archives already read."""

    data_set: OfficialSet
    looked: dict[SplitName, list[str]] = field(default_factory=dict)
    npz_cache: dict[Path, tuple[dict[str, np.ndarray], str]] = field(default_factory=dict)

    def note(self, split: SplitName, line: str) -> None:
        self.looked.setdefault(split, []).append(line)


def from_idx(data_set: OfficialSet, split: SplitName, folder: Path, label: str, verified: list[VerifiedFile]) -> FoundSplit:
    images_file, labels_file = verified
    images = parse_idx(images_file.content, str(images_file.path))
    labels = parse_idx(labels_file.content, str(labels_file.path))
    found = FoundSplit(
        make_split(images, labels, str(folder)),
        f"{folder} ({label})",
        [(v.path.name.removesuffix(".gz"), v.content_sha256) for v in verified],
    )
    recompressed = [v.path.name for v in verified if v.path.suffix == ".gz" and not v.official_archive]
    if recompressed:
        found.notes.append(
            f"{data_set.title} {split} files in {folder} ({', '.join(recompressed)}) are recompressed copies of the official "
            "archives; their decompressed content matches the official sha256."
        )
    return found


def from_keras_npz(search: Search, split: SplitName, path: Path, label: str) -> FoundSplit:
    data_set = search.data_set
    if path not in search.npz_cache:
        digest = verify_keras_npz(path, data_set)
        with np.load(path, allow_pickle=False) as archive:
            search.npz_cache[path] = ({key: archive[key] for key in archive.files}, digest)
    arrays, digest = search.npz_cache[path]
    found = FoundSplit(make_split(arrays[f"x_{split}"], arrays[f"y_{split}"], str(path)), f"{path} ({label})", [(f"{path.name}:{split}", digest)])
    found.notes.append(f"{data_set.title} {split} split read from Keras' {path.name} (sha256 verified).")
    return found


def find_in(search: Search, split: SplitName, place: SearchDir) -> FoundSplit | None:
    """The split from one searched directory, or None (noting why)."""
    data_set = search.data_set
    if not place.path.is_dir():
        search.note(split, f"{place.describe()}: no such directory")
        return None
    files = data_set.files(split)
    reasons: list[str] = []
    for folder in folders_in(place.path, data_set.name):
        paths = [find_file(folder, f) for f in files]
        if all(paths):
            try:
                return from_idx(data_set, split, folder, place.label, [verify_file(p, f, data_set) for p, f in zip(paths, files)])
            except ForeignFile as exc:
                reasons.append(f"{exc.path.name} in {folder} is {exc.identity}, not {data_set.title}")
        elif any(paths):
            present = [p.name for p in paths if p]
            missing = [f.name for f, p in zip(files, paths) if not p]
            reasons.append(f"{folder} has {', '.join(present)} but not {', '.join(missing)}")
    if data_set.keras_npz and (place.path / data_set.keras_npz).is_file():
        return from_keras_npz(search, split, place.path / data_set.keras_npz, place.label)
    search.note(split, f"{place.describe()}: " + ("; ".join(reasons) or f"no {data_set.title} {split} files"))
    return None


def fetch_into_cache(search: Search, split: SplitName, mirrors: Sequence[str], timeout: float) -> FoundSplit | None:
    """Download the split's missing files into the cache, then read them (None, noting why, on failure)."""
    data_set = search.data_set
    folder = cache_root() / data_set.name
    for file in data_set.files(split):
        if find_file(folder, file) is None:
            path, failures = download_file(file, folder, mirrors, timeout)
            if path is None:
                search.note(split, "download: " + ("; ".join(failures) or "no mirror configured"))
                return None
    return find_in(search, split, SearchDir(cache_root(), "downloaded into the harness cache"))


def how_to_get(data_set: OfficialSet, splits: list[SplitName]) -> str:
    names = ", ".join(f.name for split in splits for f in data_set.files(split))
    ways = [f"download {names} from {' or '.join(data_set.mirrors)} into {cache_root() / data_set.name}"]
    ways.append("put them in a directory and pass --data-dir DIR (or set HARNESS_DATA_DIR)")
    if data_set.debian_package:
        ways.insert(0, f"on Debian or Ubuntu run `apt-get install {data_set.debian_package}`")
    else:
        ways.append("train on Fashion-MNIST instead with --dataset fashion-mnist (on Debian: `apt-get install dataset-fashion-mnist`)")
    return "; or ".join(ways) + "."


def missing_error(search: Search, missing: list[SplitName], found: dict[SplitName, FoundSplit]) -> DataNotFoundError:
    data_set = search.data_set
    parts = [f"The {data_set.title} {split} split was not found. Looked in: " + "; ".join(
        f"({i}) {line}" for i, line in enumerate(search.looked.get(split, []), start=1)
    ) + "." for split in missing]
    parts += [f"The {split} split was found in {f.where}." for split, f in found.items()]
    return DataNotFoundError(" ".join(parts), how_to_get(data_set, missing))


def load_standard(
    name: str,
    splits: Sequence[SplitName],
    *,
    data_dir: Path | str | None = None,
    search_path: list[Path] | None = None,
    mirrors: Sequence[str] | None = None,
    download: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RawData:
    """Read the requested splits of MNIST or Fashion-MNIST, verified against the official checksums."""
    data_set = OFFICIAL_SETS[name]
    search = Search(data_set)
    places = search_dirs(data_dir, search_path)
    allowed, urls = downloads_allowed(download), mirror_list(data_set, mirrors)
    found: dict[SplitName, FoundSplit] = {}
    missing: list[SplitName] = []
    for split in splits:
        result = next((r for place in places if (r := find_in(search, split, place)) is not None), None)
        if result is None and allowed:
            result = fetch_into_cache(search, split, urls, timeout)
        elif result is None:
            search.note(split, f"download: not tried (offline: download disabled or {OFFLINE_ENV} set)")
        if result is None:
            missing.append(split)
        else:
            found[split] = result
    if missing:
        raise missing_error(search, missing, found)
    wheres = {f.where for f in found.values()}
    source = wheres.pop() if len(wheres) == 1 else "; ".join(f"{split}: {f.where}" for split, f in found.items())
    return RawData(
        name=name,
        title=data_set.title,
        splits={split: f.split for split, f in found.items()},
        source=source,
        digests=[d for f in found.values() for d in f.digests],
        notes=[n for f in found.values() for n in f.notes],
    )
