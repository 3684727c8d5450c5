"""MNIST and Fashion-MNIST as found on this machine, checked against the official checksums."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from data_support import DEBIAN_FASHION, SHARED_MNIST_TEST, isolated, needs_fashion, needs_shared_mnist  # noqa: F401

from harness.data import CorruptDataError, DataNotFoundError, load_data
from harness.data.official import FASHION_MNIST, MNIST, OFFICIAL_SETS
from harness.spec.schema import Dataset


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_checksum(*files: tuple[str, str]) -> str:
    return sha256("".join(f"{name} {digest}\n" for name, digest in files).encode())


@needs_fashion
@pytest.mark.parametrize("file", FASHION_MNIST.train + FASHION_MNIST.test, ids=lambda f: f.name)
def test_fashion_files_match_the_official_content_checksums(file) -> None:
    assert sha256(gzip.decompress((DEBIAN_FASHION / file.name).read_bytes())) == file.content_sha256


@needs_shared_mnist
@pytest.mark.parametrize("file", MNIST.test, ids=lambda f: f.name)
def test_mnist_test_files_match_the_official_archive_checksums(file) -> None:
    data = (SHARED_MNIST_TEST / file.name).read_bytes()
    assert len(data) == file.size
    assert sha256(data) == file.sha256
    assert hashlib.md5(data).hexdigest() == file.md5
    assert sha256(gzip.decompress(data)) == file.content_sha256


@needs_fashion
def test_fashion_mnist_loads_a_slice_from_debian(isolated: Path) -> None:
    data = load_data(
        Dataset(name="fashion-mnist"), (28, 28, 1), classes=10, limit_train=300, limit_test=200,
        search_path=[Path("/usr/share/datasets")], download=False,
    )
    info = data.info
    assert (info.train_size, info.test_size, info.full_train_size, info.full_test_size) == (300, 200, 60000, 10000)
    assert info.source.startswith(str(DEBIAN_FASHION))
    files = [(f.content_name, f.content_sha256) for f in FASHION_MNIST.train + FASHION_MNIST.test]
    assert info.checksum == expected_checksum(*files)
    assert info.image_shape == [28, 28, 1] and info.fit == "none"
    images, labels = next(data.train.batches(300, seed=0, epoch=0, shuffle=False))
    assert images.dtype == np.float32 and images.shape == (300, 28, 28, 1)
    assert 0.0 <= images.min() and images.max() == 1.0
    assert labels.dtype == np.int64 and set(labels.tolist()) == set(range(10))
    assert any("recompressed" in note for note in info.notes)


@needs_shared_mnist
def test_mnist_test_split_loads_and_the_missing_train_split_is_explained(isolated: Path) -> None:
    data = load_data(Dataset(name="mnist"), (28, 28, 1), classes=10, splits=("test",), search_path=[SHARED_MNIST_TEST], download=False)
    assert data.info.test_size == 10000 and data.info.train_size == 0
    assert data.info.checksum == expected_checksum(*[(f.content_name, f.content_sha256) for f in MNIST.test])
    assert data.fixed_batch(3).shape == (3, 28, 28, 1)
    with pytest.raises(DataNotFoundError) as caught:
        load_data(Dataset(name="mnist"), (28, 28, 1), search_path=[SHARED_MNIST_TEST], download=False)
    message = str(caught.value)
    assert "The MNIST train split was not found" in message
    assert f"The test split was found in {SHARED_MNIST_TEST}" in message
    assert "--dataset fashion-mnist" in message


@needs_fashion
def test_another_data_sets_files_are_skipped_and_named(isolated: Path) -> None:
    with pytest.raises(DataNotFoundError, match="is Fashion-MNIST t10k-images-idx3-ubyte, not MNIST"):
        load_data(Dataset(name="mnist"), (28, 28, 1), splits=("test",), data_dir=DEBIAN_FASHION, search_path=[], download=False)


@needs_shared_mnist
def test_a_wrong_checksum_is_rejected(isolated: Path) -> None:
    folder = isolated / "data"
    folder.mkdir()
    shutil.copy(SHARED_MNIST_TEST / "t10k-images-idx3-ubyte.gz", folder)
    labels = bytearray(gzip.decompress((SHARED_MNIST_TEST / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[-1] = (labels[-1] + 1) % 10
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(CorruptDataError) as caught:
        load_data(Dataset(name="mnist"), (28, 28, 1), splits=("test",), data_dir=folder, search_path=[SHARED_MNIST_TEST], download=False)
    message = str(caught.value)
    assert "t10k-labels-idx1-ubyte failed its checksum" in message and "it was not used" in message and "Fix: delete it" in message


@needs_shared_mnist
def test_a_truncated_file_is_rejected(isolated: Path) -> None:
    folder = isolated / "cache" / "harness" / "datasets" / "mnist"
    folder.mkdir(parents=True)
    shutil.copy(SHARED_MNIST_TEST / "t10k-labels-idx1-ubyte.gz", folder)
    data = (SHARED_MNIST_TEST / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) - 1000])
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte.gz is truncated or damaged"):
        load_data(Dataset(name="mnist"), (28, 28, 1), splits=("test",), search_path=[SHARED_MNIST_TEST], download=False)


@needs_shared_mnist
def test_the_search_order_prefers_the_data_dir_over_the_search_path(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = isolated / "mine" / "mnist"
    shutil.copytree(SHARED_MNIST_TEST, folder)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(folder.parent))
    monkeypatch.setenv("HARNESS_DATA_PATH", str(SHARED_MNIST_TEST))
    data = load_data(Dataset(name="mnist"), (28, 28, 1), splits=("test",), download=False)
    assert data.info.source == f"{folder} (HARNESS_DATA_DIR)"
    monkeypatch.delenv("HARNESS_DATA_DIR")
    data = load_data(Dataset(name="mnist"), (28, 28, 1), splits=("test",), download=False)
    assert data.info.source == f"{SHARED_MNIST_TEST} (HARNESS_DATA_PATH)"


@needs_shared_mnist
def test_keras_mnist_npz_is_read_when_its_checksum_matches(isolated: Path) -> None:
    keras = isolated / "keras" / "datasets"
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))
    with pytest.raises(CorruptDataError, match="mnist.npz failed its checksum: sha256 .* but Keras' mnist.npz has 731c5ac6"):
        load_data(Dataset(name="mnist"), (28, 28, 1), splits=("test",), download=False)


def test_keras_mnist_npz_is_read(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras = isolated / "keras" / "datasets"
    keras.mkdir(parents=True)
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
    np.savez(keras / "mnist.npz", x_train=images, y_train=np.array([1, 2, 3], np.uint8), x_test=images[:2], y_test=np.array([4, 5], np.uint8))
    digest = sha256((keras / "mnist.npz").read_bytes())
    monkeypatch.setitem(OFFICIAL_SETS, "mnist", dataclasses.replace(MNIST, keras_npz_sha256=digest))
    data = load_data(Dataset(name="mnist"), (28, 28, 1), classes=10, download=False)
    assert data.info.source == f"{keras / 'mnist.npz'} (Keras' data sets)" and data.info.train_size == 3
    batch, labels = next(data.test.batches(2, seed=0, epoch=0, shuffle=False))
    np.testing.assert_array_equal(batch[..., 0], images[:2] / np.float32(255))
    assert labels.tolist() == [4, 5]


def test_a_missing_data_dir_is_a_clear_error(isolated: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"the data directory .*nowhere \(given by --data-dir\) does not exist"):
        load_data(Dataset(name="fashion-mnist"), (28, 28, 1), data_dir=isolated / "nowhere", download=False)
