"""The framework-neutral spec language: schema, YAML loading with line numbers, variants.

The YAML loader is imported on first use of :func:`load_network`/:func:`load_networks`, so a
worker, which receives resolved specs, never loads it.
"""

from typing import Any

from harness.spec.errors import SpecError, SpecErrors
from harness.spec.network import Network, Node

__all__ = ["Network", "Node", "SpecError", "SpecErrors", "load_network", "load_networks"]


def __getattr__(name: str) -> Any:
    if name in ("load_network", "load_networks"):
        from harness.spec import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'harness.spec' has no attribute {name!r}")
