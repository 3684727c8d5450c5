"""Running any command's worker requests as Ray tasks, on an embedded Ray or on an existing cluster.

Each request (a training job, a network's parameter count, a parity check in one framework...)
is one Ray task that asks for the request's threads as CPUs (divided by ``--concurrency`` when a
sweep packs jobs on purpose) and, for a ``cuda`` job, one GPU. The files a request reads (neutral
weights, batches) travel with its task and the files it writes (layer outputs, trained weights)
come back with its answer, so a node needs no folder shared with the driver. The task runs on a fresh
Ray worker (``max_calls=1``) and is never retried (``max_retries=0``: a silent re-run would
corrupt timings). On the node it starts the harness's usual worker subprocess with
:func:`~harness.runner.child.run_child`, with an environment computed there: the node's own
variables, the thread limits, and what the plugins installed on that node ask for, so a job is
as isolated as a local one and its thread variables are set before its framework is imported.

Progress events stream back to the driver through a small actor (:class:`EventInbox`), sent
without waiting: a task that blocks in ``ray.get`` lends its CPUs to other tasks, which would put
two jobs on cores meant for one. The driver takes each task the moment it ends (``ray.wait``)
and hands its outcome to the orchestrator, which writes the result. When a task dies, the driver
first waits a moment for the events still on their way; only those its process had not yet sent
when it was killed are lost.
A job's timeout is enforced on its node, like a local one (its process group is killed); a task
still running well past it (an unresponsive node) is cancelled with ``ray.cancel(force=True)``.
Ray is imported only when this executor is used; it is an optional dependency.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from harness.plugins import discover
from harness.results import Node
from harness.runner.child import LocalExecutor, run_child
from harness.runner.executor import ChildOutcome, ExecutorUnavailable, JobSink, WorkRequest
from harness.runner.node import describe_node
from harness.runner.protocol import REQUEST
from harness.runner.ray_embedded import UnsafeRay, prepare_environment, start_embedded

RAY_MISSING = ("--executor ray needs Ray, which is not installed in this Python: install it with "
               "pip install 'harness[ray]' (or pip install 'ray>=2.59'), on the driver and on every node.")
STARTED = "ray-task-started"
"""The event a task sends before its worker starts: the node it landed on, and when (node clock)."""
POLL_S = 0.25
LATE_EVENTS_S = 1.0
"""How long the driver waits for the events still on their way from a task that died, before ending its job."""
DRIVER_GRACE_S = 30.0
"""How long past ``--timeout`` the driver waits for a node to end a job before cancelling its task."""


class RayUnavailable(ExecutorUnavailable):
    """Ray is not installed, or the cluster cannot be reached or cannot run the jobs; says how to fix it."""


def import_ray(embedded: bool = False) -> Any:
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it; ``embedded``: Ray
    is imported to start an instance of its own, on loopback only."""
    if embedded:
        prepare_environment()
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(RAY_MISSING) from exc
    return ray


def node_environment(request: WorkRequest, extra_env: dict[str, str]) -> dict[str, str]:
    """The worker's environment, computed on the node that runs it: the node's variables, the
    thread limits, the plugins' variables (as installed there), ``extra_env``; a CPU job sees no GPU."""
    env = LocalExecutor(discover(), extra_env).environment(request)
    if request.target().device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def file_paths(request: WorkRequest, fields: tuple[str, ...]) -> list[str]:
    """The paths held in the request's ``fields`` (a field holds one path or a list)."""
    paths: list[str] = []
    for name in fields:
        value = getattr(request, name)
        paths += value if isinstance(value, list) else [value]
    return paths


def read_files(paths: list[str]) -> dict[str, bytes]:
    return {path: Path(path).read_bytes() for path in paths}


