"""The IDX format of MNIST and Fashion-MNIST: read and write, gzip-compressed or not.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian 32-bit size per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from harness.data.errors import CorruptDataError

GZIP_MAGIC = b"\x1f\x8b"
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_CODES: dict[str, int] = {dtype.newbyteorder(">").str: code for code, dtype in IDX_TYPES.items()}


def decompress(data: bytes, origin: str) -> bytes:
    """``data`` decompressed when it is gzip (recognised by its magic bytes), else unchanged."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise CorruptDataError(
            f"{origin} is truncated or damaged ({exc}); it was not used.",
            "delete it and fetch the file again (the harness downloads official files when it is online).",
        ) from None


def read_content(path: Path) -> bytes:
    """The bytes of the file ``path``, decompressed when it is gzip."""
    return decompress(Path(path).read_bytes(), str(path))


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
