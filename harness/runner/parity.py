"""Running a parity check: the same neutral weights and batch through every framework.

For each network the harness draws neutral weights from the seed, takes a fixed batch (real
images when the spec's data set can be loaded here, else seeded synthetic images; a size-agnostic
network is checked at two input sizes), has every framework's worker write each layer's output,
and compares every framework with the numpy reference and with every other framework.

In compiled mode (``modes``) a framework's participant is labelled ``<framework>:compiled``; its
logits come from the compiled ``predict`` (its other layers from the eager ``layer_outputs``), and
its worker also compares those logits with the eager ones.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.equivalence import reference
from harness.data import DataError, parity_batch
from harness.equivalence.parity import DEFAULT_TOLERANCE, REFERENCE, PairResult, compare
from harness.framework import Mode, NeutralWeights
from harness.runner.executor import ChildOutcome, Executor, run_all
from harness.runner.protocol import ParityRequest, ParityResult, ResolvedNetwork
from harness.spec import Network
from harness.neutral.weights import initial_weights, save_weights

DEFAULT_AGNOSTIC_SIZES: tuple[tuple[int, int], ...] = ((20, 20), (37, 29))


@dataclass
class NetworkParity:
    """Every comparison made for one network, and frameworks that could not take part."""

    network: str
    pairs: list[PairResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    round_trip: dict[str, float] = field(default_factory=dict)
    images: str = ""
    tolerance: float = DEFAULT_TOLERANCE
    logits_from: dict[str, str] = field(default_factory=dict)
    compiled_vs_eager: dict[str, float] = field(default_factory=dict)
    checked_as: str | None = None
    """The network whose check this one shares: the two differ only in how they train (see :func:`forward_key`)."""

    @property
    def passed(self) -> bool:
        exact = all(error == 0.0 for error in self.round_trip.values())
        compiled = all(error <= self.tolerance for error in self.compiled_vs_eager.values())
        return not self.failures and exact and compiled and all(pair.passed for pair in self.pairs)


def participant(framework: str, mode: Mode) -> str:
    """A participant's name: the framework, with the mode when it is not eager (``torch:compiled``)."""
    return framework if mode == "eager" else f"{framework}:{mode}"


TRAINING_ONLY = frozenset({"name", "title", "source", "description", "train", "expect"})
"""Spec fields a parity check does not depend on: how the network trains and what is said of it. The
check draws its weights from ``--seed`` and its images from the data set, whatever ``train`` says."""


def forward_key(network: Network) -> str:
    """What a parity check of ``network`` depends on (its layers, input, classes and data set), as text:
    networks with the same key have the same forward pass on the same weights and images."""
    return json.dumps(network.spec.model_dump(mode="json", exclude=set(TRAINING_ONLY)), sort_keys=True)


def distinct_networks(networks: list[Network]) -> list[tuple[Network, Network]]:
    """Each network with the first one of the same :func:`forward_key` (itself when it is the first):
    the network whose parity check stands for it."""
    first: dict[str, Network] = {}
    return [(network, first.setdefault(forward_key(network), network)) for network in networks]


def shared_check(result: NetworkParity, network: Network) -> NetworkParity:
    """``result`` (another network's) as ``network``'s: the same comparisons, under its name."""
    return replace(result, network=network.key, checked_as=result.network,
                   pairs=[replace(pair, network=network.key) for pair in result.pairs])


def input_sizes(network: Network) -> list[tuple[int, int]]:
    """The input sizes to check: the spec's own, or two sizes for a size-agnostic network."""
    height, width, _ = network.input_shape
    if height is not None and width is not None:
        return [(height, width)]
    sizes = network.spec.dataset.sizes
    return [tuple(s) for s in sizes[:1] + sizes[-1:]] if sizes and len(sizes) > 1 else list(DEFAULT_AGNOSTIC_SIZES)


def synthetic_batch(network: Network, size: tuple[int, int], batch: int, seed: int) -> np.ndarray:
    """Seeded images in [0, 1] of the network's channel count."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.random((batch, size[0], size[1], int(network.input_shape[2])), dtype=np.float32)


ImageSource = Callable[[Network, tuple[int, int], int, int], tuple[np.ndarray, str]]


def real_or_synthetic(data_dir: str | None = None) -> ImageSource:
    """Real test images from the spec's data set when it loads here, else seeded synthetic ones."""

    def images(network: Network, size: tuple[int, int], batch: int, seed: int) -> tuple[np.ndarray, str]:
        try:
            return parity_batch(network, size, batch, data_dir)
        except DataError as exc:
            reason = str(exc).split(". ")[0]
            return synthetic_batch(network, size, batch, seed), f"synthetic images, seed {seed} ({reason})"

    return images


@dataclass
class Prepared:
    """One network's share of a parity run: its neutral weights, its batches, its requests."""

    result: NetworkParity
    weights: NeutralWeights
    batches: list[np.ndarray]
    requests: dict[str, ParityRequest] = field(default_factory=dict)


