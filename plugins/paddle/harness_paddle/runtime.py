"""Paddle, imported quietly and configured before any op runs; batches onto the device and back.

Every module of this plugin that needs Paddle imports it from here, so the environment Paddle
reads at start-up (log level, thread count, determinism flags) is always set first. Paddle has no
public call for its CPU thread count: it reads ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` (set by
the harness before the worker starts) and the ``FLAGS_paddle_num_threads`` flag, and its core
exposes ``set_num_threads`` for the math libraries' pools; :func:`configure` sets all of them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

import numpy as np

from harness.neutral import channels_first
from harness.devices import CUDA, check_device
from harness_paddle.openmp import openmp_environment

GPU_DETERMINISM_FLAGS: dict[str, bool] = {
    "FLAGS_cudnn_deterministic": True,
    "FLAGS_embedding_deterministic": True,
    "FLAGS_cudnn_exhaustive_search": False,
}
"""Flags that make CUDA kernels deterministic (registered only in CUDA builds of Paddle)."""

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.update(openmp_environment())  # in a process that imports the plugin directly (tests), as in a worker
os.environ.setdefault("FLAGS_paddle_num_threads", os.environ.get("OMP_NUM_THREADS", "1"))
for _flag, _value in GPU_DETERMINISM_FLAGS.items():
    os.environ[_flag] = str(int(_value))


@contextlib.contextmanager
def _own_symbols_first(enabled: bool) -> Iterator[None]:
    """Load the next native extensions with ``RTLD_DEEPBIND`` (Linux), so that they resolve their
    symbols in their own libraries first. TensorFlow exports its protobuf globally; Paddle, loaded
    after it in the same process (a test session that runs every plugin's tests), would bind to
    that protobuf instead of its own and crash at start-up."""
    deep_bind = getattr(os, "RTLD_DEEPBIND", 0)
    if not (enabled and deep_bind):
        yield
        return
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | deep_bind)
    try:
        yield
    finally:
        sys.setdlopenflags(flags)


with warnings.catch_warnings(), _own_symbols_first("tensorflow" in sys.modules):
    # Paddle warns at import that the C++-extension builder finds no ccache; nothing here builds one.
    warnings.simplefilter("ignore")
    import paddle
    import paddle.nn as nn
    import paddle.nn.functional as F
    from paddle.base import core


BATCH_NORM_TRAINING_WARNING = "When training, we now always track global mean and variance"
"""Paddle's BatchNorm says this on every training-mode forward; tracking the moving statistics is
exactly what the neutral spec asks for, so the training step silences it."""


def cuda_available() -> bool:
    """Whether this Paddle build has CUDA and sees at least one GPU."""
    return paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def determinism_flags() -> dict[str, bool] | None:
    """The GPU determinism flags as Paddle holds them, or None on a CPU-only build."""
    if not paddle.is_compiled_with_cuda():
        return None
    return {name: bool(value) for name, value in paddle.get_flags(list(GPU_DETERMINISM_FLAGS)).items()}


def configure(device: str, threads: int, seed: int) -> None:
    """Threads, device, seed and determinism; must run before the first Paddle op.
    :class:`harness.devices.DeviceError` for a device Paddle cannot use."""
    build = "CUDA-enabled but finds no GPU" if paddle.is_compiled_with_cuda() else "CPU-only"
    kind = check_device(device, "Paddle", cuda_available(), f"this paddlepaddle build is {build}",
                        "install 'paddlepaddle-gpu' on a machine with an NVIDIA driver")
    core.set_num_threads(threads)
    paddle.set_flags({"FLAGS_paddle_num_threads": threads})
    paddle.set_device(device.replace(CUDA, "gpu", 1) if kind == CUDA else device)
    if paddle.is_compiled_with_cuda():
        paddle.set_flags(GPU_DETERMINISM_FLAGS)
    paddle.seed(seed)


def to_channels_first(images: np.ndarray) -> paddle.Tensor:
    """A neutral NHWC batch as a Paddle NCHW tensor of the default dtype (float32 unless
    :func:`use_float64`) on the current device."""
    return paddle.to_tensor(channels_first.images_to_channels_first(images), dtype=paddle.get_default_dtype())


def use_float64() -> None:
    """Create parameters and tensors in float64 from now on (training parity's exact check)."""
    paddle.set_default_dtype("float64")


def to_neutral(output: paddle.Tensor, order: np.ndarray | None) -> np.ndarray:
    """A Paddle output as numpy in the neutral layout (feature maps NCHW -> NHWC, a flattened
    vector whose features are in ``order`` back in (H, W, C) order)."""
    return channels_first.output_to_neutral(output.numpy(), order)


__all__ = ["F", "configure", "core", "cuda_available", "determinism_flags", "nn", "paddle", "to_channels_first", "to_neutral"]
