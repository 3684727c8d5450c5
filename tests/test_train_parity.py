"""Training parity across frameworks (each in its own worker): Adadelta and RMSprop on a network with
batch norm and dropout, and ``harness parity --train-steps`` naming the step and layer of a
framework whose update is altered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.plugins import BUILTIN_INSTALL, discover
from harness.runner.child import LocalExecutor
from harness.spec import load_networks
from harness.runner.train_parity import check_training
from plugin_support import environment, numpyref_site, run_harness, write_plugin  # noqa: F401 - numpyref_site is a fixture

SPEC = """
name: bn_dropout
title: Batch norm and dropout, trained with Adadelta and RMSprop
source: tests/test_train_parity.py
classes: 4
input: [10, 10, 2]
backbone:
  - {type: conv, filters: 4, kernel: 3, padding: same, activation: relu}
  - {type: batch_norm, momentum: 0.9}
  - {type: max_pool}
  - {type: dropout, rate: 0.3}
  - {type: conv, filters: 6, kernel: 5, activation: tanh}
  - {type: batch_norm, momentum: 0.8, epsilon: 0.01}
head: {type: flatten, dropout: 0.2, hidden: [8]}
train:
  optimizer: {name: sgd, lr: 0.05}
dataset: {name: synthetic}
variants:
  adadelta: {train: {optimizer: {name: adadelta, lr: 1.0, rho: 0.9, epsilon: 1.0e-6}}}
  rmsprop: {train: {optimizer: {name: rmsprop, lr: 0.01, rho: 0.8, momentum: 0.5, epsilon: 1.0e-6, centered: true}}}
"""

ALTERED = '''
from harness.hookspecs import hookimpl
from harness_numpyref.framework import NumpyRef


class Altered(NumpyRef):
    """numpyref with a learning rate 0.1 % too large: a subtly altered update."""

    name = "altered"

    def prepare_training(self, model, train):
        optimizer = train.optimizer.model_copy(update={"lr": train.optimizer.lr * 1.001})
        return super().prepare_training(model, train.model_copy(update={"optimizer": optimizer}))


class Float32Only(NumpyRef):
    """numpyref without float64 training, as a plugin that implements no use_float64 would be."""

    name = "float32only"
    float64_unavailable = "this test plugin trains in float32 only"


@hookimpl
def harness_register_frameworks(register):
    register(Altered)
    register(Float32Only)
'''

EPSILON_OPTIMIZERS = ["adadelta", "rmsprop"]
DISCOVERY = discover()
INSTALLED = [name for name in BUILTIN_INSTALL
             if name in DISCOVERY.frameworks and DISCOVERY.frameworks[name].unavailable_reason() is None]


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "bn_dropout.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def adam_spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same network trained with Adam, without variants."""
    path = tmp_path_factory.mktemp("spec") / "bn_dropout_adam.yaml"
    adam = "{name: adam, lr: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1.0e-6}"
    path.write_text(SPEC.split("variants:")[0].replace("{name: sgd, lr: 0.05}", adam))
    return path


