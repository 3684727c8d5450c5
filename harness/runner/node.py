"""The node a job runs on: host name, CPU model, the GPU the job sees and its priority, measured where it runs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from functools import cache

from harness.results import Node
from harness.runner.measure import cpu_model


@cache
def gpu_names(visible: str | None) -> str | None:
    """The names of the GPUs ``visible`` (a ``CUDA_VISIBLE_DEVICES`` value, None: all), from nvidia-smi;
    None when there is no GPU or no nvidia-smi to ask."""
    if visible == "" or shutil.which("nvidia-smi") is None:
        return None
    command = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"] + (["-i", visible] if visible else [])
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.strip() for line in answer.stdout.splitlines() if line.strip()]
    return ", ".join(names) if answer.returncode == 0 and names else None


def describe_node(device: str) -> Node:
    """This machine, as a job on ``device`` started from this process sees it (a CPU job sees no
    GPU; the worker inherits this process's niceness)."""
    gpu = gpu_names(os.environ.get("CUDA_VISIBLE_DEVICES")) if device == "cuda" else None
    return Node(hostname=socket.gethostname(), cpu=cpu_model(), gpu=gpu, niceness=os.nice(0))
