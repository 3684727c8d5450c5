"""Keras on its backend, imported quietly, and configured before any op runs.

Every module of this plugin that needs Keras imports it from here. The backend is the one
``KERAS_BACKEND`` names when this module is first imported (TensorFlow when unset): the
framework class sets it first (:meth:`harness_keras.framework.KerasFramework.__init__`), and a
harness worker already has it in its environment (:mod:`harness_keras.plugin`). TensorFlow is
imported only on the TensorFlow backend, quietly; ``tf`` is None on the others.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from harness_keras.backends import JAX, TENSORFLOW, TORCH, backend_threads

BACKEND = os.environ.setdefault("KERAS_BACKEND", TENSORFLOW)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CPU, CUDA = "cpu", "cuda"


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (C++ logs written before absl is set up ignore
    ``TF_CPP_MIN_LOG_LEVEL``); Python errors raised inside are shown once it is restored."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


tf: Any = None
with _native_stderr_silenced():
    if BACKEND == TENSORFLOW:
        import tensorflow as tf
    import keras

if keras.backend.backend() != BACKEND:
    raise ImportError(
        f"Keras was already imported with the '{keras.backend.backend()}' backend; the harness Keras plugin "
        f"needs KERAS_BACKEND={BACKEND} set before Keras is first imported."
    )


class DeviceError(RuntimeError):
    """A device the caller asked for that the backend cannot use here."""


def gpus() -> list[Any]:
    """The GPUs the backend can see."""
    if BACKEND == TENSORFLOW:
        return tf.config.list_physical_devices("GPU")
    if BACKEND == TORCH:
        import torch

        return [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    import jax

    try:
        return list(jax.devices("gpu"))
    except (RuntimeError, AssertionError):  # no GPU backend: "Unknown backend", or none at all under JAX_PLATFORMS=cuda
        return []


def _configure_tensorflow(device: str, threads: int) -> None:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if device == CUDA:
        for gpu in gpus():
            tf.config.experimental.set_memory_growth(gpu, True)
    else:
        tf.config.set_visible_devices([], "GPU")
    tf.config.experimental.enable_op_determinism()


def _configure_torch(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass  # fixed by earlier parallel work in this process; reported by thread_settings()
    torch.use_deterministic_algorithms(True)


def configure(device: str, threads: int, seed: int) -> None:
    """Threads, device, seeds and determinism; must run before the first op."""
    if device not in (CPU, CUDA):
        raise DeviceError(f"unknown device '{device}'; the Keras plugin runs on '{CPU}' or '{CUDA}'.")
    if device == CUDA and not gpus():
        hint = ("tensorflow-cpu is CPU-only; a GPU needs 'pip install tensorflow[and-cuda]' and an NVIDIA driver"
                if BACKEND == TENSORFLOW else f"the {BACKEND} backend sees no GPU")
        raise DeviceError(f"device 'cuda' was requested but Keras on {BACKEND} sees no GPU here ({hint}). Use --device cpu.")
    if BACKEND == TENSORFLOW:
        _configure_tensorflow(device, threads)
        keras.utils.set_random_seed(seed)
        return
    if BACKEND == TORCH:
        _configure_torch(threads)
    _seed_without_tensorflow(seed)


def use_float64() -> None:
    """Build layers, variables and optimizer state in float64 from now on (training parity's exact
    check); on JAX this needs 64-bit types switched on first."""
    if BACKEND == JAX:
        import jax

        jax.config.update("jax_enable_x64", True)
    keras.config.set_floatx("float64")


def _seed_without_tensorflow(seed: int) -> None:
    """``keras.utils.set_random_seed`` also seeds TensorFlow wherever it is installed, importing
    it (seconds and hundreds of MB) into a job that does not use it: hide it for that call, so
    Keras takes it as absent."""
    hidden = "tensorflow" not in sys.modules
    if hidden:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        keras.utils.set_random_seed(seed)
    finally:
        if hidden:
            del sys.modules["tensorflow"]


def thread_settings() -> dict[str, Any]:
    """The backend's own thread settings as it reports them."""
    if BACKEND == TENSORFLOW:
        return {
            "intra_op_parallelism_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_parallelism_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        }
    return backend_threads(BACKEND)


def synchronize(device: str) -> None:
    """Wait for queued device work (for timing on GPUs)."""
    if device != CUDA:
        return
    if BACKEND == TENSORFLOW:
        tf.test.experimental.sync_devices()
    elif BACKEND == TORCH:
        import torch

        torch.cuda.synchronize()


__all__ = ["BACKEND", "CPU", "CUDA", "DeviceError", "configure", "gpus", "keras", "synchronize", "tf", "thread_settings"]
