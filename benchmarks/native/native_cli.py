"""What the native scripts share: the command line (the driver, ``benchmarks/native_overhead.py``,
calls each of them the same way) and the timed loop over shuffled batches with its JSON line.
Imports nothing of the harness."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def parse_args(description: str | None, accuracy: bool = False) -> argparse.Namespace:
    """``MODEL DATA [--epochs N] [--seed N] [--batch-size N] [--compiled]``, with the script's docstring
    as help; ``accuracy``: the script can also count each batch's training accuracy (``--accuracy``)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["lenet", "e5a"])
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, help="default: the published one (LeNet 64, E5a 128)")
    parser.add_argument("--compiled", action="store_true",
                        help="the framework's compiler, as its users switch it on (a script without one refuses)")
    if accuracy:
        parser.add_argument("--accuracy", action="store_true",
                            help="also count each batch's training accuracy, as the harness's training step does")
    return parser.parse_args()


def train_and_report(framework: str, args: argparse.Namespace, batch_size: int, shuffled: Callable[[], Sequence[Any]],
                     step: Callable[[Any], None]) -> None:
    """``args.epochs`` epochs of ``step`` (one training step on a batch of indices, ending when its
    loss is read back) over batches of ``shuffled()``; prints one JSON line: each epoch's median
    step time (ms; the first epoch is the warm-up), seconds and steps."""
    epochs = []
    for _ in range(args.epochs):
        order = shuffled()
        steps = []
        began = time.perf_counter()
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            tick = time.perf_counter()
            step(batch)
            steps.append(time.perf_counter() - tick)
        epochs.append({"step_ms": 1000 * statistics.median(steps), "seconds": time.perf_counter() - began, "steps": len(steps)})
    print(json.dumps({"framework": framework, "compiled": args.compiled, "model": args.model, "batch_size": batch_size,
                      "epochs": epochs}), flush=True)
