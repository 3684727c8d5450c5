"""Data that would cost unbounded memory: decompression bombs in --data-dir and in an .npz, and a
synthetic data set far larger than the machine. Each is refused before it is expanded, with the
limit and how to raise it; `harness run --dry-run` reports it as missing data (exit 3)."""

from __future__ import annotations

import gzip
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostile_support import assert_clean_failure, invoke
from run_support import TINY_SPEC

from harness.data.errors import CorruptDataError, DataError
from harness.data.idx import decompress, read_content
from harness.data.userdata import load_npz

SMALL_LIMIT = str(1 << 20)

pytestmark = pytest.mark.usefixtures("fake_plugin")


def gzip_bomb(path: Path, expanded: int) -> Path:
    """A gzip file of zeros that expands to ``expanded`` bytes (about a thousandth of that on disk)."""
    chunk = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as stream:
        for _ in range(expanded // len(chunk)):
            stream.write(chunk)
    return path


def test_a_gzip_bomb_is_refused_without_expanding_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_MAX_DATA_BYTES", SMALL_LIMIT)
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", 64 << 20)
    with pytest.raises(DataError, match="decompresses to more than 1,048,576 bytes") as caught:
        read_content(bomb)
    assert "HARNESS_MAX_DATA_BYTES" in caught.value.message and "decompression bomb" in caught.value.message


def test_decompression_stops_at_the_limit_even_for_a_huge_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(bytes(256 << 20), compresslevel=9)
    start = time.perf_counter()
    with pytest.raises(DataError):
        decompress(data, "bomb", limit=1 << 20)
    assert time.perf_counter() - start < 2.0


def test_ordinary_gzip_still_decompresses_in_full(tmp_path: Path) -> None:
    payload = np.arange(100_000, dtype=np.uint8).tobytes()
    assert decompress(gzip.compress(payload) + gzip.compress(b"tail"), "two members") == payload + b"tail"
    with pytest.raises(CorruptDataError, match="truncated or damaged"):
        decompress(gzip.compress(payload)[:-20], "cut short")


def test_a_file_larger_than_the_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_MAX_DATA_BYTES", "1000")
    big = tmp_path / "t10k-images-idx3-ubyte"
    big.write_bytes(bytes(5000))
    with pytest.raises(DataError, match="is larger than 1,000 bytes"):
        read_content(big)


def test_an_npz_bomb_is_refused_before_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_MAX_DATA_BYTES", SMALL_LIMIT)
    path = tmp_path / "data.npz"
    arrays = {"x_train": np.zeros((128, 128, 128), np.uint8), "y_train": np.zeros(64, np.int64),
              "x_test": np.zeros((8, 8, 8), np.uint8), "y_test": np.zeros(8, np.int64)}
    np.savez_compressed(path, **arrays)
    assert zipfile.ZipFile(path).infolist()[0].file_size > 1 << 18
    with pytest.raises(DataError, match="holds .* bytes of arrays"):
        load_npz(path, ("train", "test"))


def test_a_gzip_bomb_in_data_dir_stops_a_run_before_any_job(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_MAX_DATA_BYTES", SMALL_LIMIT)
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        gzip_bomb(data / f"{name}.gz", 8 << 20)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(lr=0.1).replace("{name: synthetic, train_size: 64, test_size: 32}",
                                                     f"{{name: idx, path: {data}}}"))
    result = invoke("run", str(spec), "--framework", "fake", "--out", str(tmp_path / "out"), "--quiet")
    assert_clean_failure(result, 3, "decompresses to more than 1,048,576 bytes", "HARNESS_MAX_DATA_BYTES")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("count", [10**12, 10**7])
def test_a_synthetic_data_set_larger_than_memory_is_refused(tmp_path: Path, count: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if count < 10**12:
        monkeypatch.setenv("HARNESS_MAX_DATA_BYTES", SMALL_LIMIT)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(lr=0.1).replace("train_size: 64", f"train_size: {count}"))
    start = time.perf_counter()
    result = invoke("run", str(spec), "--framework", "fake", "--dry-run")
    assert_clean_failure(result, 3, "the synthetic data set would take", "images of 8x8x1", "HARNESS_MAX_DATA_BYTES")
    assert time.perf_counter() - start < 20
