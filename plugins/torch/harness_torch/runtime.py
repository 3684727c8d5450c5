"""PyTorch's process-wide state: device, threads, seeds, determinism and float32 precision."""

from __future__ import annotations

import os
from typing import Any

import torch

CUBLAS_WORKSPACE = ":4096:8"
"""cuBLAS needs a fixed workspace for deterministic matrix products on CUDA."""


class DeviceError(RuntimeError):
    """A device that PyTorch cannot use in this process."""


def available_devices() -> list[str]:
    """``cpu``, and ``cuda`` where PyTorch sees a GPU."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def check_device(device: str) -> None:
    """Raise :class:`DeviceError` with the reason and the fix for a device PyTorch cannot use."""
    kind = device.split(":", 1)[0]
    if kind not in ("cpu", "cuda"):
        raise DeviceError(f"PyTorch cannot use the device '{device}'; use one of: {', '.join(available_devices())}.")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"the device '{device}' was requested, but this PyTorch ({torch.__version__}) sees no CUDA GPU "
            f"(torch.cuda.is_available() is False). Run with --device cpu, or install a CUDA build of torch "
            "on a machine with a GPU."
        )


def _set_interop_threads(threads: int) -> None:
    if torch.get_num_interop_threads() == threads:
        return
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass  # already fixed by earlier parallel work in this process; reported by thread_settings()


def configure(device: str, threads: int, seed: int) -> None:
    """Apply the device check, thread counts, seeds, deterministic algorithms and IEEE float32."""
    check_device(device)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.set_num_threads(threads)
    _set_interop_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    _disable_tf32()


def _has_precision_api() -> bool:
    """Whether this torch has the ``fp32_precision`` flags (torch 2.9 on) rather than ``allow_tf32``."""
    return hasattr(torch.backends.cudnn, "conv")


def _disable_tf32() -> None:
    """Full float32 in GPU convolutions and matrix products (no TF32), through one API only."""
    if _has_precision_api():
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False


def float32_precision() -> dict[str, str]:
    """The float32 precision of GPU convolutions and matrix products (``ieee`` or ``tf32``)."""
    if _has_precision_api():
        return {"conv": torch.backends.cudnn.conv.fp32_precision, "matmul": torch.backends.cuda.matmul.fp32_precision}
    return {"conv": "tf32" if torch.backends.cudnn.allow_tf32 else "ieee",
            "matmul": "tf32" if torch.backends.cuda.matmul.allow_tf32 else "ieee"}


def thread_settings() -> dict[str, Any]:
    """PyTorch's own thread pools as it reports them."""
    return {
        "intra_op": torch.get_num_threads(),
        "inter_op": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "openmp": torch.backends.openmp.is_available(),
    }


def synchronize(device: str) -> None:
    """Wait for queued work on a CUDA device; nothing to do on the CPU."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