def relocated(request: WorkRequest, folder: Path, files: dict[str, bytes]) -> tuple[WorkRequest, dict[str, str]]:
    """``request`` with every path of its file fields moved into ``folder`` (the inputs written
    there from ``files``), and where each of its outputs will be, by its original path."""
    moved: dict[str, str] = {}

    def move(path: str) -> str:
        moved.setdefault(path, str(folder / f"{len(moved)}-{Path(path).name}"))
        return moved[path]

    update: dict[str, Any] = {}
    for name in (*request.input_files, *request.output_files):
        value = getattr(request, name)
        update[name] = [move(path) for path in value] if isinstance(value, list) else move(value)
    for path, content in files.items():
        Path(moved[path]).write_bytes(content)
    return request.model_copy(update=update), {path: moved[path] for path in file_paths(request, request.output_files)}


class EventInbox:
    """A Ray actor that keeps the events tasks send (in order per task) until the driver takes them."""

    def __init__(self) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []

    def put(self, position: int, event: dict[str, Any]) -> None:
        self.events.append((position, event))

    def take(self) -> list[tuple[int, dict[str, Any]]]:
        events, self.events = self.events, []
        return events


def run_on_node(position: int, request_json: str, files: dict[str, bytes], timeout: float | None, extra_env: dict[str, str],
                inbox: Any) -> dict[str, Any]:
    """The Ray task of one request: write its input ``files`` to a folder of its own, run its
    worker subprocess here and return how it ended (plain data), with the files it wrote.

    Events go to ``inbox`` without waiting; the task waits for the last one only after its worker
    ended (and after noting the time), so the driver has every event of a job before its end.
    """
    with tempfile.TemporaryDirectory(prefix="harness-ray-") as folder:
        request, outputs = relocated(REQUEST.validate_json(request_json), Path(folder), files)
        answer = run_here(position, request, timeout, extra_env, inbox)
        answer["files"] = {original: Path(path).read_bytes() for original, path in outputs.items() if Path(path).exists()}
    return answer


def run_here(position: int, request: WorkRequest, timeout: float | None, extra_env: dict[str, str], inbox: Any) -> dict[str, Any]:
    """Run ``request``'s worker on this node, its events sent to ``inbox``; how it ended, as plain data."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    node = describe_node(request.target().device).model_copy(update={"ray_node_id": node_id})
    started = time.time()
    sent = [inbox.put.remote(position, {"event": STARTED, "node": node.model_dump(), "node_id": node_id, "at": started})]

    def send(event: dict[str, Any]) -> None:
        sent[0] = inbox.put.remote(position, event)

    outcome = run_child(request, node_environment(request, extra_env), timeout=timeout, on_event=send)
    ended = time.time()
    ray.get(sent[0])
    return {
        "status": outcome.status, "result": outcome.result.model_dump_json() if outcome.result is not None else None,
        "error": outcome.error, "traceback": outcome.traceback, "returncode": outcome.returncode,
        "output_tail": outcome.output_tail, "node": node.model_dump(), "node_id": node_id, "started": started,
        "ended": ended,
    }


@dataclass
class Span:
    """When a job ran on which node (the node's clock), as the driver learned it."""

    node: Node
    node_id: str
    start: float
    seen: float = field(default_factory=time.monotonic)
    end: float | None = None


@dataclass
class Tracker:
    """What the driver knows of the running tasks: their nodes and spans, to count concurrent jobs."""

    sink: JobSink
    spans: dict[int, Span] = field(default_factory=dict)
    ended: set[int] = field(default_factory=set)

    def drain(self, ray: Any, inbox: Any) -> None:
        """Pass every event sent so far on, in order; a task's start becomes ``job_started``.
        Late events of a job already ended (its task crashed mid-send) are dropped."""
        for position, event in ray.get(inbox.take.remote()):
            if position in self.ended:
                continue
            if event.get("event") == STARTED:
                self.start(position, Node.model_validate(event["node"]), event["node_id"], float(event["at"]))
            else:
                self.sink.job_event(position, event)

    def start(self, position: int, node: Node, node_id: str, at: float) -> None:
        if position not in self.spans:
            self.spans[position] = Span(node, node_id, at)
            self.sink.job_started(position, node)

    def concurrent(self, position: int) -> int:
        """Other jobs whose time on this job's node overlapped this job's."""
        span = self.spans[position]
        end = span.end if span.end is not None else time.time()
        return sum(
            1 for other_position, other in self.spans.items()
            if other_position != position and other.node_id == span.node_id and other.start < end
            and (other.end is None or other.end > span.start)
        )

    def overdue(self, position: int, timeout: float | None) -> bool:
        span = self.spans.get(position)
        return bool(timeout) and span is not None and time.monotonic() - span.seen > timeout + DRIVER_GRACE_S  # type: ignore[operator]

    def end(self, position: int, outcome: ChildOutcome, ended: float | None = None) -> None:
        self.ended.add(position)
        span = self.spans.get(position)
        if span is not None:
            span.end = ended if ended is not None else time.time()
            outcome.node = span.node.model_copy(update={"concurrent_jobs": self.concurrent(position)})
        self.sink.job_ended(position, outcome)


def first_line(error: BaseException) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)


