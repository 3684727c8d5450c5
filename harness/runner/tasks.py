"""The tasks a worker runs, one function each, dispatched by the request's ``task``."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from harness.framework import Framework
from harness.plugins import framework_class
from harness.runner.parity_task import parity_task
from harness.runner.threads import effective_threads
from harness.runner.worker import emit
from harness.runner.train_parity_task import train_parity_task
from harness.runner.train_task import train_task
from harness.spec import Network, load_network

Task = Callable[[Framework, dict[str, Any]], dict[str, Any]]


def network_for(request: dict[str, Any]) -> Network:
    """The network a request names by spec file and variant."""
    return load_network(request["spec"], request.get("variant"))


def info_task(framework: Framework, request: dict[str, Any]) -> dict[str, Any]:
    """Devices and thread settings, as the framework sees them, and the native thread pools."""
    return {
        "devices": framework.devices(),
        "thread_settings": framework.thread_settings(),
        "threads": effective_threads(),
    }


def count_network(framework: Framework, network: Network) -> dict[str, Any]:
    """Build ``network`` and count its parameters per layer, with the effective settings."""
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


def params_task(framework: Framework, request: dict[str, Any]) -> dict[str, Any]:
    """Parameter counts of one network (``spec``/``variant``) or of many (``networks``).

    With ``networks`` (a list of ``{"spec", "variant"}``), every network is built in turn and a
    network that fails to build is reported in its own entry (``status``/``error``), so one worker
    serves a whole run; a ``params`` event follows each network. The result then holds ``networks`` (in request order) and the framework's
    ``thread_settings``.
    """
    if "networks" not in request:
        return count_network(framework, network_for(request))
    results = []
    for item in request["networks"]:
        entry = {"spec": item["spec"], "variant": item.get("variant")}
        try:
            results.append({**entry, "status": "ok", **count_network(framework, network_for(item))})
        except Exception as exc:  # noqa: BLE001 - one network's failure must not hide the others
            results.append({**entry, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()})
        emit("params", spec=entry["spec"], variant=entry["variant"], status=results[-1]["status"])
    return {"networks": results, "thread_settings": framework.thread_settings()}


TASKS: dict[str, Task] = {"info": info_task, "params": params_task, "parity": parity_task, "train": train_task,
                         "train_parity": train_parity_task}


def run_task(request: dict[str, Any]) -> dict[str, Any]:
    """Instantiate the requested framework in this process and run the requested task."""
    if request["task"] not in TASKS:
        raise ValueError(f"unknown task '{request['task']}'; known: {', '.join(TASKS)}")
    task = TASKS[request["task"]]
    cls = framework_class(request["framework"])
    framework = cls(device=request.get("device", "cpu"), threads=int(request["threads"]), seed=int(request.get("seed", 0)))
    return task(framework, request)
