"""JAX's process-wide state: the environment XLA reads at start-up, then device, precision, seeds.

XLA reads its thread pool size and flags once, when JAX creates its first backend, so they are
environment variables set before ``import jax``: the harness sets :func:`worker_environment` in
a worker through the plugin's ``harness_worker_environment`` hook, and
:func:`prepare_environment` sets the same variables in a process that imports JAX itself (the
conformance kit, the plugin's tests). Nothing at this module's top level imports JAX.

* Threads: ``NPROC`` sizes XLA's CPU intra-op pool (the ``tf_XLAEigen`` threads; measured with
  jaxlib 0.10: 1, 2 and 3 threads for NPROC=1, 2, 3). With one thread,
  ``--xla_cpu_multi_thread_eigen=false`` also runs every op on the calling thread. (The often
  quoted ``intra_op_parallelism_threads=N`` in ``XLA_FLAGS`` is accepted by jaxlib 0.10 but leaves
  the pool at the machine's core count, so it is not used.)
* Device: ``JAX_PLATFORMS`` is ``cpu`` or ``cuda``, so a CPU job never initialises a GPU; on a
  GPU, deterministic ops, no preallocation of 75 % of its memory, and full float32 matrix
  products (no TF32) everywhere.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from harness.runner.threads import XLA_SINGLE_THREAD_FLAG, xla_environment, xla_pool_threads

CPU, CUDA = "cpu", "cuda"
MATMUL_PRECISION = "highest"
"""``jax_default_matmul_precision``: full float32 on every device (no TF32 or bfloat16 passes)."""

_PLATFORMS = {CPU: "cpu", CUDA: "cuda"}


class DeviceError(RuntimeError):
    """A device that JAX cannot use in this process."""


def worker_environment(threads: int, device: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a JAX process needs before its first ``import jax`` (``base``: the current
    environment, whose own ``XLA_FLAGS`` are kept)."""
    if device not in _PLATFORMS:
        raise DeviceError(f"unknown device '{device}'; the JAX plugin runs on '{CPU}' or '{CUDA}'.")
    return xla_environment(threads, device, base)


def prepare_environment(threads: int, device: str) -> None:
    """Set :func:`worker_environment` in this process; JAX must not be imported yet, unless it
    was imported with exactly these settings (a second framework instance in one process)."""
    wanted = worker_environment(threads, device)
    if "jax" not in sys.modules:
        os.environ.update(wanted)
        return
    differing = {name: value for name, value in wanted.items()
                 if name != "XLA_FLAGS" and os.environ.get(name) != value}
    if differing:
        raise RuntimeError(
            f"JAX was imported in this process before its thread and device settings {differing} were set; "
            "create the JaxFramework before anything imports jax (or run it as a harness worker)."
        )


def configure(device: str) -> None:
    """Check the device and fix float32 precision; call after :func:`prepare_environment`."""
    import jax

    jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION)
    if device == CUDA and not gpus():
        raise DeviceError(
            "device 'cuda' was requested but JAX sees no GPU here (the 'jax' wheel is CPU-only; a GPU needs "
            "'pip install \"jax[cuda12]\"' and an NVIDIA driver). Use --device cpu."
        )


def use_float64() -> None:
    """Switch on 64-bit types: networks built from now on hold their weights and take their batches
    in float64 (training parity's exact check)."""
    import jax

    jax.config.update("jax_enable_x64", True)


def float_dtype() -> type[np.floating]:
    """The dtype a network built now holds weights and batches in: float64 after :func:`use_float64`, else float32."""
    import jax

    return np.float64 if jax.config.jax_enable_x64 else np.float32


def gpus() -> list[Any]:
    """The GPUs JAX can use in this process (none when it runs on the CPU platform)."""
    import jax

    try:
        return list(jax.devices("gpu"))
    except (RuntimeError, AssertionError):  # no GPU backend: "Unknown backend", or none at all under JAX_PLATFORMS=cuda
        return []


def available_devices() -> list[str]:
    """``cpu``, and ``cuda`` where JAX sees a GPU."""
    return [CPU, CUDA] if gpus() else [CPU]


def default_device(device: str) -> Any:
    """The JAX device a job runs on."""
    import jax

    return jax.devices(_PLATFORMS[device])[0]


def pool_threads() -> int | None:
    """Threads of XLA's CPU intra-op pool, counted from ``/proc`` after the backend has started
    (None where ``/proc`` does not list a process's threads)."""
    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # the backend and its pool exist once an array does
    return xla_pool_threads()


def thread_settings(device: str) -> dict[str, Any]:
    """XLA's thread settings as the process shows them: the CPU pool counted from ``/proc``."""
    counted = pool_threads()
    settings: dict[str, Any] = {
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "single_threaded_ops": XLA_SINGLE_THREAD_FLAG in os.environ.get("XLA_FLAGS", "").split(),
    }
    if counted is not None and (device == CPU or counted):
        settings["intra_op_pool_threads"] = counted
    else:
        settings["intra_op_pool_threads"] = "not counted (no /proc here, or no CPU pool on this device)"
    return settings
