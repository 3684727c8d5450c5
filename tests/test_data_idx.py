"""The IDX reader and writer."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from harness.data import CorruptDataError
from harness.data import idx
from harness.data.idx import inflate, read_idx, write_idx


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path: Path, name: str, dtype: type) -> None:
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 5)
    np.testing.assert_array_equal(back, array)
    assert (tmp_path / name).read_bytes().startswith(b"\x1f\x8b") == name.endswith(".gz")


def test_header_layout(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert (tmp_path / "labels").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])


def test_truncated_idx_is_rejected(tmp_path: Path) -> None:
    write_idx(tmp_path / "images", np.zeros((4, 28, 28), dtype=np.uint8))
    data = (tmp_path / "images").read_bytes()
    (tmp_path / "images").write_bytes(data[:-100])
    with pytest.raises(CorruptDataError, match="truncated: its header promises shape"):
        read_idx(tmp_path / "images")


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    write_idx(tmp_path / "images.gz", np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    data = (tmp_path / "images.gz").read_bytes()
    (tmp_path / "images.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDataError, match="truncated or damaged"):
        read_idx(tmp_path / "images.gz")


def test_not_idx_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"hello, world"))
    with pytest.raises(CorruptDataError, match="is not an IDX file"):
        read_idx(tmp_path / "text.gz")


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_gzip_read_in_chunks_of_any_size_decompresses_in_full(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Members, zero padding and expansion steps split across chunk boundaries anywhere."""
    payload = np.random.default_rng(0).integers(0, 4, 50_000, dtype=np.uint8).tobytes()
    data = gzip.compress(payload) + gzip.compress(b"tail") + bytes(9)
    monkeypatch.setattr(idx, "CHUNK_BYTES", 1000)
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    assert inflate(chunks, "chunked", limit=1 << 20) == payload + b"tail"
    with pytest.raises(CorruptDataError, match="truncated or damaged"):
        inflate(chunks + [b"\x01"], "trailing garbage", limit=1 << 20)
    with pytest.raises(CorruptDataError, match="truncated or damaged"):
        inflate(chunks[: len(chunks) // 2], "cut short", limit=1 << 20)
