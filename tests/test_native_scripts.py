"""The native side of ``benchmarks/native_overhead.py``: a native script's extra options reach it
(``--native-arg``) and say so in what is recorded, Keras' ``--accuracy`` trains with the metric, and
the variants of ``benchmarks/keras_step_paths.py`` and ``benchmarks/jax_step_paths.py`` train."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from native_overhead import Comparison, native_environment, native_step_ms  # noqa: E402

from harness.plugins import frameworks  # noqa: E402
from harness.testing.plugin import unavailable_reason  # noqa: E402

INSTALLED = frameworks()


def needs(framework: str) -> None:
    reason = unavailable_reason(framework, INSTALLED)
    if reason is not None:
        pytest.skip(f"{framework}: {reason}")


@pytest.fixture
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npz"
    np.savez(path, images=rng.random((96, 28, 28, 1), dtype=np.float32), labels=rng.integers(0, 10, 96))
    return path


def test_the_native_options_are_named_in_the_recorded_idiom() -> None:
    assert Comparison("keras-torch").idiom == "Keras Sequential + fit on PyTorch"
    assert Comparison("keras-torch", options=("--accuracy",)).idiom == "Keras Sequential + fit on PyTorch (--accuracy)"
    assert Comparison("torch", "compiled").idiom == "plain loop, torch.compile(model)"


def test_keras_fit_counts_the_accuracy_when_asked(images: Path) -> None:
    """The Keras script's ``--accuracy`` makes ``fit`` count the metric (that ``--native-arg`` reaches
    the script through :func:`native_step_ms`: the next test)."""
    needs("keras")
    command = [sys.executable, str(BENCHMARKS / "native" / "keras_native.py"), "lenet", str(images), "--epochs", "1",
               "--batch-size", "32"]
    plain, counted = (json.loads(subprocess.run(command + extra, env=native_environment(1), capture_output=True, text=True,
                                                check=True).stdout.strip().splitlines()[-1])["epochs"][0]
                      for extra in ([], ["--accuracy"]))
    assert "accuracy" not in plain and 0 <= counted["accuracy"] <= 1
    assert plain["steps"] == counted["steps"] == 3


def test_a_script_without_the_option_refuses_it(images: Path) -> None:
    needs("torch")
    with pytest.raises(RuntimeError, match="unrecognized arguments: --accuracy"):
        native_step_ms("torch", "lenet", images, 1, 0, 32, options=["--accuracy"])


@pytest.mark.parametrize("variant", ["fit+accuracy", "train_on_batch+accuracy+determinism", "plugin-trainer", "plugin"])
def test_each_keras_step_path_trains_two_epochs(images: Path, variant: str) -> None:
    """``benchmarks/keras_step_paths.py``'s timed child: every variant gives each epoch's median step."""
    needs("keras-torch")
    env = native_environment(1, {"KERAS_BACKEND": "torch"})
    completed = subprocess.run([sys.executable, str(BENCHMARKS / "keras_step_paths.py"), "--variant", variant, "--data",
                                str(images), "--batch-size", "32"], env=env, capture_output=True, text=True, check=True)
    medians = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(medians) == 2 and all(median > 0 for median in medians)


def test_the_jax_step_paths_time_each_variant_against_the_native_step() -> None:
    """``benchmarks/jax_step_paths.py`` (one process, the variants interleaved): a ratio to the
    native step for each variant asked for, the plugin's own step among them."""
    needs("jax")
    variants = ["native", "+count", "+device_put", "plugin"]
    completed = subprocess.run([sys.executable, str(BENCHMARKS / "jax_step_paths.py"), "--rounds", "2", "--images", "128",
                                "--batch-size", "32", "--variants", ",".join(variants)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = {line.split()[0]: line.split()[1:] for line in completed.stdout.splitlines()[2:]}
    assert list(rows) == variants and rows["native"][1:] == ["1.000,", "1.000", "[1.000,", "1.000]"], completed.stdout
    assert all(float(row[0]) > 0 and float(row[1].rstrip(",")) > 0 for row in rows.values()), completed.stdout
