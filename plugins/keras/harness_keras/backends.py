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

from harness.runner.threads import xla_environment, xla_pool_threads

TENSORFLOW, TORCH, JAX = "tensorflow", "torch", "jax"


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
        env |= xla_environment(threads, device)
    return env


def backend_threads(backend: str) -> dict[str, Any]:
    """PyTorch's or XLA's thread settings as the process reports them (not TensorFlow's)."""
    if backend == TORCH:
        import torch

        return {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}
    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()  # XLA's pool exists once the backend has started
    counted = xla_pool_threads()
    return {
        "intra_op_pool_threads": counted if counted else "not counted (no /proc, or no CPU pool on this device)",
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
