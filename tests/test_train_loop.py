"""The harness's training loop trains on every image once per epoch, partial last batch included,
in the same batch order in every framework; each check is shown to catch its planted bug.

The loop runs in this process with numpyref (the numpy training reference as a framework),
subclassed to record what each step received.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.equivalence.agreement import batch_order_difference
from harness.data import load_data
from harness.data.split import Split
from harness.runner import train_task
from harness.runner.jobs import TrainConfig
from harness.runner.train_parity import batch_digest
from harness.testing.specs import inline_network
from plugin_support import numpyref_site  # noqa: F401 - a fixture

TRAIN_IMAGES = 10
BATCH = 4  # 10 images: batches of 4, 4 and a partial 2
EPOCHS = 2
NETWORK = inline_network([{"type": "conv", "filters": 2, "kernel": 3}], [6, 6, 1],
                         train={"optimizer": {"name": "sgd", "lr": 0.1}}, classes=3,
                         dataset={"name": "synthetic", "train_size": TRAIN_IMAGES, "test_size": 4})


@pytest.fixture
def numpyref(numpyref_site: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(numpyref_site))
    from harness_numpyref.framework import NumpyRef

    return NumpyRef


def train(framework_class: Any, name: str) -> tuple[train_task.Loop, list[int]]:
    """Two epochs of the harness's loop in a framework called ``name``; the batch sizes it trained on."""
    sizes: list[int] = []

    class Recording(framework_class):  # type: ignore[misc, valid-type]
        def train_step(self, trainer: Any, images: np.ndarray, labels: np.ndarray) -> Any:
            sizes.append(len(labels))
            return super().train_step(trainer, images, labels)

    Recording.name = name
    framework = Recording(seed=0)
    config = TrainConfig(framework=name, spec="inline", seed=3, epochs=EPOCHS, batch_size=BATCH, init="shared",
                         warmup_steps=0)
    data = load_data(NETWORK.spec.dataset, NETWORK.input_shape, classes=NETWORK.spec.classes, seed=config.seed)
    model = framework.build(NETWORK)
    loop = train_task.Loop(framework, config, NETWORK, data, model, framework.prepare_training(model, NETWORK.spec.train))
    loop.run()
    return loop, sizes


def epoch_problems(loop: train_task.Loop, sizes: list[int]) -> list[str]:
    """What is wrong with the epochs the loop trained: steps, images seen, partial batches."""
    steps = math.ceil(TRAIN_IMAGES / BATCH)
    problems = [f"epoch {e.epoch} took {e.steps} steps, not ceil({TRAIN_IMAGES} / {BATCH}) = {steps}"
                for e in loop.history if e.steps != steps]
    if sum(sizes) != EPOCHS * TRAIN_IMAGES:
        problems.append(f"{sum(sizes)} images were trained on in {EPOCHS} epochs, not {EPOCHS * TRAIN_IMAGES}")
    if sizes.count(TRAIN_IMAGES % BATCH) != EPOCHS:
        problems.append(f"the partial batches of {TRAIN_IMAGES % BATCH} images were not all trained on: {sizes}")
    return problems


def order_difference(first: train_task.Loop, second: train_task.Loop) -> str | None:
    summaries = {"first": first.summary(), "second": second.summary()}
    return batch_order_difference({name: s["first_step_batches"] for name, s in summaries.items()},
                                  {name: s["batch_order"] for name, s in summaries.items()})


def test_every_image_once_per_epoch_with_a_partial_last_batch(numpyref: Any) -> None:
    loop, sizes = train(numpyref, "alpha")
    assert epoch_problems(loop, sizes) == []
    assert sizes[:3] == [BATCH, BATCH, TRAIN_IMAGES % BATCH]


