"""The user's own data (IDX directory, .npz), synthetic data and the data set override."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_support import isolated  # noqa: F401

from harness.data import CorruptDataError, DataError, DataNotFoundError, load_data
from harness.data.idx import write_idx
from harness.spec.schema import Dataset

RNG = np.random.default_rng(7)
X_TRAIN = RNG.integers(0, 256, (12, 10, 8), dtype=np.uint8)
Y_TRAIN = RNG.integers(0, 3, 12).astype(np.uint8)
X_TEST = RNG.integers(0, 256, (5, 10, 8), dtype=np.uint8)
Y_TEST = RNG.integers(0, 3, 5).astype(np.uint8)


def write_idx_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", X_TRAIN)
    write_idx(folder / "train-labels-idx1-ubyte", Y_TRAIN)
    write_idx(folder / "t10k-images-idx3-ubyte", X_TEST)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", Y_TEST)


def check_user_data(data) -> None:
    assert (data.info.train_size, data.info.test_size, data.info.image_shape) == (12, 5, [10, 8, 1])
    images, labels = next(data.test.batches(5, seed=0, epoch=0, shuffle=False))
    np.testing.assert_array_equal(images[..., 0], X_TEST / np.float32(255))
    np.testing.assert_array_equal(labels, Y_TEST.astype(np.int64))
    assert len(data.info.checksum) == 64


def test_idx_directory(tmp_path: Path) -> None:
    write_idx_dir(tmp_path / "mine")
    check_user_data(load_data(Dataset(name="idx", path=str(tmp_path / "mine")), (10, 8, 1), classes=3))


def test_idx_directory_missing_a_file(tmp_path: Path) -> None:
    write_idx_dir(tmp_path / "mine")
    (tmp_path / "mine" / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataNotFoundError, match="train split of the IDX data in .* is missing: there is no train-labels-idx1-ubyte"):
        load_data(Dataset(name="idx", path=str(tmp_path / "mine")), (10, 8, 1))


def test_npz_file(tmp_path: Path) -> None:
    np.savez(tmp_path / "mine.npz", x_train=X_TRAIN, y_train=Y_TRAIN, x_test=X_TEST, y_test=Y_TEST)
    check_user_data(load_data(Dataset(name="npz", path=str(tmp_path / "mine.npz")), (10, 8, 1), classes=3))


def test_npz_missing_an_array_and_a_damaged_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "mine.npz", x_train=X_TRAIN, y_train=Y_TRAIN)
    with pytest.raises(DataNotFoundError, match="has no array x_test and no y_test"):
        load_data(Dataset(name="npz", path=str(tmp_path / "mine.npz")), (10, 8, 1))
    (tmp_path / "bad.npz").write_bytes((tmp_path / "mine.npz").read_bytes()[:100])
    with pytest.raises(CorruptDataError, match="cannot be read as an .npz archive"):
        load_data(Dataset(name="npz", path=str(tmp_path / "bad.npz")), (10, 8, 1))


def test_labels_beyond_the_classes_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "mine.npz", x_train=X_TRAIN, y_train=Y_TRAIN + 5, x_test=X_TEST, y_test=Y_TEST)
    with pytest.raises(DataError, match="labels of .* go up to 7, but the network has 3 classes"):
        load_data(Dataset(name="npz", path=str(tmp_path / "mine.npz")), (10, 8, 1), classes=3)


def test_channel_mismatch_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "rgba.npz", x_train=np.zeros((2, 4, 4, 4), np.uint8), y_train=[0, 1], x_test=np.zeros((1, 4, 4, 4), np.uint8), y_test=[0])
    with pytest.raises(DataError, match="the images have 4 channels and the network's input takes 3"):
        load_data(Dataset(name="npz", path=str(tmp_path / "rgba.npz")), (4, 4, 3))


def test_synthetic_is_deterministic() -> None:
    spec = Dataset(name="synthetic", train_size=64, test_size=32)
    first = load_data(spec, (12, 12, 3), classes=5, seed=3)
    again = load_data(spec, (12, 12, 3), classes=5, seed=3)
    other = load_data(spec, (12, 12, 3), classes=5, seed=4)
    assert first.info.checksum == again.info.checksum != other.info.checksum
    np.testing.assert_array_equal(first.train.raw.images, again.train.raw.images)
    assert not np.array_equal(first.train.raw.images, other.train.raw.images)
    assert first.train.raw.images.shape == (64, 12, 12, 3) and set(first.train.labels.tolist()) <= set(range(5))


def test_synthetic_is_learnable() -> None:
    data = load_data(Dataset(name="synthetic", train_size=400, test_size=200), (16, 16, 1), classes=4, seed=1)
    train = data.train.fitted.reshape(400, -1)
    means = np.stack([train[data.train.labels == k].mean(axis=0) for k in range(4)])
    test = data.test.fitted.reshape(200, -1)
    predicted = np.argmin(((test[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    assert (predicted == data.test.labels).mean() > 0.9


def test_the_data_set_can_be_replaced_explicitly(isolated: Path) -> None:
    data = load_data(Dataset(name="mnist", path="/nowhere"), (8, 8, 1), name_override="synthetic")
    assert (data.info.name, data.info.requested) == ("synthetic", "mnist")
    assert any("stands in for the spec's mnist" in note for note in data.info.notes)
    with pytest.raises(DataError, match="there is no data set 'cifar'"):
        load_data(Dataset(name="mnist"), (8, 8, 1), name_override="cifar")


def test_limits_keep_the_first_images() -> None:
    full = load_data(Dataset(name="synthetic", train_size=50, test_size=20), (8, 8, 1), classes=3)
    limited = load_data(Dataset(name="synthetic", train_size=50, test_size=20, limit_test=7), (8, 8, 1), classes=3, limit_train=11)
    assert (limited.info.train_size, limited.info.test_size, limited.info.full_train_size) == (11, 7, 50)
    np.testing.assert_array_equal(limited.train.raw.images, full.train.raw.images[:11])
    assert "train limited to its first 11 of 50 images." in limited.info.notes
