"""Thread limits applied to a worker before any framework is imported, and read back after."""

from __future__ import annotations

import os
from typing import Any

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "CPU_NUM",
)


def default_threads() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def thread_environment(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a worker limited to ``threads`` threads in every runtime."""
    env = dict(os.environ if base is None else base)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    env["TF_CPP_MIN_LOG_LEVEL"] = env.get("TF_CPP_MIN_LOG_LEVEL", "2")
    env["GLOG_minloglevel"] = env.get("GLOG_minloglevel", "2")
    env["PYTHONHASHSEED"] = env.get("PYTHONHASHSEED", "0")
    return env


def effective_threads() -> dict[str, Any]:
    """Thread pools as the native libraries report them (threadpoolctl), plus the variables."""
    from threadpoolctl import threadpool_info

    pools = [
        {"api": info.get("user_api"), "library": info.get("internal_api"), "threads": info.get("num_threads")}
        for info in threadpool_info()
    ]
    return {"pools": pools, "environment": {name: os.environ.get(name) for name in THREAD_VARIABLES}}
