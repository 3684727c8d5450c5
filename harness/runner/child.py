"""The parent side of a worker: start it isolated, stream its events, enforce its timeout.

:class:`LocalExecutor` runs typed requests (:mod:`harness.runner.protocol`) in worker
subprocesses on this machine, with the plugin discovery its command made once: each ``isolated``
request (a timed training job) in a fresh worker of its own, one at a time
(:func:`run_child`); other requests in one warm worker per framework, device and thread count
(:class:`WarmWorker`), the warm workers side by side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.plugins import Discovery, worker_environment
from harness.runner.events import SERVED, parse_event
from harness.runner.executor import ChildOutcome, JobSink, WorkRequest
from harness.runner.node import describe_node
from harness.runner.protocol import Message, Reply
from harness.runner.threads import default_threads, quick_compile, thread_environment
from harness.runner.worker import SERVE

EventHandler = Callable[[dict[str, Any]], None]
PARENT_VARIABLE = "HARNESS_PARENT_PID"
"""Tells a worker which process started it, so it dies with that process (see :mod:`harness.runner.worker`)."""
TAIL_LINES = 60


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


MEMORY_WORDS = ("out of memory", "memoryerror", "bad_alloc", "cannot allocate memory")


def _oom_event_files() -> list[Path]:
    """Where the kernel counts OOM kills for this process's cgroup: cgroup v2's ``memory.events``
    or v1's ``memory.oom_control``, under the cgroup's own path and (in a container, where the
    mount is the cgroup itself) at the mount's root."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    files = []
    for line in lines:
        _, controllers, where = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            files += [Path("/sys/fs/cgroup", where.lstrip("/"), "memory.events"), Path("/sys/fs/cgroup/memory.events")]
        elif "memory" in controllers.split(","):
            root = Path("/sys/fs/cgroup/memory")
            files += [root / where.lstrip("/") / "memory.oom_control", root / "memory.oom_control"]
    return files


def oom_kills() -> int | None:
    """How many processes the out-of-memory killer has killed in this process's cgroup, or None
    where no count is readable."""
    for file in _oom_event_files():
        try:
            text = file.read_text()
        except OSError:
            continue
        counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        if counts.get("oom_kill", "").isdigit():
            return int(counts["oom_kill"])
    return None


def classify_death(returncode: int, tail: str, oom_before: int | None, oom_after: int | None) -> tuple[str, str]:
    """The status and reason of a worker that ended without a result. ``oom`` only with evidence:
    the worker's own output says it ran out of memory, or the cgroup's OOM-kill count rose while
    it ran; a SIGKILL without either is reported as what it is."""
    lowered = tail.lower()
    if any(word in lowered for word in MEMORY_WORDS):
        return "oom", f"the worker ran out of memory (its output says so; exit {returncode})"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "an unknown signal"
        killed = f"the worker was killed by signal {-returncode} ({name})"
        if returncode == -signal.SIGKILL and oom_before is not None and oom_after is not None and oom_after > oom_before:
            return "oom", f"{killed}: the out-of-memory killer (the cgroup's oom_kill count rose from {oom_before} to {oom_after})"
        return "failed", f"{killed}; nothing shows that it ran out of memory"
    return "failed", f"the worker exited with code {returncode} without writing a result"


def _read_reply(path: Path, request: Message, returncode: int | None, output: str) -> ChildOutcome:
    """The worker's reply, its result validated as the request's result model."""
    try:
        reply = Reply.model_validate_json(path.read_text(encoding="utf-8"))
        if reply.status != "ok":
            return ChildOutcome(reply.status, error=reply.error, traceback=reply.traceback, returncode=returncode, output_tail=output)
        result = type(request).result_type.model_validate(reply.result)  # type: ignore[attr-defined]
    except (ValidationError, ValueError) as exc:
        return ChildOutcome("failed", error=f"the worker's reply does not match the protocol: {exc}", returncode=returncode,
                            output_tail=output)
    return ChildOutcome(getattr(result, "status", "ok"), result, getattr(result, "reason", None), None, returncode, output)


