"""``harness run`` with the real framework plugins, on small slices.

Every shipped spec trains one epoch in every installed framework, on Fashion-MNIST when it is
installed here (resized to the spec's input) and on synthetic images otherwise; the same seed
gives the same per-epoch losses twice; a huge learning rate is recorded as ``diverged``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from harness.cli import main
from harness.data import DataError, load_data
from harness.plugins import discover
from harness.testing.plugin import unavailable_reason
from harness.results import read_job
from harness.spec import load_network, load_networks

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
HEAVY_INPUT = 224 * 224
TRAIN_SLICE, BATCH = 36, 8
"""Four full batches and a partial one of 4 images."""
HEAVY_SLICE, HEAVY_BATCH = 10, 4
"""At 224 x 224 (a step there takes seconds on one thread): two full batches and a partial one of 2."""


def fashion_mnist_here() -> bool:
    network = load_network(ROOT / "specs" / "lenet.yaml")
    try:
        load_data(network.spec.dataset, network.input_shape, limit_test=1, splits=("test",),
                  name_override="fashion-mnist", download=False)
    except DataError:
        return False
    return True


DATASET = "fashion-mnist" if fashion_mnist_here() else "synthetic"


def unavailable() -> dict[str, str | None]:
    """Each built-in framework, with why it cannot run here (None: it can)."""
    installed = discover().frameworks
    return {name: unavailable_reason(name, installed) for name in ("keras", "paddle", "torch")}


UNAVAILABLE = unavailable()
INSTALLED = [name for name, reason in UNAVAILABLE.items() if reason is None]


def framework_params() -> list[pytest.param]:
    return [pytest.param(name, marks=pytest.mark.skipif(reason is not None, reason=f"{name}: {reason}"))
            for name, reason in UNAVAILABLE.items()]


FRAMEWORKS = framework_params()


def harness_run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", *args, "--quiet", "--threads", "1", "--no-report",
                                       "--warmup-steps", "0", "--latency-repeats", "1"])
    return result.exit_code, result.output


def only_job(out: Path) -> dict:
    (path,) = (out / "jobs").glob("*.json")
    return read_job(path).model_dump(mode="json")


def network_cases() -> list[pytest.param]:
    """The first network of every spec, and the size-agnostic one (its batches come by size bucket),
    each with its training slice and batch size."""
    cases = []
    for spec in SPECS:
        networks = load_networks(spec)
        chosen = [networks[0]] + [n for n in networks[1:] if n.spec.size_agnostic]
        for network in chosen:
            height, width, _ = network.input_shape
            heavy = (height or 0) * (width or 0) >= HEAVY_INPUT
            images, batch = (HEAVY_SLICE, HEAVY_BATCH) if heavy else (TRAIN_SLICE, BATCH)
            cases.append(pytest.param(spec, network.variant, images, batch, id=network.key,
                                      marks=[pytest.mark.slow] if heavy else []))
    return cases


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(("spec", "variant", "images", "batch"), network_cases())
def test_every_spec_trains_one_epoch(spec: Path, variant: str | None, images: int, batch: int, framework: str,
                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(spec), "--framework", framework, "--epochs", "1", "--limit-train", str(images), "--limit-test", str(2 * batch),
            "--batch-size", str(batch), "--dataset", DATASET, "--out", str(out)]
    code, output = harness_run(*args, *(["--variant", variant] if variant else []))
    assert code == 0, output
    job = only_job(out)
    assert job["status"] == "ok", job.get("reason")
    (epoch,) = job["history"]
    # every batch trained, the partial last one too (a size-agnostic network has one per size bucket)
    agnostic = load_network(spec, variant).spec.size_agnostic
    assert epoch["steps"] >= math.ceil(images / batch) if agnostic else epoch["steps"] == math.ceil(images / batch)
    assert epoch["test_accuracy"] is not None
    oracle = json.loads((out / "results.json").read_text())["networks"][job["network"]]
    assert job["params"] == oracle["params"]
    # The first step at each input shape is timed apart; on this slice a size-agnostic network's
    # few batches may each come at a new shape, leaving no steady-state step.
    assert job["compile_seconds"] and job["latency_batch_1"]["count"] == 1
    assert job["step_time"] is not None or len(job["compile_seconds"]) > 1
    assert job["environment"]["framework"] == framework and job["environment"]["threads"] == 1


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_same_seed_gives_the_same_losses(framework: str, tmp_path: Path) -> None:
    losses = []
    for name in ("first", "second"):
        out = tmp_path / name
        code, output = harness_run(str(ROOT / "specs" / "lenet.yaml"), "--framework", framework, "--epochs", "2",
                                   "--seed", "1", "--limit-train", "256", "--limit-test", "128", "--dataset", DATASET,
                                   "--out", str(out))
        assert code == 0, output
        job = only_job(out)
        losses.append([(e["train_loss"], e["test_loss"]) for e in job["history"]])
    assert losses[0] == losses[1]
    assert job["environment"]["determinism"]["framework"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_huge_learning_rate_is_marked_diverged(framework: str, tmp_path: Path) -> None:
    yaml = YAML()
    data = yaml.load(ROOT / "specs" / "lenet.yaml")
    data["train"]["optimizer"] = {"name": "sgd", "lr": 1.0e12}
    spec = tmp_path / "lenet_huge_lr.yaml"
    yaml.dump(data, spec)
    out = tmp_path / "out"
    code, output = harness_run(str(spec), "--framework", framework, "--epochs", "3", "--limit-train", "256",
                               "--limit-test", "64", "--dataset", DATASET, "--out", str(out))
    assert code == 0, output
    job = only_job(out)
    assert job["status"] == "diverged" and "training stopped" in job["reason"]
    assert job["diverged_rule"] in ("non_finite", "above_chance") and job["diverged_rule"] in job["reason"]
    assert job["history"] and job["first_step_losses"]


@pytest.mark.slow
def test_shared_init_gives_every_framework_the_same_first_loss(tmp_path: Path) -> None:
    """Every framework from the same neutral weights, on the same batches in the same order. The
    run's parity checks are left out (``--no-parity``): the training parity a run with ``--init
    shared`` adds is tested with two plugins in tests/test_train_parity.py, and the frameworks'
    training against the reference there and in the conformance kit."""
    if len(INSTALLED) < 2:
        pytest.skip("needs two installed frameworks")
    out = tmp_path / "out"
    code, output = harness_run(str(ROOT / "specs" / "lenet.yaml"), "--framework", ",".join(INSTALLED), "--init", "shared",
                               "--epochs", "1", "--limit-train", "64", "--limit-test", "16", "--dataset", DATASET,
                               "--no-parity", "--out", str(out))
    assert code == 0, output
    jobs = [read_job(path).model_dump(mode="json") for path in (out / "jobs").glob("*.json")]
    first = {job["framework"]: job["first_step_losses"][0] for job in jobs}
    assert len(first) == len(INSTALLED)
    assert max(first.values()) - min(first.values()) < 1e-4, first
    assert len({job["batch_order"] for job in jobs}) == 1, "the frameworks trained on different batches"
    assert len({tuple(job["first_step_batches"]) for job in jobs}) == 1
