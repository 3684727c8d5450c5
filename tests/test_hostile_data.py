"""Data that would cost unbounded memory: decompression bombs in --data-dir and in an .npz, and a
synthetic data set far larger than the machine. Each is refused before it is expanded, with the
limit and how to raise it; `harness run --dry-run` reports it as missing data (exit 3)."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_support import needs_fashion
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


ROOT = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_PROBE = """
import sys
from pathlib import Path
from harness.data.idx import read_idx
for name in sys.argv[1:]:
    print(name, read_idx(Path(name)).shape)
"""


def address_space_limited(limit: int) -> dict[str, object]:
    """``subprocess.run`` arguments that run the child under an address-space limit of ``limit`` bytes."""
    return {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))}


def test_reading_a_data_file_allocates_what_it_holds_not_the_data_limit(tmp_path: Path) -> None:
    """A limit of 64 GiB on data and 1 GiB on the process: a 1 MB file is read within the second."""
    from harness.data.idx import write_idx

    images = np.arange(1000 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(1000, 28, 28)
    write_idx(tmp_path / "images-idx3-ubyte", images)
    write_idx(tmp_path / "images-idx3-ubyte.gz", images)
    environment = {**os.environ, "HARNESS_MAX_DATA_BYTES": str(1 << 36), "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", ADDRESS_SPACE_PROBE, str(tmp_path / "images-idx3-ubyte"),
                          str(tmp_path / "images-idx3-ubyte.gz")], capture_output=True, text=True, env=environment,
                         timeout=120, **address_space_limited(1 << 30))
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("(1000, 28, 28)") == 2, run.stdout


@needs_fashion
def test_a_run_completes_under_an_address_space_limit_of_4_gib(tmp_path: Path) -> None:
    """As on batch and HPC nodes (``prlimit --as=4G``): the data limit (half the RAM) is no allocation."""
    pytest.importorskip("torch", reason="torch is not installed")
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", "specs/lenet.yaml", "--framework", "torch", "--dataset", "fashion-mnist",
         "--epochs", "1", "--limit-train", "256", "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, **address_space_limited(4 << 30),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [job["status"] for job in results["jobs"]] == ["ok"], results["jobs"]


def test_a_data_file_larger_than_the_limit_stops_a_run_in_one_paragraph(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.data.idx import write_idx

    monkeypatch.setenv("HARNESS_MAX_DATA_BYTES", "100000")
    data = tmp_path / "data"
    data.mkdir()
    for split, count in (("train", 200), ("t10k", 10)):
        write_idx(data / f"{split}-images-idx3-ubyte", np.zeros((count, 28, 28), np.uint8))
        write_idx(data / f"{split}-labels-idx1-ubyte", np.zeros(count, np.uint8))
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(lr=0.1).replace("{name: synthetic, train_size: 64, test_size: 32}",
                                                     f"{{name: idx, path: {data}}}"))
    result = invoke("run", str(spec), "--framework", "fake", "--out", str(tmp_path / "out"), "--quiet")
    output = assert_clean_failure(result, 3, "train-images-idx3-ubyte is larger than 100,000 bytes (156,816 bytes)",
                                  "HARNESS_MAX_DATA_BYTES")
    assert "\n\n" not in output.strip(), output
    assert not (tmp_path / "out").exists()


def test_running_out_of_memory_while_reading_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.data import idx

    def exhausted(*args: object) -> bytes:
        raise MemoryError

    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes(100)))
    monkeypatch.setattr(idx, "inflate", exhausted)
    with pytest.raises(DataError, match=f"ran out of memory while reading {path}") as caught:
        read_content(path)
    assert "ulimit -v" in caught.value.message and "Fix: raise the memory limit" in caught.value.message


def test_running_out_of_memory_anywhere_in_the_harness_process_is_one_paragraph(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.commands import check

    def exhausted(paths: object) -> None:
        raise MemoryError

    monkeypatch.setattr(check, "load_all", exhausted)
    output = assert_clean_failure(invoke("check", "specs/lenet.yaml"), 1, "error: harness check ran out of memory",
                                  "ulimit -v", "Fix:")
    assert "\n\n" not in output.strip(), output
