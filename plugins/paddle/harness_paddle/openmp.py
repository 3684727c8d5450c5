"""How Paddle's OpenMP threads wait: set before Paddle loads (no Paddle import here).

Paddle's core library links two OpenMP runtimes, Intel's ``libiomp5`` and GNU's ``libgomp``;
with more than one thread, each keeps its workers spinning after a parallel region (200 ms by
default in libiomp5), so on a machine whose cores are all in use the spinning threads of one
runtime take the CPU the other needs. Measured with ``benchmarks/paddle_threads.py`` (a plain
Paddle LeNet, no harness; docs/timing.md), two threads were 20-40x slower than with these
settings, which a Paddle user on a shared CPU machine would apply: workers sleep as soon as a
region ends. A variable the user has set already is kept.
"""

from __future__ import annotations

import os

OPENMP_ENVIRONMENT: dict[str, str] = {
    "OMP_WAIT_POLICY": "PASSIVE",  # libgomp and libiomp5: idle workers sleep instead of spinning
    "KMP_BLOCKTIME": "0",  # libiomp5: milliseconds a worker spins before it sleeps
}


def openmp_environment() -> dict[str, str]:
    """:data:`OPENMP_ENVIRONMENT`, with any of its variables the user has set kept as set."""
    return {name: os.environ.get(name, value) for name, value in OPENMP_ENVIRONMENT.items()}
