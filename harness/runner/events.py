"""Progress events from a worker to its parent: JSON lines on stdout behind :data:`EVENT_PREFIX`."""

from __future__ import annotations

import json
import sys
from typing import Any

EVENT_PREFIX = "@@harness-event "
SERVED = "served"
"""The event a warm worker sends once it has written a request's reply (see :class:`harness.runner.child.WarmWorker`)."""


def emit(event: str, **data: Any) -> None:
    """Send one progress event to the parent."""
    sys.stdout.write(EVENT_PREFIX + json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def parse_event(line: str) -> dict[str, Any] | None:
    """The event a worker's output line carries, or None for ordinary output."""
    return json.loads(line[len(EVENT_PREFIX):]) if line.startswith(EVENT_PREFIX) else None
