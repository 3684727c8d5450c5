"""Entry point of the ``harness`` group: registers the Keras framework (no TensorFlow import)."""

from __future__ import annotations

from collections.abc import Callable

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_keras.framework import KerasFramework

WORKER_ENVIRONMENT: dict[str, str] = {
    "KERAS_BACKEND": "tensorflow",  # Keras 3 reads it on its first import
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's C++ logs: errors only
}


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register :class:`KerasFramework` under the name ``keras``."""
    register(KerasFramework)


@hookimpl
def harness_worker_environment(framework: str) -> dict[str, str] | None:
    """Keras' backend and TensorFlow's log level, set before a Keras worker starts."""
    return dict(WORKER_ENVIRONMENT) if framework == KerasFramework.name else None
