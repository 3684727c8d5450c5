"""Every bound the harness puts on its inputs, in one place.

A small input must never cost unbounded memory or time: a spec file, its nesting and its alias
expansion, the layers a ``repeat`` unrolls to, a results file, and a data set in memory are all
bounded. Each bound that a legitimate input could reach can be raised with an environment
variable (named in the error message); the rest are sanity bounds on single numbers that no real
network comes near (a conv of 10^12 filters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class LimitError(ValueError):
    """A value past one of the bounds below (the message names the bound and how to raise it)."""


@dataclass(frozen=True)
class Limit:
    """A bound that a legitimate input may reach, raised through the environment variable ``env``."""

    env: str
    default: int
    what: str

    @property
    def value(self) -> int:
        """The bound in force: ``env`` when it holds a positive integer, else the default."""
        raw = os.environ.get(self.env, "").strip()
        try:
            value = int(raw)
        except ValueError:
            return self.default
        return value if value > 0 else self.default

    def describe(self) -> str:
        """``the limit of N <what> (raise it with ENV=...)``: the end of every message about it."""
        return f"the limit is {self.value:,} {self.what}; raise it with the environment variable {self.env} if this is intended"


SPEC_BYTES = Limit("HARNESS_MAX_SPEC_BYTES", 128 * 1024, "bytes per spec file")
SPEC_DEPTH = Limit("HARNESS_MAX_SPEC_DEPTH", 40, "levels of nesting in a spec file")
SPEC_NODES = Limit("HARNESS_MAX_SPEC_NODES", 50_000, "values in a spec file once its aliases are expanded")
VARIANTS = Limit("HARNESS_MAX_VARIANTS", 256, "variants in one spec file")
LAYERS = Limit("HARNESS_MAX_LAYERS", 10_000, "layers in one network once its repeats are unrolled")
RESULTS_BYTES = Limit("HARNESS_MAX_RESULTS_BYTES", 512 * 1024 * 1024, "bytes per results file")
RESULTS_DEPTH = Limit("HARNESS_MAX_RESULTS_DEPTH", 40, "levels of nesting in a results file")
DATA_BYTES = Limit("HARNESS_MAX_DATA_BYTES", 0, "bytes of data set in memory")


def data_bytes_limit() -> int:
    """The most bytes a data set may take in memory: ``HARNESS_MAX_DATA_BYTES``, else half the machine's memory."""
    import psutil  # only here: `harness check` reads the other limits and needs none of psutil

    return DATA_BYTES.value or psutil.virtual_memory().total // 2


def describe_data_limit() -> str:
    if DATA_BYTES.value:
        return DATA_BYTES.describe()
    return (f"the limit is {data_bytes_limit():,} bytes, half of this machine's memory; raise it with the environment "
            f"variable {DATA_BYTES.env} if this is intended")


# Sanity bounds on single numbers of a spec or an option (no legitimate network comes near them).
MAX_NAME_CHARS = 64
"""Longest spec or variant name: names become file names, which the file system bounds."""
MAX_WIDTH = 1 << 16
"""Most filters, units, channels or depth multiplier of one layer."""
MAX_SIDE = 1 << 15
"""Largest image side, kernel, stride, pool or padding, in pixels."""
MAX_CLASSES = MAX_WIDTH
"""Most classes: the logits layer is a dense or conv layer of that width."""
MAX_FINDINGS = 64
"""Most published findings (expect.findings) one spec file may state."""
MAX_BATCH = 1 << 20
"""Largest batch size."""
MAX_EPOCHS = 1_000_000
"""Most epochs of one job."""
MAX_IMAGES = 1 << 40
"""Most images in a split; whether they fit in memory is checked against :func:`data_bytes_limit`."""
MAX_SEED = (1 << 31) - 1
"""Largest seed every framework accepts (TensorFlow's and Paddle's seeds are 32-bit)."""
MAX_TIMEOUT_S = 30 * 24 * 3600.0
"""Longest --timeout: thirty days."""
MAX_THREADS = 4096
"""Most threads per job."""
MAX_REPEATS = 1_000_000
"""Largest ``repeat`` count, warm-up step count or latency repeat count (the unrolled network is
bounded by :data:`LAYERS` as well)."""
