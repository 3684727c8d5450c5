"""Command-line option types that refuse what a user would not mean: NaN or infinite numbers,
and integers past the bounds of :mod:`harness.limits` (a seed no framework accepts, say)."""

from __future__ import annotations

import math
from typing import Any

import click as plain_click


class FiniteFloat(plain_click.FloatRange):
    """A float range that also refuses ``nan`` and ``inf`` (which compare false with any bound)."""

    name = "finite float"

    def convert(self, value: Any, param: plain_click.Parameter | None, ctx: plain_click.Context | None) -> Any:
        number = plain_click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give an ordinary number.", param, ctx)
        return super().convert(number, param, ctx)


def bounded_int(low: int, high: int) -> plain_click.IntRange:
    """Integers from ``low`` to ``high`` inclusive."""
    return plain_click.IntRange(min=low, max=high)


class Duration(plain_click.ParamType):
    """A duration such as ``2h``, ``90m`` or ``300s`` (a bare number is seconds), as seconds."""

    name = "duration"

    def convert(self, value: Any, param: plain_click.Parameter | None, ctx: plain_click.Context | None) -> Any:
        from harness.findings.auto import parse_budget

        if isinstance(value, float):
            return value
        try:
            return parse_budget(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
