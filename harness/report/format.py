"""How numbers are written in reports: rounded to what the measurement noise supports.

The rule (stated in every report and in ``reports/README.md``):

* accuracy: a fraction with 4 decimals (one image of a 10,000-image test set is 0.0001);
* times, throughput, memory, GFLOP/s and losses: 3 significant figures (repeated timings on a
  shared CPU scatter by a few per cent, so a fourth figure would be noise);
* parameter and MAC counts: exact, with thousands separators;
* ratios: 2 decimals (2 significant figures below 0.1).
"""

from __future__ import annotations

import math

MISSING = "—"
ACCURACY_DECIMALS = 4
SIGNIFICANT_FIGURES = 3


def significant(value: float | None, figures: int = SIGNIFICANT_FIGURES) -> str:
    """``value`` rounded to ``figures`` significant figures, with thousands separators."""
    if value is None:
        return MISSING
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    rounded = float(f"{value:.{figures - 1}e}")
    decimals = max(0, figures - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}"


def accuracy(value: float | None) -> str:
    """An accuracy as a fraction with 4 decimals."""
    if value is None:
        return MISSING
    return f"{value:.{ACCURACY_DECIMALS}f}" if math.isfinite(value) else str(value)


def count(value: int | None) -> str:
    """An exact count with thousands separators; unknown counts as ``?``."""
    return "?" if value is None else f"{value:,}"


def ratio(value: float | None) -> str:
    """A ratio such as ``1.30x``; below 0.1 with 2 significant figures (``0.0019x``, never ``0.00x``)."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{significant(value, 2)}x" if 0 < value < 0.1 else f"{value:.2f}x"


def plain(value: object) -> str:
    """A setting's value exactly as resolved: floats at full precision, booleans lower case."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(plain(item) for item in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)
