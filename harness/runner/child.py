"""The parent side of a worker: start it isolated, stream its events, enforce its timeout."""

from __future__ import annotations

import json
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

from harness.plugins import discover, worker_environment
from harness.runner.threads import thread_environment
from harness.runner.worker import EVENT_PREFIX

EventHandler = Callable[[dict[str, Any]], None]


@dataclass
class ChildOutcome:
    """How a worker ended: its result (if it wrote one), or why there is none."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    returncode: int | None = None
    output_tail: str = ""


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _plugin_environment(request: dict[str, Any], threads: int) -> dict[str, str]:
    if "framework" not in request:
        return {}
    manager = discover().manager
    return worker_environment(manager, request["framework"], threads, request.get("device", "cpu"))


def _classify_death(returncode: int, tail: str) -> tuple[str, str]:
    lowered = tail.lower()
    if returncode == -signal.SIGKILL or "out of memory" in lowered or "memoryerror" in lowered or "bad_alloc" in lowered:
        return "oom", f"the worker was killed (exit {returncode}), most likely by the out-of-memory killer"
    if returncode < 0:
        return "failed", f"the worker died from signal {signal.Signals(-returncode).name}"
    return "failed", f"the worker exited with code {returncode} without writing a result"


def run_child(
    request: dict[str, Any],
    *,
    threads: int,
    timeout: float | None = None,
    on_event: EventHandler | None = None,
    extra_env: dict[str, str] | None = None,
) -> ChildOutcome:
    """Run one worker for ``request`` in a new process group; never raises for worker failures.

    The worker's environment holds the thread limits, then the variables plugins ask for through
    ``harness_worker_environment``, then ``extra_env``. ``timeout`` (seconds) kills the worker's
    whole process group. KeyboardInterrupt kills the worker and is re-raised after the outcome is
    recorded by the caller.
    """
    with tempfile.TemporaryDirectory(prefix="harness-job-") as folder:
        request_path, result_path = Path(folder, "request.json"), Path(folder, "result.json")
        request_path.write_text(json.dumps(request))
        env = thread_environment(threads)
        env.update(_plugin_environment(request, threads))
        env.update(extra_env or {})
        env["PYTHONUNBUFFERED"] = "1"
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
                if line.startswith(EVENT_PREFIX):
                    if on_event:
                        on_event(json.loads(line[len(EVENT_PREFIX):]))
                else:
                    tail = (tail + [line])[-60:]
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
            result = json.loads(result_path.read_text())
            return ChildOutcome(result.get("status", "ok"), result, result.get("error"), returncode, output)
        status, error = _classify_death(returncode, output)
        return ChildOutcome(status, error=error, returncode=returncode, output_tail=output)
