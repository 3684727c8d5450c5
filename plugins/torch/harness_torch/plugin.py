"""Entry point of the ``harness`` group: registers the PyTorch framework (no torch import)."""

from __future__ import annotations

from collections.abc import Callable

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_torch.framework import TorchFramework


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register :class:`TorchFramework` under the name ``torch``."""
    register(TorchFramework)
