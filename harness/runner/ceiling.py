"""The machine's ceiling: its FP32 matrix-multiply rate at a job's thread count.

Measured in the job's own worker (same threads, same moment) with numpy's BLAS on square float32
matrices, best of a few repeats; a job's achieved GFLOP/s is reported as a share of it.
"""

from __future__ import annotations

import time

import numpy as np

GEMM_SIZE = 1024
GEMM_REPEATS = 5


def gemm_gflops(size: int = GEMM_SIZE, repeats: int = GEMM_REPEATS) -> float:
    """Best FP32 GEMM rate of ``repeats`` products of two ``size`` x ``size`` matrices, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b  # warm-up: thread pools started, pages touched
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
