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


RUN_THREADS = 1
"""``harness run``'s default thread count. Measured on the shared 2-core development machine
(docs/timing.md): with 2 threads every framework's LeNet step was slower than with 1 (PyTorch
0.11x, Paddle 0.59x, Keras 0.90x), because threads that spin-wait between parallel regions
(PyTorch's libgomp, Paddle's two OpenMP runtimes) lose their core to other processes; with one
thread a framework's thread handling stays out of the comparison and other processes disturb it
least. ``--threads 1,2`` shows each framework's scaling; on a quiet dedicated machine more threads
can pay (PyTorch 2.2x with 2 threads on an idle machine)."""


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


XLA_POOL_THREAD = "tf_XLAEigen"
"""The name (as ``/proc`` shows it) of the threads of XLA's CPU intra-op pool."""
XLA_SINGLE_THREAD_FLAG = "--xla_cpu_multi_thread_eigen=false"
XLA_GPU_FLAGS = ("--xla_gpu_deterministic_ops=true",)
XLA_QUICK_COMPILE_FLAGS = ("--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true")
"""For work whose compiled programs only build a network (counting parameters): XLA skips its
code optimisations, which builds JAX networks 2-4 times sooner (their initialisers are compiled)."""


def xla_environment(threads: int, device: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables XLA reads once, when JAX starts its first backend (for the JAX plugin and
    Keras on JAX): ``NPROC`` sizes its CPU intra-op pool; with one thread every op also runs on the
    calling thread; on a GPU, deterministic ops and no preallocation. ``base`` (default: this
    process's environment) gives the user's own ``XLA_FLAGS``, which are kept."""
    flags = (os.environ if base is None else base).get("XLA_FLAGS", "").split()
    wanted = ([XLA_SINGLE_THREAD_FLAG] if threads == 1 else []) + (list(XLA_GPU_FLAGS) if device == "cuda" else [])
    return {
        "NPROC": str(threads),
        "XLA_FLAGS": " ".join(flags + [flag for flag in wanted if flag not in flags]),
        "JAX_PLATFORMS": "cuda" if device == "cuda" else "cpu",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }


def quick_compile(env: dict[str, str]) -> dict[str, str]:
    """``env`` with :data:`XLA_QUICK_COMPILE_FLAGS` added to its ``XLA_FLAGS``."""
    flags = env.get("XLA_FLAGS", "").split()
    return {**env, "XLA_FLAGS": " ".join(flags + [flag for flag in XLA_QUICK_COMPILE_FLAGS if flag not in flags])}


def xla_pool_threads() -> int | None:
    """Threads of XLA's CPU intra-op pool in this process, counted from ``/proc`` (None where
    ``/proc`` does not list a process's threads). The caller starts the backend first."""
    tasks = f"/proc/{os.getpid()}/task"
    if not os.path.isdir(tasks):
        return None
    count = 0
    for task in os.listdir(tasks):
        try:
            with open(os.path.join(tasks, task, "comm"), encoding="utf-8") as comm:
                count += comm.read().strip() == XLA_POOL_THREAD
        except OSError:
            continue  # the thread ended while being listed
    return count