@contextmanager
def deadline(process: subprocess.Popen[str], timeout: float | None) -> Iterator[threading.Event]:
    """Kill ``process``'s group once ``timeout`` seconds have passed; the event says whether it did.
    Any exception (KeyboardInterrupt included) kills the group too, and is re-raised."""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        _kill_group(process)

    timer = threading.Timer(timeout, expire) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield expired
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    finally:
        if timer:
            timer.cancel()


def follow(process: subprocess.Popen[str], on_event: EventHandler | None) -> tuple[bool, str]:
    """Pass the worker's events on until it has served a request (True) or its output ends (False);
    the last lines of its other output."""
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        event = parse_event(line)
        if event is None:
            tail = (tail + [line])[-TAIL_LINES:]
        elif event.get("event") == SERVED:
            return True, "".join(tail)
        elif on_event:
            on_event(event)
    return False, "".join(tail)


def ended_without_reply(returncode: int, output: str, timeout: float | None, timed_out: bool,
                        oom_before: int | None) -> ChildOutcome:
    """The outcome of a worker that ended before writing its reply."""
    if timed_out:
        return ChildOutcome("timeout", error=f"the job ran past its {timeout:g} s timeout and was killed",
                            returncode=returncode, output_tail=output)
    status, error = classify_death(returncode, output, oom_before, oom_kills())
    return ChildOutcome(status, error=error, returncode=returncode, output_tail=output)


