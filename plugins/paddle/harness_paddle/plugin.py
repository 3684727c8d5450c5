"""Entry point of the ``harness`` group: registers the Paddle framework (no Paddle import)."""

from __future__ import annotations

from collections.abc import Callable

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_paddle.framework import PaddleFramework


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register :class:`PaddleFramework` under the name ``paddle``."""
    register(PaddleFramework)
