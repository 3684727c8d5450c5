"""The framework-neutral spec language: schema, YAML loading with line numbers, variants."""

from harness.spec.errors import SpecError, SpecErrors
from harness.spec.loader import load_network, load_networks
from harness.spec.network import Network, Node

__all__ = ["Network", "Node", "SpecError", "SpecErrors", "load_network", "load_networks"]
