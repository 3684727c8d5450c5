"""The devices a job can ask for, and the one error every plugin raises for a device it cannot use.

A device is ``cpu``, ``cuda`` or ``cuda:N``. Plugins call :func:`check_device` before they
configure their framework, passing whether the framework sees a GPU and, if not, why and how to
get one; the message then reads the same for every framework.
"""

from __future__ import annotations

CPU, CUDA = "cpu", "cuda"
KINDS = (CPU, CUDA)


class DeviceError(RuntimeError):
    """A device the caller asked for that the framework cannot use here; the message gives the fix."""


def available_devices(cuda: bool) -> list[str]:
    """``cpu``, and ``cuda`` when the framework sees a GPU."""
    return [CPU, CUDA] if cuda else [CPU]


def check_device(device: str, framework: str, cuda: bool, no_gpu_reason: str, gpu_fix: str) -> str:
    """The kind of ``device`` (``cpu`` or ``cuda``), or :class:`DeviceError` when ``framework``
    cannot use it: an unknown name, or ``cuda`` when it sees no GPU (``cuda`` False), with
    ``no_gpu_reason`` and ``gpu_fix`` in the message."""
    kind, _, index = device.partition(":")
    if kind not in KINDS or (index and (kind != CUDA or not index.isdigit())):
        raise DeviceError(f"{framework} cannot use the device '{device}'; use one of: "
                          f"{', '.join(available_devices(cuda))}.")
    if kind == CUDA and not cuda:
        raise DeviceError(f"the device '{device}' was requested, but {framework} sees no CUDA GPU here "
                          f"({no_gpu_reason}). Run with --device cpu, or {gpu_fix}.")
    return kind
