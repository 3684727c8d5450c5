"""The plugin as the harness sees it: discovery, no torch in the harness process, devices, threads."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from harness.devices import DeviceError
from harness.plugins import frameworks
from harness_torch.framework import TorchFramework


def test_the_entry_point_registers_the_torch_framework() -> None:
    registered = frameworks()["torch"]
    assert registered.framework is TorchFramework
    assert TorchFramework.unavailable_reason() is None
    assert TorchFramework.version() == torch.__version__


def test_discovery_imports_no_torch() -> None:
    code = "import sys, harness.plugins; harness.plugins.frameworks(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "False"


def test_devices_and_thread_settings(framework: TorchFramework) -> None:
    devices = framework.devices()
    assert devices[0] == "cpu" and ("cuda" in devices) == torch.cuda.is_available()
    assert framework.thread_settings()["intra_op"] == framework.threads == torch.get_num_threads()
    assert torch.are_deterministic_algorithms_enabled()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match=r"sees no CUDA GPU.*--device cpu"):
        TorchFramework(device="cuda", threads=1)


def test_an_unknown_device_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="cannot use the device 'tpu'"):
        TorchFramework(device="tpu", threads=1)
