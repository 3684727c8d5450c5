"""Entry point of the ``harness`` group: registers Keras on each backend (no Keras or backend import).

``keras`` is Keras on TensorFlow, ``keras-torch`` on PyTorch, ``keras-jax`` on JAX; each is a
framework of its own, so ``--framework all`` includes all three where their backend is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.framework import Framework
from harness.hookspecs import hookimpl
from harness_keras.backends import worker_environment
from harness_keras.framework import KERAS_FRAMEWORKS

if TYPE_CHECKING:
    from harness.neutral.conversion import WeightReader

BACKEND_OF: dict[str, str] = {framework.name: framework.backend for framework in KERAS_FRAMEWORKS}


@hookimpl
def harness_register_frameworks(register: Callable[[type[Framework]], None]) -> None:
    """Register Keras on TensorFlow (``keras``), on PyTorch (``keras-torch``) and on JAX (``keras-jax``)."""
    for framework in KERAS_FRAMEWORKS:
        register(framework)


@hookimpl
def harness_worker_environment(framework: str, threads: int, device: str) -> dict[str, str] | None:
    """Keras' backend (read on its first import) and the backend's own variables, set before a
    Keras worker starts."""
    backend = BACKEND_OF.get(framework)
    return None if backend is None else worker_environment(backend, threads, device)


@hookimpl
def harness_weight_readers(register: Callable[[WeightReader], None]) -> None:
    """Register the reader of saved Keras models and keras.applications (imported when it runs)."""
    from harness_keras.importer import READER

    register(READER)
