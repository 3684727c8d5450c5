"""How Paddle's OpenMP threads wait: set before Paddle loads (no Paddle import here).

Paddle's core library links two OpenMP runtimes, Intel's ``libiomp5`` and GNU's ``libgomp``;
with more than one thread, libiomp5 keeps its workers spinning for ``KMP_BLOCKTIME`` (200 ms by
default) after each parallel region, taking the CPU the computing threads need. Measured with
``benchmarks/paddle_threads.py`` (a plain Paddle LeNet, no harness; docs/timing.md), 2 threads
with ``KMP_BLOCKTIME=0`` were faster than without it in every round, by 1.5x with the machine
lightly loaded and by up to 20x with it busy; with 1 thread it made no difference. (Also setting
``OMP_WAIT_POLICY=PASSIVE`` helped when the machine was busy but made 2 threads 2.2x slower when
it was not, so the plugin leaves that one alone.) A value the user has set is kept.
"""

from __future__ import annotations

import os

OPENMP_ENVIRONMENT: dict[str, str] = {
    "KMP_BLOCKTIME": "0",  # libiomp5: milliseconds a worker spins after a region before it sleeps
}


def openmp_environment() -> dict[str, str]:
    """:data:`OPENMP_ENVIRONMENT`, with any of its variables the user has set kept as set."""
    return {name: os.environ.get(name, value) for name, value in OPENMP_ENVIRONMENT.items()}
