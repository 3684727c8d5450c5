"""Entry point of the ``harness`` group: registers the PyTorch framework (no torch import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_torch.framework import TorchFramework

if TYPE_CHECKING:
    from harness.neutral.conversion import WeightReader


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register :class:`TorchFramework` under the name ``torch``."""
    register(TorchFramework)


@hookimpl
def harness_weight_readers(register: Callable[[WeightReader], None]) -> None:
    """Register the reader of PyTorch state_dicts (imported when it runs)."""
    from harness_torch.importer import READER

    register(READER)