@pytest.mark.slow
@pytest.mark.skipif(len(INSTALLED) < 2, reason=f"needs two installed frameworks, found {INSTALLED}: not installed")
@pytest.mark.parametrize("optimizer", EPSILON_OPTIMIZERS)
def test_every_framework_trains_like_the_reference_with_each_epsilon_optimizer(spec_file: Path, optimizer: str) -> None:
    """Every framework against the float64 reference and each other, through the workers, with the
    optimizers whose frameworks differ only by where epsilon goes (declared departures, 1e-6 apart),
    which float64 alone resolves. The others are checked elsewhere, framework by framework: SGD and
    momentum have no epsilon, and a departure in their rule moves a weight by about lr x gradient,
    which the conformance kit (tests/test_conformance_builtin.py) catches in float32 with every
    optimizer; Adam the kit also trains in float64 in a worker, on a batch-norm network."""
    network = next(n for n in load_networks(spec_file) if n.variant == optimizer)
    result = check_training(network, DISCOVERY.classes(INSTALLED), LocalExecutor(DISCOVERY), steps=4, batch=4, threads=1)
    assert not result.failures
    pairs = {(pair.dtype, pair.a.split(" ")[0], pair.b.split(" ")[0]): pair for pair in result.pairs}
    exact = [name for name in INSTALLED if DISCOVERY.frameworks[name].framework.float64_unavailable is None]
    assert set(result.float64_unavailable) == set(INSTALLED) - set(exact)
    assert len(pairs) == sum(len(names) + len(names) * (len(names) - 1) // 2 for names in (exact, INSTALLED))
    assert {("float64", name, "reference") for name in exact} <= set(pairs)
    failing = [f"{dtype}: {a} vs {b}: {pair.first_divergence.describe()}" for (dtype, a, b), pair in pairs.items()
               if pair.first_divergence]
    assert not failing, failing
    if "torch" in INSTALLED:  # its unbiased BN moving variance is declared, and its effect stated
        assert "bn_moving_variance=unbiased" in result.departures["torch"].a
        assert result.departures["torch"].max_weight_diff > 0


def test_parity_train_steps_names_the_step_and_layer_of_an_altered_update(
        numpyref_site: Path, tmp_path: Path, adam_spec_file: Path) -> None:
    write_plugin(tmp_path, "harness-altered", {"altered": "altered_plugin"}, {"altered_plugin": ALTERED})
    env = environment(tmp_path, numpyref_site)
    spec = str(adam_spec_file)
    good = run_harness(["parity", spec, "--framework", "numpyref,float32only", "--train-steps", "3"], env)
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-2000:]
    assert "dropout off" in good.stdout and "3 training steps, batch 4" in good.stdout
    assert "float32only did not run in float64 (this test plugin trains in float32 only)" in " ".join(good.stdout.split())
    bad = run_harness(["parity", spec, "--framework", "numpyref,altered", "--train-steps", "3", "--json"], env)
    assert bad.returncode == 1, bad.stdout[-3000:] + bad.stderr[-2000:]
    training = [entry for entry in json.loads(bad.stdout) if "steps" in entry]
    first = {(pair["dtype"], pair["a"], pair["b"]): pair for pair in training[0]["pairs"]}
    altered = first[("float64", "altered (float64)", "reference")]  # 0.1 % in the first update: beyond 1e-5 of the change
    assert altered["first_divergent_step"] == 1 and altered["first_divergent_layer"] == "conv_1/kernel", altered
    assert first[("float32", "altered", "reference")]["judged"] == "losses, all 3 steps"
    assert first[("float64", "numpyref (float64)", "reference")]["passed"] and first[("float32", "numpyref", "reference")]["passed"]
    assert training[0]["hyperparameters"].startswith("every run uses the float hyperparameters rounded to float32")


def test_run_with_shared_init_reports_training_parity_and_the_batch_order(
        numpyref_site: Path, tmp_path: Path, adam_spec_file: Path) -> None:
    write_plugin(tmp_path, "harness-altered", {"altered": "altered_plugin"}, {"altered_plugin": ALTERED})
    out = tmp_path / "out"
    result = run_harness(["run", str(adam_spec_file), "--framework", "numpyref,altered", "--init", "shared",
                          "--epochs", "1", "--limit-train", "20", "--limit-test", "8", "--batch-size", "8", "--threads", "1",
                          "--quiet", "--warmup-steps", "0", "--latency-repeats", "1", "--out", str(out)],
                         environment(tmp_path, numpyref_site))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    run = json.loads((out / "results.json").read_text())
    assert {job["batch_order"] for job in run["jobs"]} and len({job["batch_order"] for job in run["jobs"]}) == 1
    assert [job["history"][0]["steps"] for job in run["jobs"]] == [3, 3]  # 20 images, batches of 8, 8 and 4
    pairs = {(pair["a"], pair["b"]): pair for pair in run["train_parity"]}
    assert pairs[("numpyref", "reference")]["passed"] and pairs[("numpyref", "reference")]["steps"] == 5
    assert pairs[("numpyref (float64)", "reference")]["passed"] and pairs[("numpyref (float64)", "reference")]["dtype"] == "float64"
    assert pairs[("altered (float64)", "reference")]["first_divergence"].startswith("step 1, conv_1/kernel")
    assert any("float32 runs: the losses of all 5 steps judged" in note for note in run["notes"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Training parity" in report and "same batches, same order" in report
