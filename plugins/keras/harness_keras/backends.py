"""Keras 3's backends as the plugin runs them: each is a framework of its own.

``keras`` is Keras on TensorFlow; ``keras-torch`` and ``keras-jax`` are the same Keras model code
on PyTorch and on JAX. The backend is fixed by ``KERAS_BACKEND`` when Keras is first imported,
so it is set, with the backend's own thread and device variables, before that import: in a
worker's environment (:func:`worker_environment`) and by the framework class in a process that
imports Keras itself. Nothing here imports Keras or a backend.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

TENSORFLOW, TORCH, JAX = "tensorflow", "torch", "jax"
XLA_POOL_THREAD = "tf_XLAEigen"
"""The name (as ``/proc`` shows it) of the threads of XLA's CPU intra-op pool."""


@dataclass(frozen=True)
class Backend:
    """One Keras backend: the package that provides it and how it is shown."""

    distribution: str
    display: str


BACKENDS: dict[str, Backend] = {
    TENSORFLOW: Backend("tensorflow-cpu", "TensorFlow"),
    TORCH: Backend("torch", "PyTorch"),
    JAX: Backend("jax", "JAX"),
}


def worker_environment(backend: str, threads: int, device: str) -> dict[str, str]:
    """Variables a Keras process on ``backend`` needs before Keras is first imported."""
    env = {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend == TORCH and device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # Keras on PyTorch takes a visible GPU by itself
    if backend == JAX:
        # XLA sizes its CPU pool from NPROC when JAX starts; one thread also runs ops inline.
        flags = os.environ.get("XLA_FLAGS", "").split()
        if threads == 1 and "--xla_cpu_multi_thread_eigen=false" not in flags:
            flags.append("--xla_cpu_multi_thread_eigen=false")
        env |= {"NPROC": str(threads), "XLA_FLAGS": " ".join(flags),
                "JAX_PLATFORMS": "cuda" if device == "cuda" else "cpu", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    return env


def _xla_pool_threads() -> int | None:
    tasks = f"/proc/{os.getpid()}/task"
    if not os.path.isdir(tasks):
        return None
    count = 0
    for task in os.listdir(tasks):
        try:
            with open(os.path.join(tasks, task, "comm"), encoding="utf-8") as comm:
                count += comm.read().strip() == XLA_POOL_THREAD
        except OSError:
            continue  # the thread ended while being listed
    return count


def backend_threads(backend: str) -> dict[str, Any]:
    """PyTorch's or XLA's thread settings as the process reports them (not TensorFlow's)."""
    if backend == TORCH:
        import torch

        return {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}
    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # XLA's pool exists once the backend has started
    counted = _xla_pool_threads()
    return {
        "intra_op_pool_threads": counted if counted else "not counted (no /proc, or no CPU pool on this device)",
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
