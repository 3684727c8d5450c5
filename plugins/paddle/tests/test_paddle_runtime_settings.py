"""The Paddle plugin's OpenMP settings (set before a worker starts, recorded in effective settings)
and its global max pool (the same outputs as a max over the map, a gradient only at the maxima)."""

from __future__ import annotations

import numpy as np
import pytest
from harness_paddle import settings
from harness_paddle.layers import GlobalPool2D
from harness_paddle.openmp import OPENMP_ENVIRONMENT
from harness_paddle.plugin import harness_worker_environment
from harness_paddle.runtime import paddle

from harness.framework import EffectiveSettings


def test_worker_environment_is_set_for_paddle_only() -> None:
    assert harness_worker_environment(framework="paddle") == OPENMP_ENVIRONMENT
    assert harness_worker_environment(framework="torch") is None


def test_a_users_own_value_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMP_BLOCKTIME", "200")
    assert harness_worker_environment(framework="paddle")["KMP_BLOCKTIME"] == "200"


def test_runtime_settings_are_recorded() -> None:
    recorded = EffectiveSettings()
    settings._runtime(recorded)
    runtime = recorded.as_dict()["runtime"]
    assert runtime["KMP_BLOCKTIME"]["value"] == "0"
    assert runtime["FLAGS_use_mkldnn"]["value"] is False and "num_threads" in runtime


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_max_pool_matches_the_max(keepdims: bool) -> None:
    images = np.random.default_rng(0).standard_normal((32, 8, 36, 36)).astype(np.float32)
    x = paddle.to_tensor(images, stop_gradient=False)
    out = GlobalPool2D("max", keepdims)(x)
    out.sum().backward()
    expected = images.max(axis=(2, 3), keepdims=keepdims)
    np.testing.assert_array_equal(out.numpy(), expected)
    gradient = x.grad.numpy()
    assert gradient.sum() == 32 * 8 and set(np.unique(gradient)) == {0.0, 1.0}
