"""The command line all the native scripts share: the driver (``benchmarks/native_overhead.py``)
calls each of them the same way. Imports nothing of the harness."""

from __future__ import annotations

import argparse


def parse_args(description: str | None) -> argparse.Namespace:
    """``MODEL DATA [--epochs N] [--seed N] [--batch-size N] [--compiled]``, with the script's docstring as help."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["lenet", "e5a"])
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, help="default: the published one (LeNet 64, E5a 128)")
    parser.add_argument("--compiled", action="store_true",
                        help="the framework's compiler, as its users switch it on (a script without one refuses)")
    return parser.parse_args()
