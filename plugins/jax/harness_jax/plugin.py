"""Entry point of the ``harness`` group: registers the JAX framework (no JAX import)."""

from __future__ import annotations

from collections.abc import Callable

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_jax.framework import JaxFramework
from harness_jax.runtime import worker_environment


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register :class:`JaxFramework` under the name ``jax``."""
    register(JaxFramework)


@hookimpl
def harness_worker_environment(framework: str, threads: int, device: str) -> dict[str, str] | None:
    """XLA's thread pool size, CPU flags and platform, set before a JAX worker imports JAX."""
    return worker_environment(threads, device) if framework == JaxFramework.name else None
