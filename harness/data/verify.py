"""Checking files against the official checksums; a file that fails is rejected, never used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.data.errors import CorruptDataError
from harness.data.idx import GZIP_MAGIC, decompress, out_of_memory_names, read_bounded
from harness.data.official import OfficialFile, OfficialSet, identify_content


@dataclass(frozen=True)
class VerifiedFile:
    """A file whose decompressed content matches the official checksum."""

    path: Path
    content: bytes
    content_sha256: str
    official_archive: bool


class ForeignFile(Exception):
    """A file that is intact but is another data set's (e.g. Fashion-MNIST's where MNIST was wanted)."""

    def __init__(self, path: Path, identity: str) -> None:
        self.path = path
        self.identity = identity
        super().__init__(f"{path} is {identity}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, official: OfficialFile, data_set: OfficialSet) -> VerifiedFile:
    """Check a file on disk (``.gz`` or decompressed) by the sha256 of its decompressed content.

    Raises :class:`ForeignFile` when the content is another official file (it is skipped, not an
    error), and :class:`CorruptDataError` when it is no official file at all.
    """
    with out_of_memory_names(path):
        data = read_bounded(Path(path))
        content = decompress(data, str(path))
    digest = sha256_hex(content)
    if digest != official.content_sha256:
        identity = identify_content(digest)
        if identity is not None:
            raise ForeignFile(path, identity)
        raise CorruptDataError(
            f"{path} failed its checksum: the sha256 of its content is {digest}, but the official {data_set.title} "
            f"{official.content_name} has {official.content_sha256}; the file is damaged, truncated or not "
            f"{data_set.title}, and it was not used.",
            f"delete it, then run again to use another copy or download a fresh one (from {data_set.mirrors[0]}).",
        )
    return VerifiedFile(Path(path), content, digest, data.startswith(GZIP_MAGIC) and sha256_hex(data) == official.sha256)


def verify_keras_npz(path: Path, data_set: OfficialSet) -> str:
    """Check Keras' copy (e.g. ``mnist.npz``) against the sha256 Keras itself pins; returns it."""
    digest = file_sha256(path)
    if digest != data_set.keras_npz_sha256:
        raise CorruptDataError(
            f"{path} failed its checksum: sha256 {digest}, but Keras' {data_set.keras_npz} has "
            f"{data_set.keras_npz_sha256}; it is damaged or truncated, and it was not used.",
            "delete it (Keras downloads it again on its next use) or point --data-dir at the IDX files.",
        )
    return digest
