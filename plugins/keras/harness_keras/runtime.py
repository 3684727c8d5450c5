"""TensorFlow and Keras, imported quietly, and configured before any op runs.

Every module of this plugin that needs TensorFlow or Keras imports them from here, so the Keras
backend is always TensorFlow and TensorFlow's C++ start-up chatter never reaches the user.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

os.environ["KERAS_BACKEND"] = "tensorflow"
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


with _native_stderr_silenced():
    import tensorflow as tf
    import keras

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"Keras was already imported with the '{keras.backend.backend()}' backend; the harness Keras plugin "
        "needs KERAS_BACKEND=tensorflow set before Keras is first imported."
    )


class DeviceError(RuntimeError):
    """A device the caller asked for that TensorFlow cannot use here."""


def gpus() -> list[tf.config.PhysicalDevice]:
    """The GPUs TensorFlow can see."""
    return tf.config.list_physical_devices("GPU")


def configure(device: str, threads: int, seed: int) -> None:
    """Threads, device, seeds and determinism; must run before the first TensorFlow op."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if device == CUDA:
        found = gpus()
        if not found:
            raise DeviceError(
                "device 'cuda' was requested but TensorFlow sees no GPU here (tensorflow-cpu is CPU-only; "
                "a GPU needs 'pip install tensorflow[and-cuda]' and an NVIDIA driver). Use --device cpu."
            )
        for gpu in found:
            tf.config.experimental.set_memory_growth(gpu, True)
    elif device == CPU:
        tf.config.set_visible_devices([], "GPU")
    else:
        raise DeviceError(f"unknown device '{device}'; the Keras plugin runs on '{CPU}' or '{CUDA}'.")
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


__all__ = ["CPU", "CUDA", "DeviceError", "configure", "gpus", "keras", "tf"]
