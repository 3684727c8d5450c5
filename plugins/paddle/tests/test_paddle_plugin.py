"""The Paddle plugin as the harness discovers it: entry point, registration, no Paddle import in
the harness process, package metadata, and settings the harness can write as JSON."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

from harness.plugins import frameworks
from harness.testing.specs import inline_network
from harness_paddle.framework import PaddleFramework


def test_the_entry_point_registers_the_paddle_framework() -> None:
    registered = frameworks()["paddle"]
    assert registered.framework is PaddleFramework
    assert PaddleFramework.unavailable_reason() is None
    assert PaddleFramework.version() == importlib.metadata.version("paddlepaddle")


def test_discovery_does_not_import_paddle() -> None:
    code = (
        "import sys; from harness.plugins import frameworks; "
        "assert 'paddle' in frameworks(); "
        "assert 'paddle' not in sys.modules, 'discovery imported paddle'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)


def test_effective_settings_are_json(framework: PaddleFramework) -> None:
    network = inline_network(
        [{"type": "conv", "filters": 2, "kernel": 3, "padding": "same"}, {"type": "batch_norm"}, {"type": "dropout", "rate": 0.1}],
        [None, None, 1], train={"optimizer": {"name": "rmsprop"}},
    )
    settings = framework.effective_settings(framework.build(network), network).as_dict()
    json.dumps(settings)
    assert settings["conv_1"]["padding"]["neutral"] == "same"
    assert settings["optimizer"]["epsilon"]["value"] == 1e-7


def test_paddle_loads_after_tensorflow_in_one_process() -> None:
    pytest.importorskip("tensorflow", reason="TensorFlow is not installed")
    code = (
        "import tensorflow, numpy as np; from harness_paddle.runtime import nn, paddle; "
        "conv = nn.Conv2D(1, 2, 3); print(conv(paddle.to_tensor(np.ones((1, 1, 5, 5), np.float32))).shape)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
