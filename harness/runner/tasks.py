"""The tasks a worker runs, one function each, dispatched by the request's type."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from harness.framework import Framework
from harness.plugins import framework_class
from harness.runner.events import emit
from harness.runner.parity_task import parity_task
from harness.runner.protocol import (
    InfoRequest,
    InfoResult,
    Message,
    NetworkCount,
    ParamsRequest,
    ParamsResult,
    ParityRequest,
    ResolvedNetwork,
    Target,
    TrainParityRequest,
    TrainRequest,
)
from harness.runner.threads import effective_threads
from harness.runner.train_parity_task import train_parity_task
from harness.runner.train_task import parameter_counts, train_task


def info_task(framework: Framework, request: InfoRequest) -> InfoResult:
    """Devices and thread settings, as the framework sees them, and the native thread pools."""
    return InfoResult(devices=framework.devices(), thread_settings=framework.thread_settings(), threads=effective_threads())


def count_network(framework: Framework, resolved: ResolvedNetwork) -> NetworkCount:
    """Build one network's structure and count its parameters per layer, with the effective settings."""
    network = resolved.network()
    model = framework.build_structure(network)
    counts = parameter_counts(framework, model)
    return NetworkCount(
        spec=resolved.path, variant=resolved.variant, status="ok", layers=counts["layer_params"], params=counts["params"],
        effective_settings=framework.effective_settings(model, network).as_dict(),
    )


def params_task(framework: Framework, request: ParamsRequest) -> ParamsResult:
    """Parameter counts of every network of the request, in order; a ``params`` event follows each.

    A network that fails to build is reported in its own entry, so one worker serves a whole run.
    """
    results = []
    for resolved in request.networks:
        try:
            results.append(count_network(framework, resolved))
        except Exception as exc:  # noqa: BLE001 - one network's failure must not hide the others
            results.append(NetworkCount(spec=resolved.path, variant=resolved.variant, status="failed",
                                        error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()))
        emit("params", spec=resolved.path, variant=resolved.variant, status=results[-1].status)
    return ParamsResult(networks=results, thread_settings=framework.thread_settings())


TASKS: dict[type[Message], Callable[[Framework, Any], Message]] = {
    InfoRequest: info_task, ParamsRequest: params_task, ParityRequest: parity_task, TrainRequest: train_task,
    TrainParityRequest: train_parity_task,
}


def run_task(request: InfoRequest | ParamsRequest | ParityRequest | TrainRequest | TrainParityRequest,
             instances: dict[Target, Framework] | None = None) -> Message:
    """Instantiate the requested framework in this process (one plugin discovery) and run the task;
    with ``instances`` (a warm worker's), an instance made for the same target before is reused.

    A plugin whose class sets no ``compiled_mode`` fails a compiled request here, with
    :class:`~harness.framework.ModeError`, whatever its ``__init__`` takes.
    """
    target = request.target()
    framework = instances.get(target) if instances is not None else None
    if framework is None:
        framework = instantiate(target)
        if instances is not None:
            instances[target] = framework
    return TASKS[type(request)](framework, request)


def instantiate(target: Target) -> Framework:
    """The target's framework, in its mode, on its device, with its threads and seed."""
    cls = framework_class(target.framework)
    cls.check_mode(target.mode)
    if target.mode == "eager":  # a plugin written before modes existed takes no ``mode`` argument
        return cls(device=target.device, threads=target.threads, seed=target.seed)
    return cls(device=target.device, threads=target.threads, seed=target.seed, mode=target.mode)
