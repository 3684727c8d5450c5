"""The parent side of a worker: start it isolated, stream its events, enforce its timeout.

:class:`LocalExecutor` runs typed requests (:mod:`harness.runner.protocol`) in worker
subprocesses, with the plugin discovery its command made once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.plugins import Discovery, worker_environment
from harness.runner.events import parse_event
from harness.runner.protocol import Message, Reply
from harness.runner.threads import thread_environment

EventHandler = Callable[[dict[str, Any]], None]


@dataclass
class ChildOutcome:
    """How a worker ended: its result (if it wrote one), or why there is none."""

    status: str
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    returncode: int | None = None
    output_tail: str = ""


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


def _read_reply(path: Path, request: Message, returncode: int, output: str) -> ChildOutcome:
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


def run_child(
    request: Message,
    env: dict[str, str],
    *,
    timeout: float | None = None,
    on_event: EventHandler | None = None,
) -> ChildOutcome:
    """Run one worker for ``request`` in a new process group, with exactly ``env``; never raises
    for worker failures.

    ``timeout`` (seconds) kills the worker's whole process group. KeyboardInterrupt kills the
    worker and is re-raised after the outcome is recorded by the caller.
    """
    with tempfile.TemporaryDirectory(prefix="harness-job-") as folder:
        request_path, result_path = Path(folder, "request.json"), Path(folder, "reply.json")
        request_path.write_text(request.model_dump_json(), encoding="utf-8")
        oom_before = oom_kills()
        process = subprocess.Popen(
            [sys.executable, "-m", "harness.runner.worker", str(request_path), str(result_path)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
        )
        tail: list[str] = []
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _kill_group(process)

        timer = threading.Timer(timeout, expire) if timeout else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                event = parse_event(line)
                if event is None:
                    tail = (tail + [line])[-60:]
                elif on_event:
                    on_event(event)
            returncode = process.wait()
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        finally:
            if timer:
                timer.cancel()
        output = "".join(tail)
        if timed_out.is_set():
            return ChildOutcome("timeout", error=f"the job ran past its {timeout:g} s timeout and was killed",
                                returncode=returncode, output_tail=output)
        if result_path.exists():
            return _read_reply(result_path, request, returncode, output)
        status, error = classify_death(returncode, output, oom_before, oom_kills())
        return ChildOutcome(status, error=error, returncode=returncode, output_tail=output)


@dataclass(frozen=True)
class LocalExecutor:
    """Runs requests in worker subprocesses on this machine, with the plugins discovered once.

    A worker's environment holds the thread limits, then the variables plugins ask for through
    ``harness_worker_environment``, then ``extra_env``.
    """

    discovery: Discovery
    extra_env: dict[str, str] = field(default_factory=dict)

    def environment(self, request: Message) -> dict[str, str]:
        target = request.target()  # type: ignore[attr-defined]
        env = thread_environment(target.threads)
        env.update(worker_environment(self.discovery.manager, target.framework, target.threads, target.device))
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run(self, request: Message, *, timeout: float | None = None, on_event: EventHandler | None = None) -> ChildOutcome:
        return run_child(request, self.environment(request), timeout=timeout, on_event=on_event)
