"""The IDX format of MNIST and Fashion-MNIST: read and write, gzip-compressed or not.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian 32-bit size per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import itertools
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from harness.data.errors import CorruptDataError, DataError
from harness.limits import data_bytes_limit, describe_data_limit

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 1 << 20
"""Bytes read from a file, or expanded from gzip, per step."""
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_CODES: dict[str, int] = {dtype.newbyteorder(">").str: code for code, dtype in IDX_TYPES.items()}


def too_large(origin: str, what: str) -> DataError:
    """The error for data past :func:`harness.limits.data_bytes_limit`."""
    return DataError(f"{origin} {what}, more than a data set may take in memory; it was not used.",
                     f"check that it is the data set meant (a file that decompresses to far more than its size is a "
                     f"decompression bomb); {describe_data_limit()}.")


def decompress(data: bytes, origin: str, limit: int | None = None) -> bytes:
    """``data`` decompressed when it is gzip (recognised by its magic bytes), else unchanged.

    Decompression stops as soon as the output passes ``limit`` bytes (default: the data limit),
    so a small file that expands to gigabytes is refused without being expanded.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    return inflate([data], origin, limit or data_bytes_limit())


def inflate(chunks: Iterable[bytes], origin: str, limit: int) -> bytes:
    """The gzip stream ``chunks`` (one or more members, maybe zero-padded) decompressed.

    Each step expands at most :data:`CHUNK_BYTES`, so no buffer grows past the data actually
    produced, and the output is refused as soon as it passes ``limit`` bytes.
    """
    damaged = CorruptDataError(
        f"{origin} is truncated or damaged; it was not used.",
        "delete it and fetch the file again (the harness downloads official files when it is online).",
    )
    output = bytearray()
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
    padding = False
    try:
        for chunk in chunks:
            more = False
            while chunk or more:
                if stream.eof:
                    if not chunk.strip(b"\0"):
                        padding = True
                        break
                    if padding:
                        raise damaged
                    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
                step = min(CHUNK_BYTES, limit + 1 - len(output))
                produced = stream.decompress(chunk, step)
                output += produced
                if len(output) > limit:
                    raise too_large(origin, f"decompresses to more than {limit:,} bytes")
                chunk = stream.unused_data if stream.eof else stream.unconsumed_tail
                more = len(produced) == step and not stream.eof
    except zlib.error:
        raise damaged from None
    if not stream.eof:
        raise damaged
    return bytes(output)


def read_chunks(path: Path, limit: int) -> Iterator[bytes]:
    """The bytes of the file ``path`` in chunks, refused unread when its size is past ``limit``.

    The size is read from the file system first, and reading stops past ``limit`` all the same (a
    file that grows, or a device that reports no size), so no buffer is larger than the data.
    """
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise too_large(str(path), f"is larger than {limit:,} bytes ({size:,} bytes)")
        read = 0
        while chunk := stream.read(CHUNK_BYTES):
            read += len(chunk)
            if read > limit:
                raise too_large(str(path), f"is larger than {limit:,} bytes")
            yield chunk


def read_bounded(path: Path) -> bytes:
    """The bytes of the file ``path``, refused unread when it is larger than the data limit."""
    return b"".join(read_chunks(path, data_bytes_limit()))


def read_content(path: Path) -> bytes:
    """The bytes of the file ``path``, decompressed (in chunks, against the data limit) when it is gzip."""
    limit = data_bytes_limit()
    with out_of_memory_names(path):
        chunks = read_chunks(path, limit)
        first = next(chunks, b"")
        if not first.startswith(GZIP_MAGIC):
            return b"".join(itertools.chain([first], chunks))
        return inflate(itertools.chain([first], chunks), str(path), limit)


@contextmanager
def out_of_memory_names(path: Path) -> Iterator[None]:
    """Turn a :class:`MemoryError` while reading ``path`` into a :class:`DataError` that names it."""
    try:
        yield
    except MemoryError:
        raise DataError(
            f"the machine ran out of memory while reading {path} (a memory or address-space limit such as "
            f"ulimit -v may be lower than the data needs); it was not used.",
            f"raise the memory limit of this process, or use a smaller data set; {describe_data_limit()}.",
        ) from None


def parse_idx(data: bytes, origin: str) -> np.ndarray:
    """The array held by the IDX bytes ``data``; ``origin`` names them in errors."""
    fix = "replace the file with a complete copy in the IDX format (as MNIST distributes it)."
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] not in IDX_TYPES or data[3] == 0:
        raise CorruptDataError(f"{origin} is not an IDX file (its first bytes are {data[:4].hex() or 'missing'}).", fix)
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(f"{origin} is truncated inside its IDX header ({len(data)} bytes).", fix)
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "longer than its header says"
        raise CorruptDataError(
            f"{origin} is {problem}: its header promises shape {shape} ({expected} bytes) but it has {len(data)} bytes.", fix
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    """The array in the IDX file ``path`` (``.gz`` or not)."""
    return parse_idx(read_content(path), str(path))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">")
    if big_endian.str not in IDX_CODES or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX cannot hold a {array.ndim}-d array of {array.dtype}")
    header = bytes([0, 0, IDX_CODES[big_endian.str], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(array, dtype=big_endian).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
