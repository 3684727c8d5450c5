"""harness.devices: the device names every plugin accepts and the one error it raises."""

from __future__ import annotations

import pytest

from harness.devices import DeviceError, available_devices, check_device


@pytest.mark.parametrize(("device", "kind"), [("cpu", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda")])
def test_known_devices_resolve_to_their_kind(device: str, kind: str) -> None:
    assert check_device(device, "MyFW", cuda=True, no_gpu_reason="", gpu_fix="") == kind


@pytest.mark.parametrize("device", ["tpu", "cpu:0", "cuda:x", "gpu", ""])
def test_an_unknown_device_names_the_ones_that_work(device: str) -> None:
    with pytest.raises(DeviceError, match=rf"MyFW cannot use the device '{device}'; use one of: cpu\."):
        check_device(device, "MyFW", cuda=False, no_gpu_reason="", gpu_fix="")


def test_cuda_without_a_gpu_gives_the_reason_and_both_fixes() -> None:
    with pytest.raises(DeviceError, match=r"MyFW sees no CUDA GPU here \(a CPU-only build\)\. "
                                          r"Run with --device cpu, or install myfw-gpu\."):
        check_device("cuda:0", "MyFW", cuda=False, no_gpu_reason="a CPU-only build", gpu_fix="install myfw-gpu")
    assert available_devices(False) == ["cpu"] and available_devices(True) == ["cpu", "cuda"]
