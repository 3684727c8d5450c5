"""The tasks a worker runs, one function each, dispatched by the request's ``task``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.framework import Framework
from harness.plugins import framework_class
from harness.runner.threads import effective_threads
from harness.spec import Network, load_networks

Task = Callable[[Framework, dict[str, Any]], dict[str, Any]]


def network_for(request: dict[str, Any]) -> Network:
    """The network a request names by spec file and variant."""
    for network in load_networks(request["spec"]):
        if network.variant == request.get("variant"):
            return network
    raise ValueError(f"{request['spec']} has no variant {request.get('variant')!r}")


def info_task(framework: Framework, request: dict[str, Any]) -> dict[str, Any]:
    """Devices and thread settings, as the framework sees them."""
    return {
        "devices": framework.devices(),
        "thread_settings": framework.thread_settings(),
        "threads": effective_threads(),
    }


def params_task(framework: Framework, request: dict[str, Any]) -> dict[str, Any]:
    """Build the network and count its parameters per layer, with the effective settings."""
    network = network_for(request)
    model = framework.build(network)
    counts = framework.count_params(model)
    return {
        "layers": {name: {"trainable": c.trainable, "non_trainable": c.non_trainable} for name, c in counts.items()},
        "params": {
            "trainable": sum(c.trainable for c in counts.values()),
            "non_trainable": sum(c.non_trainable for c in counts.values()),
            "total": sum(c.total for c in counts.values()),
        },
        "effective_settings": framework.effective_settings(model, network).as_dict(),
    }


TASKS: dict[str, Task] = {"info": info_task, "params": params_task}


def run_task(request: dict[str, Any]) -> dict[str, Any]:
    """Instantiate the requested framework in this process and run the requested task."""
    task = TASKS[request["task"]]
    cls = framework_class(request["framework"])
    framework = cls(device=request.get("device", "cpu"), threads=int(request["threads"]), seed=int(request.get("seed", 0)))
    return task(framework, request)
