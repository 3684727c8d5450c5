"""Entry point of the ``harness`` group: registers the Paddle framework (no Paddle import)."""

from __future__ import annotations

from collections.abc import Callable

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_paddle.framework import PaddleFramework
from harness_paddle.openmp import openmp_environment


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register :class:`PaddleFramework` under the name ``paddle``."""
    register(PaddleFramework)


@hookimpl
def harness_worker_environment(framework: str) -> dict[str, str] | None:
    """libiomp5's spin time for a Paddle worker (:mod:`harness_paddle.openmp`), set before it starts."""
    return openmp_environment() if framework == PaddleFramework.name else None
