"""Specs for the tests of the harness and its plugins: small networks written inline, and the
shipped spec files as pytest cases (one per network, every variant included).

Framework-free: a plugin's tests build these networks with their own framework::

    from harness.testing.specs import inline_network, shipped_spec_cases

    network = inline_network([{"type": "conv", "filters": 4, "kernel": 3}], [8, 8, 1])

    SPEC_DIR = Path(__file__).resolve().parents[3] / "specs"  # plugins/NAME/tests/ -> the repository's specs/

    @pytest.fixture(scope="module", params=shipped_spec_cases(SPEC_DIR))
    def model(request, framework):
        return framework.build(request.param.load())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.runner.parity import forward_key
from harness.spec import Network, load_network, load_networks
from harness.spec.errors import SpecErrors
from harness.spec.network import expand
from harness.spec.schema import Spec

BASE_SPEC: dict[str, Any] = {
    "name": "t", "title": "t", "source": "test", "classes": 3,
    "train": {"optimizer": {"name": "sgd", "lr": 0.01}}, "dataset": {"name": "synthetic"},
}
"""Every top-level field an inline spec needs besides its input, backbone and head."""

SHIPPED_AGNOSTIC_SIZES: tuple[tuple[int, int], ...] = ((28, 28), (37, 23))
"""Input sizes a size-agnostic shipped network is run at (one square, one odd and non-square)."""

Size = tuple[int, int] | None
"""An input (height, width), or None for the network's own input size."""


def inline_spec(**fields: Any) -> Spec:
    """A validated spec: :data:`BASE_SPEC` with ``fields`` (input, backbone, head and any override)."""
    return Spec.model_validate({**BASE_SPEC, **fields})


def inline_network(backbone: list[dict[str, Any]], input_shape: list[int | None], head: dict[str, Any] | None = None,
                   **overrides: Any) -> Network:
    """A network from an inline backbone and head (global average head by default); ``overrides``
    replace top-level fields of :data:`BASE_SPEC` (``train``, ``classes``, ...)."""
    return expand(inline_spec(input=input_shape, backbone=backbone, head=head or {"type": "global_avg"}, **overrides))


@pytest.fixture
def make_network() -> Callable[..., Network]:
    """:func:`inline_network`, as a fixture (import it into a ``conftest.py`` to offer it)."""
    return inline_network


@dataclass(frozen=True)
class SpecCase:
    """One network of a spec file: its variant (None for a file without variants, or one that does not load)."""

    path: Path
    variant: str | None

    def load(self) -> Network:
        """The expanded network; a spec that does not load raises its own :class:`SpecErrors`."""
        return load_network(self.path, self.variant)


def shipped_spec_files(spec_dir: Path) -> list[Path]:
    """The ``*.yaml`` spec files in ``spec_dir``, sorted."""
    return sorted(spec_dir.glob("*.yaml"))


def shipped_spec_cases(spec_dir: Path) -> list[Any]:
    """One pytest case (a :class:`SpecCase`, with the network's key as id) per network of every spec
    file in ``spec_dir``; a file that does not load is one ``FILE:unloadable`` case, so that the test
    using it fails with the spec's own message."""
    cases: list[Any] = []
    for path in shipped_spec_files(spec_dir):
        try:
            networks = load_networks(path)
        except SpecErrors:
            cases.append(pytest.param(SpecCase(path, None), id=f"{path.stem}:unloadable"))
            continue
        cases.extend(pytest.param(SpecCase(path, network.variant), id=network.key) for network in networks)
    return cases


def architecture_twin(network: Network) -> str | None:
    """The key of an earlier network of the same spec file with the same forward pass
    (:func:`harness.runner.parity.forward_key`: the same layers, input, classes and data set; a
    variant that changes only training settings, such as a learning rate), or None. Such a twin
    also has the same first step's loss from the same weights and batch."""
    key = forward_key(network)
    for other in load_networks(network.path):
        if other.key == network.key:
            return None
        if forward_key(other) == key:
            return other.key
    return None


def skip_architecture_twin(network: Network) -> None:
    """Skip a test of the forward pass or the first step for a network whose twin (:func:`architecture_twin`)
    is already tested: the same layers give the same outputs and loss (a test suite's time)."""
    twin = architecture_twin(network)
    if twin is not None:
        pytest.skip(f"{network.key} has the layers of {twin} (only its training settings differ): tested there")


def input_sizes(network: Network, agnostic_sizes: tuple[tuple[int, int], ...] = SHIPPED_AGNOSTIC_SIZES) -> list[Size]:
    """The input sizes to run ``network`` at: ``agnostic_sizes`` when it is size-agnostic, else its own."""
    return list(agnostic_sizes) if network.spec.size_agnostic else [None]


def random_batch(network: Network, batch: int, size: Size = None, seed: int = 0) -> np.ndarray:
    """A float32 channels-last batch in [0, 1) of the network's input size (or ``size``)."""
    height, width, channels = network.input_shape if size is None else (*size, network.input_shape[2])
    return np.random.default_rng(seed).random((batch, height, width, channels), dtype=np.float32)
