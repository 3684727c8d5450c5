"""The worker subprocess: ``python -m harness.runner.worker REQUEST.json REPLY.json``, or a warm
worker, ``python -m harness.runner.worker --serve``, that answers requests in turn until its
input ends: each input line is a JSON ``[request path, reply path]``, and after writing the
reply it sends the ``served`` event (see :class:`harness.runner.child.WarmWorker`). A warm worker
keeps its framework instances (one per target) from one request to the next.

The parent gives the worker an environment whose thread variables are already set (see
:mod:`harness.runner.threads`), so no framework starts its pools with another size. The worker
validates the typed request once (:mod:`harness.runner.protocol`), instantiates the one framework
it names, runs the task, and writes a :class:`~harness.runner.protocol.Reply` atomically.
Progress events go to stdout (:mod:`harness.runner.events`). On Linux the worker dies with the
process that started it (``HARNESS_PARENT_PID``), so a killed parent (a Ray task cancelled or
crashed, a harness killed outright) leaves no worker behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from harness.results import write_json_atomic
from harness.runner.events import SERVED, emit
from harness.runner.protocol import REQUEST, Reply, Target

if TYPE_CHECKING:
    from harness.framework import Framework

SERVE = "--serve"


def reply_to(request_text: str, instances: dict[Target, Framework] | None = None) -> Reply:
    """Run the request and describe how it ended; never raises for a task's failure.
    ``instances`` keeps the framework instances of a warm worker."""
    try:
        from harness.runner.tasks import run_task

        result = run_task(REQUEST.validate_json(request_text), instances)
        return Reply(status="ok", result=result.model_dump())
    except MemoryError:
        return Reply(status="oom", error="the worker ran out of memory (MemoryError)")
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent, never lost
        return Reply(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent dies; exit now if the parent is already gone."""
    parent = os.environ.get("HARNESS_PARENT_PID")
    if not parent or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):
        os._exit(1)


def serve() -> int:
    """Answer the requests named on stdin, one line each, until stdin ends."""
    instances: dict[Target, Framework] = {}
    for line in sys.stdin:
        request_path, reply_path = json.loads(line)
        write_json_atomic(Path(reply_path), reply_to(Path(request_path).read_text(encoding="utf-8"), instances).model_dump())
        emit(SERVED)
    return 0


def main(argv: list[str]) -> int:
    die_with_parent()
    if argv == [SERVE]:
        return serve()
    request_path, reply_path = Path(argv[0]), Path(argv[1])
    write_json_atomic(reply_path, reply_to(request_path.read_text(encoding="utf-8")).model_dump())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
