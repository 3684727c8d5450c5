"""Counting every network's parameters in every framework, one worker per framework, and
comparing each count with the oracle's and the published ``expect``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python

from harness.equivalence.agreement import LayerMismatch, layer_mismatches
from harness.neutral.oracle import Analysis, ExpectCheck, analyse, check_expect
from harness.runner.executor import Executor, run_all
from harness.runner.protocol import NetworkCount, ParamsRequest, ParamsResult, ResolvedNetwork
from harness.spec import Network

SCOPES = ("params", "backbone")
"""What a count covers: the whole network, or the backbone alone (the layers before the head)."""


@dataclass
class FrameworkCount:
    """One framework's counts for one network, compared with the oracle."""

    status: str
    error: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    layers: dict[str, dict[str, int]] = field(default_factory=dict)
    mismatches: list[LayerMismatch] = field(default_factory=list)
    effective_settings: dict[str, Any] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        return self.status == "ok" and not self.mismatches


@dataclass
class NetworkParams:
    """The oracle, ``expect`` and every framework's counts for one network."""

    network: Network
    analysis: Analysis
    expect: list[ExpectCheck]
    counts: dict[str, FrameworkCount]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.expect) and all(count.agrees for count in self.counts.values())


Advance = Callable[[str], None]
"""Called with a framework's name each time one more network has been counted in it."""


def count_in_workers(
    networks: list[Network], names: list[str], executor: Executor, *, threads: int, device: str,
    timeout: float | None, advance: Advance | None = None,
) -> tuple[dict[str, list[NetworkCount]], dict[str, dict[str, Any]]]:
    """Each framework's counts (one per network, in order) and its thread settings.

    One request per network and framework, all through ``executor`` at once (a local one counts
    each framework's networks in one warm worker, the frameworks side by side). A network whose
    worker died (a crash, a timeout) gets a ``failed`` entry with the reason; the others keep theirs.
    """
    resolved = [ResolvedNetwork.of(network) for network in networks]
    keys = [(name, index) for name in names for index in range(len(resolved))]
    requests = [ParamsRequest(framework=name, threads=threads, device=device, networks=[resolved[index]]) for name, index in keys]
    on_end = None if advance is None else lambda position, _: advance(keys[position][0])
    counts: dict[str, list[NetworkCount]] = {name: [] for name in names}
    thread_settings: dict[str, dict[str, Any]] = {name: {} for name in names}
    for (name, index), outcome in zip(keys, run_all(executor, requests, timeout=timeout, on_end=on_end), strict=True):
        if isinstance(outcome.result, ParamsResult):
            counts[name] += outcome.result.networks
            thread_settings[name] = thread_settings[name] or outcome.result.thread_settings
        else:
            network = resolved[index]
            counts[name].append(NetworkCount(spec=network.path, variant=network.variant, status="failed",
                                             error=f"worker {outcome.reason()}"))
    return counts, thread_settings


def compare(network: Network, results: dict[str, NetworkCount]) -> NetworkParams:
    """The oracle's, the published and every framework's counts of ``network``, compared."""
    analysis = analyse(network)
    counts = {}
    for name, result in results.items():
        if result.status != "ok" or result.params is None:
            counts[name] = FrameworkCount(result.status, result.error)
            continue
        layers = {layer: (c.trainable, c.non_trainable) for layer, c in result.layers.items()}
        counts[name] = FrameworkCount(
            "ok", params=result.params.model_dump(),
            layers={layer: {"trainable": t, "non_trainable": n, "total": t + n} for layer, (t, n) in layers.items()},
            mismatches=layer_mismatches(analysis, layers), effective_settings=to_jsonable_python(result.effective_settings),
        )
    return NetworkParams(network, analysis, check_expect(analysis, network.spec.expect), counts)


def oracle_counts(analysis: Analysis, scope: str) -> dict[str, int]:
    """The oracle's split for ``scope``."""
    return analysis.params() if scope == "params" else analysis.backbone_params()


def framework_counts(analysis: Analysis, count: FrameworkCount, scope: str) -> dict[str, int]:
    """A framework's split for ``scope``, summed from its per-layer counts for the backbone."""
    if scope == "params":
        return count.params
    backbone = [layer.name for layer in analysis.layers if layer.part == "backbone"]
    trainable = sum(count.layers.get(name, {}).get("trainable", 0) for name in backbone)
    non_trainable = sum(count.layers.get(name, {}).get("non_trainable", 0) for name in backbone)
    return {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}


def published(result: NetworkParams) -> dict[str, dict[str, int]]:
    """The published figures by scope (only scopes the spec publishes)."""
    figures: dict[str, dict[str, int]] = {}
    for check in result.expect:
        figures.setdefault(check.scope, {})[check.field] = check.expected
    return figures
