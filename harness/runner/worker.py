"""The worker subprocess: ``python -m harness.runner.worker REQUEST.json RESULT.json``.

The parent gives the worker an environment whose thread variables are already set (see
:mod:`harness.runner.threads`), so no framework starts its pools with another size. The worker
loads the spec, instantiates the one framework the request names, runs the task, and writes the
result atomically. Progress events are JSON lines on stdout behind :data:`EVENT_PREFIX`.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from harness.results import write_json_atomic

EVENT_PREFIX = "@@harness-event "


def emit(event: str, **data: Any) -> None:
    """Send one progress event to the parent."""
    sys.stdout.write(EVENT_PREFIX + json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    request_path, result_path = Path(argv[0]), Path(argv[1])
    request = json.loads(request_path.read_text())
    try:
        from harness.runner.tasks import run_task

        result = {"status": "ok", **run_task(request)}
    except MemoryError:
        result = {"status": "oom", "error": "the worker ran out of memory (MemoryError)"}
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the parent, never lost
        result = {
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    write_json_atomic(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
