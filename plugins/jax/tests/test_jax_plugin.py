"""The plugin as the harness sees it: discovery without JAX, the worker environment, threads, devices."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.plugins import discover, frameworks, worker_environment
from harness_jax import runtime
from harness_jax.framework import JaxFramework


def test_the_entry_point_registers_the_jax_framework() -> None:
    registered = frameworks()["jax"]
    assert registered.framework is JaxFramework
    assert JaxFramework.unavailable_reason() is None
    assert JaxFramework.version().startswith(__import__("jax").__version__ + " (Flax ")


def test_discovery_imports_no_jax() -> None:
    code = ("import sys, harness.plugins; harness.plugins.frameworks(); "
            "print([m for m in ('jax', 'flax', 'optax') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("threads", "device", "flags"), [
    (1, "cpu", "--xla_cpu_multi_thread_eigen=false"),
    (4, "cpu", ""),
    (2, "cuda", "--xla_gpu_deterministic_ops=true"),
])
def test_jax_workers_get_xla_threads_and_platform(threads: int, device: str, flags: str) -> None:
    env = worker_environment(discover().manager, "jax", threads, device)
    assert (env["NPROC"], env["JAX_PLATFORMS"]) == (str(threads), device)
    assert runtime.worker_environment(threads, device, base={})["XLA_FLAGS"] == flags
    assert "NPROC" not in worker_environment(discover().manager, "torch", threads, device)


def test_a_users_own_xla_flags_are_kept() -> None:
    env = runtime.worker_environment(1, "cpu", base={"XLA_FLAGS": "--xla_dump_to=/tmp/x"})
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_multi_thread_eigen=false"


@pytest.mark.parametrize("threads", [1, 3])
def test_the_xla_pool_has_the_requested_threads(threads: int) -> None:
    code = ("from harness_jax.framework import JaxFramework; "
            f"print(JaxFramework(threads={threads}).thread_settings()['intra_op_pool_threads'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == str(threads)


def test_devices_and_thread_settings(framework: JaxFramework) -> None:
    assert framework.devices()[0] == "cpu"
    settings = framework.thread_settings()
    assert settings["intra_op_pool_threads"] == framework.threads == 1
    assert settings["single_threaded_ops"] is True


def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    code = "from harness_jax.framework import JaxFramework; JaxFramework(device='cuda')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        pytest.skip("JAX sees a GPU here")
    assert "DeviceError: device 'cuda' was requested but JAX sees no GPU" in result.stderr
    assert "--device cpu" in result.stderr


def test_an_unknown_device_is_a_clear_error() -> None:
    with pytest.raises(runtime.DeviceError, match="unknown device 'tpu'"):
        runtime.worker_environment(1, "tpu")
