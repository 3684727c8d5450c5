"""The rounding rule of the reports: what the noise supports, written the same way every time."""

from __future__ import annotations

import math

import pytest

from harness.report import format as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (6.1034, "6.10"),
        (15.77, "15.8"),
        (1234.5, "1,230"),
        (10_512.0, "10,500"),
        (0.041234, "0.0412"),
        (9.996, "10.0"),
        (999.6, "1,000"),
        (0.0, "0"),
        (-2.345, "-2.35"),
        (None, fmt.MISSING),
        (math.nan, "nan"),
        (math.inf, "inf"),
    ],
)
def test_significant_keeps_three_figures(value: float | None, text: str) -> None:
    assert fmt.significant(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.98374, "0.9837"), (0.1, "0.1000"), (1.0, "1.0000"), (None, fmt.MISSING)])
def test_accuracy_has_four_decimals(value: float | None, text: str) -> None:
    assert fmt.accuracy(value) == text


def test_counts_are_exact_and_settings_keep_full_precision() -> None:
    assert fmt.count(11_574_090) == "11,574,090"
    assert fmt.count(None) == "?"
    assert fmt.plain(1e-07) == "1e-07"
    assert fmt.plain(0.1 + 0.2) == "0.30000000000000004"
    assert fmt.plain([3, 3]) == "[3, 3]"
    assert fmt.plain(True) == "true"
    assert fmt.ratio(1.3) == "1.30x"
    assert fmt.ratio(0.00185) == "0.0019x" and fmt.ratio(0.092) == "0.092x"


def test_wrapped_prose_never_starts_a_list_or_heading() -> None:
    from harness.report.markdown import WRAP, wrap

    for marker, escaped in (("- x", "\\- x"), ("12. x", "12\\. x"), ("# x", "\\# x"), ("+ x", "\\+ x")):
        lines = wrap("b" * 99 + " " + marker).splitlines()
        assert lines[1] == escaped and all(len(line) <= WRAP for line in lines)
