"""The harness's batch order, size buckets and fitting images to the network's input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data import load_data
from harness.data.batches import plan_batches
from harness.data.fit import Fit
from harness.spec.schema import Dataset


def synthetic(shape, *, train_size=10, test_size=6, sizes=None, fit="resize", **kwargs):
    spec = Dataset(name="synthetic", train_size=train_size, test_size=test_size, sizes=sizes, fit=fit)
    return load_data(spec, shape, classes=3, **kwargs)


def mnist_like(folder: Path) -> Dataset:
    """A small user data set of 28x28 grey uint8 images."""
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (10, 28, 28), dtype=np.uint8)
    np.savez(folder / "grey.npz", x_train=images[:6], y_train=np.arange(6) % 3, x_test=images[6:], y_test=np.arange(4) % 3)
    return Dataset(name="npz", path=str(folder / "grey.npz"))


def epoch(split, batch_size=4, seed=0, number=0, shuffle=True):
    return list(split.batches(batch_size, seed=seed, epoch=number, shuffle=shuffle))


def test_same_seed_and_epoch_give_the_same_batches() -> None:
    data = synthetic((8, 8, 1))
    first, again = epoch(data.train), epoch(data.train)
    assert [len(y) for _, y in first] == [4, 4, 2]
    for (xa, ya), (xb, yb) in zip(first, again):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_epochs_differ_and_each_sees_every_image_once() -> None:
    bucket_of = np.zeros(10, dtype=np.int64)
    orders = [np.concatenate([i for _, i in plan_batches(bucket_of, 4, 0, e, True)]) for e in range(3)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(10))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.concatenate([i for _, i in plan_batches(bucket_of, 4, 1, 0, True)]))


def test_without_shuffle_batches_follow_the_images() -> None:
    data = synthetic((8, 8, 1))
    labels = np.concatenate([y for _, y in epoch(data.test, shuffle=False)])
    np.testing.assert_array_equal(labels, data.test.labels)


def test_size_buckets_hold_one_size_per_batch() -> None:
    sizes = [(12, 12), (16, 20), (24, 24)]
    data = synthetic((None, None, 1), train_size=40, test_size=15, sizes=sizes)
    assert data.info.fitted_to == [None, None, 1] and len(data.train.fits) == 3
    for split in (data.train, data.test):
        seen = []
        for number in (0, 1):
            for bucket, indices in plan_batches(split.bucket_of, 5, 0, number, True):
                images, labels = split.images(bucket, indices), split.labels[indices]
                assert images.shape == (len(indices), *sizes[bucket], 1) and labels.shape == (len(indices),)
                assert (split.bucket_of[indices] == bucket).all()
                seen.append(indices)
        assert sorted(np.concatenate(seen).tolist()) == sorted(list(range(len(split))) * 2)
    batches = epoch(data.train, batch_size=5)
    assert len(batches) == data.train.num_batches(5) and {x.shape[1:3] for x, _ in batches} == set(sizes)
    assert np.bincount(data.train.bucket_of).tolist() in ([14, 13, 13], [13, 14, 13], [13, 13, 14])


def test_resize_to_224x224x3_is_lazy_and_equal_to_fitting_at_once(tmp_path: Path) -> None:
    grey = mnist_like(tmp_path)
    lazy = load_data(grey, (224, 224, 3), max_eager_bytes=1 << 20)
    assert lazy.train.lazy and lazy.info.fit == "resize" and lazy.info.fitted_to == [224, 224, 3]
    assert "28x28x1 resized to 224x224x3 by bilinear interpolation (half-pixel centres); grey replicated to 3 channels" in lazy.info.notes[0]
    images, _ = next(lazy.train.batches(4, seed=0, epoch=0))
    assert images.shape == (4, 224, 224, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    small_lazy = load_data(grey, (56, 56, 3), max_eager_bytes=0)
    small_eager = load_data(grey, (56, 56, 3))
    assert small_lazy.train.lazy and not small_eager.train.lazy
    for (xa, _), (xb, _) in zip(epoch(small_lazy.train), epoch(small_eager.train)):
        np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(small_lazy.fixed_batch(3), small_eager.test.fitted[:3])


def test_bilinear_resize_uses_half_pixel_centres() -> None:
    fit = Fit((1, 2, 1), (1, 4, 1), "resize", scale=False)
    row = fit(np.array([[[[0.0], [1.0]]]], dtype=np.float32))
    np.testing.assert_allclose(row[0, 0, :, 0], [0.0, 0.25, 0.75, 1.0])


def test_padding_centres_and_cropping_keeps_the_centre() -> None:
    image = np.arange(1, 5, dtype=np.uint8).reshape(1, 2, 2, 1)
    padded = Fit((2, 2, 1), (5, 4, 1), "pad", scale=False)(image)[0, :, :, 0]
    expected = np.zeros((5, 4))
    expected[1:3, 1:3] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(padded, expected)
    cropped = Fit((5, 4, 1), (3, 2, 1), "pad", scale=False)(np.arange(20).reshape(1, 5, 4, 1))[0, :, :, 0]
    np.testing.assert_array_equal(cropped, np.arange(20).reshape(5, 4)[1:4, 1:3])


def test_pad_fit_in_a_spec_and_rgb_to_grey(tmp_path: Path) -> None:
    data = load_data(mnist_like(tmp_path).model_copy(update={"fit": "pad"}), (32, 32, 1))
    assert data.info.fit == "pad" and "28x28x1 zero-padded (centred) to 32x32x1" in data.info.notes[0]
    images = data.train.fitted
    assert (images[:, :2] == 0).all() and (images[:, -2:] == 0).all() and images[:, 2:30, 2:30].min() > 0
    rgb = np.array([[[[255, 0, 0]]]], dtype=np.uint8)
    np.testing.assert_allclose(Fit((1, 1, 3), (1, 1, 1), "resize", scale=True)(rgb), [[[[0.299]]]], rtol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_num_batches_counts_the_last_partial_batch(batch_size: int) -> None:
    data = synthetic((8, 8, 1), train_size=10)
    assert data.train.num_batches(batch_size) == len(epoch(data.train, batch_size)) == -(-10 // batch_size)