def start_worker(env: dict[str, str], *arguments: str) -> subprocess.Popen[str]:
    """A worker subprocess in a process group of its own, with exactly ``env``."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness.runner.worker", *arguments], stdin=subprocess.PIPE if SERVE in arguments else None,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**env, PARENT_VARIABLE: str(os.getpid())},
        start_new_session=True,
    )


def run_child(
    request: Message,
    env: dict[str, str],
    *,
    timeout: float | None = None,
    on_event: EventHandler | None = None,
) -> ChildOutcome:
    """Run one fresh worker for ``request`` in a new process group, with exactly ``env``; never
    raises for worker failures.

    ``timeout`` (seconds) kills the worker's whole process group. KeyboardInterrupt kills the
    worker and is re-raised after the outcome is recorded by the caller.
    """
    with tempfile.TemporaryDirectory(prefix="harness-job-") as folder:
        request_path, result_path = Path(folder, "request.json"), Path(folder, "reply.json")
        request_path.write_text(request.model_dump_json(), encoding="utf-8")
        oom_before = oom_kills()
        process = start_worker(env, str(request_path), str(result_path))
        with deadline(process, timeout) as timed_out:
            _, output = follow(process, on_event)
            returncode = process.wait()
        if not timed_out.is_set() and result_path.exists():
            return _read_reply(result_path, request, returncode, output)
        return ended_without_reply(returncode, output, timeout, timed_out.is_set(), oom_before)


class WarmWorker:
    """One worker process (``worker --serve``) answering many requests in turn, for work that
    needs no isolation (counting, building, parity) of one framework, device and thread count.

    It starts on the first request, and again on the next request after one killed it (a crash,
    a timeout): that request alone is reported failed, the others keep their results.
    """

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.process: subprocess.Popen[str] | None = None
        self.served = 0
        self.killed = False
        self.lock = threading.Lock()

    def run(self, request: Message, *, timeout: float | None = None, on_event: EventHandler | None = None) -> ChildOutcome:
        """Hand ``request`` to the worker and wait for its reply; never raises for worker failures."""
        self.served += 1
        request_path, reply_path = self.folder / f"request{self.served}.json", self.folder / f"reply{self.served}.json"
        request_path.write_text(request.model_dump_json(), encoding="utf-8")
        with self.lock:
            if self.killed:
                return ChildOutcome("failed", error="interrupted before its worker started")
            if self.process is None:
                self.process = start_worker(self.env, SERVE)
            process = self.process
        oom_before = oom_kills()
        with deadline(process, timeout) as timed_out:
            try:
                assert process.stdin is not None
                process.stdin.write(json.dumps([str(request_path), str(reply_path)]) + "\n")
                process.stdin.flush()
            except BrokenPipeError:
                pass  # it died before this request: its output says why
            served, output = follow(process, on_event)
        if served and not timed_out.is_set():
            return _read_reply(reply_path, request, None, output)
        self.process = None
        returncode = process.wait()
        return ended_without_reply(returncode, output, timeout, timed_out.is_set(), oom_before)

    def close(self) -> None:
        """Let the worker finish (its input ends) or, failing that within seconds, kill it."""
        if self.process is None:
            return
        process, self.process = self.process, None
        try:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            _kill_group(process)
            process.wait()

    def kill(self) -> None:
        """Kill the worker now and start none again (Ctrl-C); a request it was serving ends as failed."""
        with self.lock:
            self.killed = True
            if self.process is not None:
                _kill_group(self.process)


def warm_key(request: WorkRequest) -> tuple[str, str, int, bool]:
    """Requests with the same key may share a warm worker: the same framework, device and threads,
    and whether compilers may skip their optimisations (its environment; the mode and seed are set
    per request, in the worker)."""
    target = request.target()
    return target.framework, target.device, target.threads, request.quick_compile


@dataclass(frozen=True)
class LocalExecutor:
    """Runs requests in worker subprocesses on this machine, with the plugins discovered once.

    Each ``isolated`` request (a timed training job) runs in a fresh worker, one at a time, so it
    has this machine to itself. Other requests run in one :class:`WarmWorker` per
    :func:`warm_key`, in turn; up to ``warm_workers`` warm workers run side by side (default:
    one per core). A worker's environment holds the thread limits, then the variables plugins ask
    for through ``harness_worker_environment``, then ``extra_env``.
    """

    discovery: Discovery
    extra_env: dict[str, str] = field(default_factory=dict)
    warm_workers: int = field(default_factory=default_threads)
    concurrency: int = field(default=1, init=False)
    """Timed jobs run at once: one, so every job has this machine to itself."""

    def environment(self, request: WorkRequest) -> dict[str, str]:
        target = request.target()
        env = thread_environment(target.threads)
        env.update(worker_environment(self.discovery.manager, target.framework, target.threads, target.device))
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        return quick_compile(env) if request.quick_compile else env

    def run_jobs(self, requests: Sequence[WorkRequest], sink: JobSink, *, timeout: float | None = None) -> None:
        """Run ``requests``, telling ``sink`` as each starts, reports and ends: the warm groups
        first (side by side), then the isolated requests one after another."""
        groups: dict[tuple[str, str, int, bool], list[int]] = {}
        for position, request in enumerate(requests):
            if not request.isolated:
                groups.setdefault(warm_key(request), []).append(position)
        if groups:
            self._run_warm(requests, list(groups.values()), sink, timeout)
        for position, request in enumerate(requests):
            if request.isolated:
                node = describe_node(request.target().device)
                sink.job_started(position, node)
                outcome = run_child(request, self.environment(request), timeout=timeout,
                                    on_event=partial(sink.job_event, position))
                outcome.node = node
                sink.job_ended(position, outcome)

    def _run_warm(self, requests: Sequence[WorkRequest], groups: list[list[int]], sink: JobSink,
                  timeout: float | None) -> None:
        """Each group in a warm worker of its own; on KeyboardInterrupt every worker is killed,
        no further request starts, and the interrupt is re-raised."""
        stopping = threading.Event()
        workers: list[WarmWorker] = []

        def serve(group: list[int], folder: str) -> None:
            worker = WarmWorker(self.environment(requests[group[0]]), Path(folder))
            workers.append(worker)
            try:
                for position in group:
                    if stopping.is_set():
                        return
                    node = describe_node(requests[position].target().device)
                    sink.job_started(position, node)
                    outcome = worker.run(requests[position], timeout=timeout, on_event=partial(sink.job_event, position))
                    if stopping.is_set():
                        return
                    outcome.node = node
                    sink.job_ended(position, outcome)
            finally:
                worker.close()

        with tempfile.TemporaryDirectory(prefix="harness-warm-") as root:
            pool = ThreadPoolExecutor(max_workers=max(1, min(self.warm_workers, len(groups))))
            futures = [pool.submit(serve, group, tempfile.mkdtemp(dir=root)) for group in groups]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                stopping.set()
                for worker in list(workers):
                    worker.kill()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