def task_failure(ray: Any, error: BaseException) -> ChildOutcome:
    """How a task that returned nothing ended (its worker or node died, Ray killed it, ...)."""
    exceptions = ray.exceptions
    if isinstance(error, exceptions.OutOfMemoryError):
        return ChildOutcome("oom", error=f"Ray's memory monitor killed the job's task: its node ran low on memory ({first_line(error)})",
                            output_tail=str(error))
    if isinstance(error, exceptions.WorkerCrashedError):
        return ChildOutcome("failed", error="the Ray worker running the job died (WorkerCrashedError): it was killed or crashed",
                            output_tail=str(error))
    if isinstance(error, exceptions.NodeDiedError):
        return ChildOutcome("failed", error=f"the node running the job died (NodeDiedError): {first_line(error)}", output_tail=str(error))
    return ChildOutcome("failed", error=f"the job's Ray task failed: {type(error).__name__}: {first_line(error)}",
                        traceback=str(error))


@dataclass
class RayExecutor:
    """Runs jobs as Ray tasks; a context manager that connects to Ray (``address``) and lets go.

    ``address`` None starts an embedded local Ray instance, on loopback only and with token
    authentication (:mod:`harness.runner.ray_embedded`), unless this process already has one: then
    it is used and left running; ``auto`` or ``ray://host:10001`` joins an existing cluster.
    ``concurrency`` N lets N jobs share the CPUs one job asks for (accuracy-only sweeps).
    """

    address: str | None = None
    concurrency: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    connected: bool = field(default=False, init=False)

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def connect(self) -> None:
        """Start or join Ray; :class:`RayUnavailable` when it cannot be reached."""
        ray = import_ray(embedded=self.address is None)
        if ray.is_initialized():
            return
        try:
            if self.address is None:
                start_embedded(ray)
            else:
                ray.init(address=self.address, log_to_driver=False)
        except UnsafeRay as exc:
            raise RayUnavailable(str(exc)) from None
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = self.address or "a new local instance"
            raise RayUnavailable(f"could not start or join Ray at {where}: {first_line(exc)}. Check --ray-address (e.g. `auto` on a "
                                 "node of the cluster, or ray://HEAD:10001), or start a cluster with `ray start --head`.") from None
        self.connected = True

    def disconnect(self) -> None:
        """Let go of the Ray this executor started or joined (an embedded instance stops)."""
        if self.connected:
            import_ray().shutdown()
            self.connected = False

    def resources(self, request: WorkRequest) -> dict[str, float]:
        """What the job's task asks Ray for."""
        target = request.target()
        return {"num_cpus": target.threads / self.concurrency, "num_gpus": 1 if target.device == "cuda" else 0}

    def check_feasible(self, ray: Any, requests: Sequence[WorkRequest]) -> None:
        """Refuse jobs no node of the cluster could ever run (Ray would wait for them forever)."""
        nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
        for request in requests:
            wanted = self.resources(request)
            if not any(node.get("CPU", 0) >= wanted["num_cpus"] and node.get("GPU", 0) >= wanted["num_gpus"] for node in nodes):
                most = max((node.get("CPU", 0) for node in nodes), default=0)
                gpus = "and 1 GPU " if wanted["num_gpus"] else ""
                raise RayUnavailable(f"a job asks Ray for {wanted['num_cpus']:g} CPUs {gpus}(--threads {request.target().threads}"
                                     f"{f', --concurrency {self.concurrency}' if self.concurrency > 1 else ''}), but no node of the "
                                     f"cluster has that much (most CPUs on a node: {most:g}); lower --threads or add such a node.")

    def run_jobs(self, requests: Sequence[WorkRequest], sink: JobSink, *, timeout: float | None = None) -> None:
        """Submit every job, then report each one the moment its task ends; on KeyboardInterrupt
        (or any error) cancel every task still queued or running, and re-raise."""
        if not requests:
            return
        ray = import_ray()
        self.connect()
        self.check_feasible(ray, requests)
        inbox = ray.remote(num_cpus=0)(EventInbox).remote()
        task = ray.remote(max_calls=1, max_retries=0)(run_on_node)
        pending = {
            task.options(**self.resources(request)).remote(position, request.model_dump_json(),
                                                           read_files(file_paths(request, request.input_files)), timeout,
                                                           self.extra_env, inbox): position
            for position, request in enumerate(requests)
        }
        tracker = Tracker(sink)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                tracker.drain(ray, inbox)
                for ref in done:
                    position = pending.pop(ref)
                    self.collect(ray, ref, requests[position], tracker, position, inbox)
                for ref, position in list(pending.items()):
                    if tracker.overdue(position, timeout):
                        ray.cancel(ref, force=True)
                        del pending[ref]
                        tracker.end(position, ChildOutcome(
                            "timeout", error=f"the job ran past its {timeout:g} s timeout and its node did not stop it; "
                                             "its Ray task was cancelled"))
        finally:
            self.cancel(ray, list(pending), inbox)

    @staticmethod
    def cancel(ray: Any, refs: list[Any], inbox: Any) -> None:
        """Cancel ``refs`` (queued or running) and drop the inbox; a Ray already going down (Ctrl-C
        in a terminal reaches its processes too) has nothing left to cancel."""
        for handle in refs:
            with suppress(ray.exceptions.RayError, ConnectionError, ValueError):
                ray.cancel(handle, force=True)
        with suppress(ray.exceptions.RayError, ConnectionError, ValueError):
            ray.kill(inbox)

    @staticmethod
    def collect(ray: Any, ref: Any, request: WorkRequest, tracker: Tracker, position: int, inbox: Any) -> None:
        """Turn a finished task into an outcome (the files its worker wrote put where the request
        names them) and hand it on. A task that died may have events still on their way to the
        inbox (an epoch that ended just before): they are waited for a moment, then taken first."""
        try:
            answer = ray.get(ref)
        except ray.exceptions.RayError as error:
            time.sleep(LATE_EVENTS_S)
            tracker.drain(ray, inbox)
            tracker.end(position, task_failure(ray, error))
            return
        for path, content in answer["files"].items():
            Path(path).write_bytes(content)
        result = request.result_type.model_validate_json(answer["result"]) if answer["result"] is not None else None
        tracker.start(position, Node.model_validate(answer["node"]), answer["node_id"], answer["started"])
        outcome = ChildOutcome(answer["status"], result, answer["error"], answer["traceback"], answer["returncode"],
                               answer["output_tail"])
        tracker.end(position, outcome, answer["ended"])