def prepare(network: Network, frameworks: list[str], modes: list[Mode], folder: Path, images: ImageSource, *,
            threads: int, device: str, batch: int, seed: int, tolerance: float,
            without_compiled: Collection[str] = ()) -> Prepared:
    """Write the network's neutral weights and batches to ``folder`` and make one request per
    framework and mode (no compiled one for the frameworks of ``without_compiled``)."""
    weights = initial_weights(network, seed)
    weights_path = folder / "weights.npz"
    save_weights(weights_path, weights)
    batches, descriptions = [], []
    for index, size in enumerate(input_sizes(network)):
        array, description = images(network, size, batch, seed)
        np.save(folder / f"inputs{index}.npy", array)
        batches.append(array)
        descriptions.append(description)
    prepared = Prepared(NetworkParity(network.key, tolerance=tolerance, images="; ".join(sorted(set(descriptions)))), weights,
                        batches)
    resolved = ResolvedNetwork.of(network)
    for framework, mode in itertools.product(frameworks, modes):
        if mode == "compiled" and framework in without_compiled:
            continue
        prepared.requests[participant(framework, mode)] = ParityRequest(
            framework=framework, mode=mode, device=device, threads=threads, seed=seed, network=resolved,
            weights=str(weights_path), inputs=[str(folder / f"inputs{i}.npy") for i in range(len(batches))],
            outputs=[str(folder / f"{framework}-{mode}-outputs{i}.npz") for i in range(len(batches))],
        )
    return prepared


def finish(network: Network, prepared: Prepared, outcomes: dict[str, ChildOutcome]) -> NetworkParity:
    """The reference's outputs and every framework's, every pair of participants compared at every input size."""
    result = prepared.result
    outputs = {REFERENCE: [reference.layer_outputs(network, prepared.weights, array) for array in prepared.batches]}
    for name, request in prepared.requests.items():
        outcome = outcomes[name]
        if not isinstance(outcome.result, ParityResult):
            result.failures[name] = outcome.reason()
            continue
        result.round_trip[name] = outcome.result.round_trip_max_abs
        result.logits_from[name] = outcome.result.logits_from
        if outcome.result.compiled_vs_eager_max_abs is not None:
            result.compiled_vs_eager[name] = outcome.result.compiled_vs_eager_max_abs
        outputs[name] = [dict(np.load(path)) for path in request.outputs]
    logits = list(network.walk())[-1].name
    for a, b in itertools.combinations(outputs, 2):
        for index, array in enumerate(prepared.batches):
            result.pairs.append(
                compare(network.key, list(array.shape[1:]), (a, b), outputs[a][index], outputs[b][index], logits,
                        result.tolerance)
            )
    return result


def check_networks(
    networks: list[Network],
    frameworks: list[str],
    executor: Executor,
    *,
    modes: list[Mode] | None = None,
    threads: int,
    device: str = "cpu",
    batch: int = 4,
    seed: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
    timeout: float | None = None,
    images: ImageSource | None = None,
    advance: Callable[[str], None] | None = None,
    without_compiled: Collection[str] = (),
) -> list[NetworkParity]:
    """Run the parity check of every network in every framework and mode (eager only when
    ``modes`` is None; no compiled participant for the frameworks of ``without_compiled``), all
    requests through ``executor`` at once (a local one serves each framework's from one warm
    worker); ``advance`` is called with a participant's name each time one of its requests ends.

    Networks that differ only in how they train (:func:`forward_key`: MobileNetV2's heads at two
    learning rates, a variant that only loads other initial weights) are checked once; the others
    get that check under their own name, with ``checked_as`` naming the network checked.
    """
    images = images or real_or_synthetic()
    pairs = distinct_networks(networks)
    checked = [network for network, first in pairs if first is network]
    results = dict(zip((network.key for network in checked),
                       _check_distinct(checked, frameworks, executor, modes=modes, threads=threads, device=device,
                                       batch=batch, seed=seed, tolerance=tolerance, timeout=timeout, images=images,
                                       advance=advance, without_compiled=without_compiled), strict=True))
    return [results[network.key] if first is network else shared_check(results[first.key], network)
            for network, first in pairs]


def _check_distinct(networks: list[Network], frameworks: list[str], executor: Executor, *, modes: list[Mode] | None,
                    threads: int, device: str, batch: int, seed: int, tolerance: float, timeout: float | None, images: ImageSource,
                    advance: Callable[[str], None] | None, without_compiled: Collection[str]) -> list[NetworkParity]:
    """:func:`check_networks` of networks whose forward passes all differ."""
    with tempfile.TemporaryDirectory(prefix="harness-parity-") as root:
        prepared = []
        for index, network in enumerate(networks):
            folder = Path(root, str(index))
            folder.mkdir()
            prepared.append(prepare(network, frameworks, modes or ["eager"], folder, images, threads=threads, device=device,
                                    batch=batch, seed=seed, tolerance=tolerance, without_compiled=without_compiled))
        keys = [(index, name) for index, one in enumerate(prepared) for name in one.requests]
        requests = [prepared[index].requests[name] for index, name in keys]
        on_end = None if advance is None else lambda position, _: advance(keys[position][1])
        outcomes = run_all(executor, requests, timeout=timeout, on_end=on_end)
        by_network: list[dict[str, ChildOutcome]] = [{} for _ in networks]
        for (index, name), outcome in zip(keys, outcomes, strict=True):
            by_network[index][name] = outcome
        return [finish(network, one, got) for network, one, got in zip(networks, prepared, by_network, strict=True)]


def check_network(network: Network, frameworks: list[str], executor: Executor, **options: Any) -> NetworkParity:
    """:func:`check_networks` for one network."""
    return check_networks([network], frameworks, executor, **options)[0]