def test_planted_skipping_of_partial_batches_is_caught(numpyref: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Split.batches

    def full_batches_only(self: Split, batch_size: int, *args: Any, **kwargs: Any) -> Any:
        return (batch for batch in real(self, batch_size, *args, **kwargs) if len(batch[1]) == batch_size)

    monkeypatch.setattr(Split, "batches", full_batches_only)
    loop, sizes = train(numpyref, "alpha")
    problems = epoch_problems(loop, sizes)
    assert any("took 2 steps, not ceil(10 / 4) = 3" in p for p in problems), problems


def test_two_frameworks_train_on_the_same_batches_in_the_same_order(numpyref: Any) -> None:
    first, _ = train(numpyref, "alpha")
    second, _ = train(numpyref, "beta")
    assert len(first.summary()["first_step_batches"]) == EPOCHS * math.ceil(TRAIN_IMAGES / BATCH)
    assert order_difference(first, second) is None


def test_planted_per_framework_batch_order_is_caught(numpyref: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The survivor: each framework's batch order drawn from the seed mixed with its name."""
    real = train_task.Loop.__init__

    def seed_mixed_with_name(self: train_task.Loop, framework: Any, config: TrainConfig, *args: Any) -> None:
        mixed = config.model_copy(update={"seed": zlib.crc32(f"{config.seed}-{framework.name}".encode())})
        real(self, framework, mixed, *args)

    monkeypatch.setattr(train_task.Loop, "__init__", seed_mixed_with_name)
    first, _ = train(numpyref, "alpha")
    second, _ = train(numpyref, "beta")
    difference = order_difference(first, second)
    assert difference is not None and "step 1" in difference


def scored(framework: Any, model: Any, split: Split) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on every image of ``split``, computed here (not by the loop)."""
    ((images, labels),) = split.batches(len(split), seed=0, epoch=1, shuffle=False)
    logits = np.asarray(framework.predict(model, images), dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(labels)), labels]
    return float(losses.mean()), float((logits.argmax(axis=1) == labels).mean())


def test_test_figures_come_from_the_test_split(numpyref: Any, tmp_path: Path) -> None:
    """Train on images all labelled 0, test on other images all labelled 1: scoring the training
    images instead of the test split could not give the recorded test accuracy and loss."""
    rng = np.random.default_rng(5)
    path = tmp_path / "split.npz"
    np.savez(path, x_train=rng.integers(0, 256, (TRAIN_IMAGES, 6, 6), dtype=np.uint8), y_train=np.zeros(TRAIN_IMAGES, np.int64),
             x_test=rng.integers(0, 256, (6, 6, 6), dtype=np.uint8), y_test=np.ones(6, np.int64))
    network = inline_network([{"type": "conv", "filters": 2, "kernel": 3}], [6, 6, 1], classes=3,
                             train={"optimizer": {"name": "sgd", "lr": 0.5}}, dataset={"name": "npz", "path": str(path)})
    framework = numpyref(seed=0)
    config = TrainConfig(framework="numpyref", spec="inline", seed=3, epochs=EPOCHS, batch_size=BATCH, warmup_steps=0)
    data = load_data(network.spec.dataset, network.input_shape, classes=3, seed=config.seed)
    model = framework.build(network)
    loop = train_task.Loop(framework, config, network, data, model, framework.prepare_training(model, network.spec.train))
    loop.run()
    last = loop.history[-1]
    test_loss, test_accuracy = scored(framework, model, data.test)
    train_loss, train_accuracy = scored(framework, model, data.train)
    assert (test_accuracy, train_accuracy) == (0.0, 1.0), "the data must tell the splits apart"
    assert last.test_accuracy == test_accuracy and last.test_loss == pytest.approx(test_loss, rel=1e-9)
    assert last.test_loss != pytest.approx(train_loss, rel=1e-3)
    summary = loop.summary()
    assert summary["test_images_scored"] == len(data.test) == 6
    assert summary["test_images_digest"] == images_digest(data.test, BATCH) != images_digest(data.train, BATCH)


def images_digest(split: Split, batch: int) -> str:
    """The digest a job records of the images it scored: each batch's digest, in order."""
    digest = hashlib.blake2b(digest_size=8)
    for images, labels in split.batches(batch, seed=0, epoch=1, shuffle=False):
        digest.update(batch_digest(images, labels).encode())
    return digest.hexdigest()
