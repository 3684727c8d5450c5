"""PyTorch's process-wide state (device, threads, seeds, determinism and float32 precision), and
batches onto the device and back."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from harness.neutral import channels_first
from harness.devices import available_devices as device_list
from harness.devices import check_device

CUBLAS_WORKSPACE = ":4096:8"
"""cuBLAS needs a fixed workspace for deterministic matrix products on CUDA."""


def available_devices() -> list[str]:
    """``cpu``, and ``cuda`` where PyTorch sees a GPU."""
    return device_list(torch.cuda.is_available())


def _set_interop_threads(threads: int) -> None:
    if torch.get_num_interop_threads() == threads:
        return
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass  # already fixed by earlier parallel work in this process; reported by thread_settings()


def configure(device: str, threads: int, seed: int) -> None:
    """Apply the device check, thread counts, seeds, deterministic algorithms and IEEE float32;
    :class:`harness.devices.DeviceError` for a device PyTorch cannot use."""
    check_device(device, f"PyTorch {torch.__version__}", torch.cuda.is_available(),
                 "torch.cuda.is_available() is False", "install a CUDA build of torch on a machine with a GPU")
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


def use_float64() -> None:
    """Create tensors and parameters in float64 from now on (training parity's exact check)."""
    torch.set_default_dtype(torch.float64)


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


def images_to_native(images: np.ndarray, device: str) -> torch.Tensor:
    """NHWC numpy images as a contiguous NCHW tensor of the default dtype (float32 unless
    :func:`use_float64`) on ``device``."""
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(device, torch.get_default_dtype())
    return tensor.permute(0, 3, 1, 2).contiguous()


def labels_to_native(labels: np.ndarray, device: str) -> torch.Tensor:
    """Integer class labels as an int64 tensor on ``device``."""
    return torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)


def output_to_neutral(output: torch.Tensor, order: np.ndarray | None) -> np.ndarray:
    """A layer's output as channels-last numpy; a flattened vector back in (H, W, C) order."""
    return channels_first.output_to_neutral(output.detach().cpu().numpy(), order)
