"""Fuzzing every command that reads user files: mutated specs through `harness check` and `harness
run --dry-run`, mutated results files through `harness report` and `harness compare`.

Whatever the mutation, a command must succeed or stop with a clear error (an exit code it
documents, a message, no traceback), within a time bound (hypothesis' deadline per example) and a
memory bound (the process's peak resident memory may not grow by more than ``MEMORY_BOUND``).
"""

from __future__ import annotations

import copy
import json
import math
import resource
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hostile_support import VALID_SPEC, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_support import sample_run

MEMORY_BOUND_MB = 768
FUZZ = settings(max_examples=25, deadline=timedelta(seconds=30), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HOSTILE_SCALARS = [
    "true", "false", "null", "~", ".inf", "-.inf", ".nan", "-1", "0", "1e400", "9" * 60, "65537", "2147483648",
    "'5'", "6.0", "[]", "{}", "[1, 2, 3, 4, 5]", "*missing", "&a [*a]", "[[[[", "}", "'unterminated", "\x00",
    "\t", "learning_rate", "../../etc/passwd", "x" * 300, "!!python/object:os.system ls", "? [a]", "- - -",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@st.composite
def mutated_spec(draw: st.DrawFn) -> str:
    """The valid spec with a few lines replaced, inserted, deleted or spliced with hostile text."""
    lines = VALID_SPEC.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "insert", "delete", "splice", "duplicate"]))
        line = lines[index]
        if action == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[index] = f"{key}: {draw(st.sampled_from(HOSTILE_SCALARS))}"
        elif action == "insert":
            indent = " " * draw(st.sampled_from([0, 2, 4]))
            key = draw(st.sampled_from(["variants", "learning_rate", "hidden", "sizes", "x", "1", "null", "times"]))
            lines.insert(index, f"{indent}{key}: {draw(st.sampled_from(HOSTILE_SCALARS))}")
        elif action == "delete" and len(lines) > 1:
            del lines[index]
        elif action == "splice":
            position = draw(st.integers(0, len(line)))
            lines[index] = line[:position] + draw(st.text(max_size=12)) + line[position:]
        else:
            lines.insert(index, line)
    return "\n".join(lines) + "\n"


def assert_clear(result: Any, allowed: tuple[int, ...]) -> None:
    assert result.exit_code in allowed, f"exit {result.exit_code}:\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    if result.exit_code:
        assert "error" in result.output.lower(), result.output


@pytest.mark.usefixtures("fake_plugin")
@FUZZ
@given(text=mutated_spec())
def test_a_mutated_spec_never_crashes_check_or_a_dry_run(tmp_path: Path, text: str) -> None:
    before = peak_rss_mb()
    path = tmp_path / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    assert_clear(invoke("check", str(path)), (0, 1))
    assert_clear(invoke("run", str(path), "--framework", "fake", "--dry-run", "--out", str(tmp_path / "out")), (0, 2, 3))
    assert not (tmp_path / "out").exists()
    assert peak_rss_mb() - before < MEMORY_BOUND_MB


def json_paths(value: Any, prefix: tuple[Any, ...] = (), limit: int = 400) -> list[tuple[Any, ...]]:
    """Paths to the values inside ``value`` (lists cut to their first two items)."""
    paths = [prefix]
    children = value.items() if isinstance(value, dict) else enumerate(value[:2]) if isinstance(value, list) else ()
    for key, child in children:
        if len(paths) >= limit:
            break
        paths += json_paths(child, prefix + (key,), limit - len(paths))
    return paths


VALID_RUN = sample_run(epochs=2, samples=12).model_dump(mode="json")
PATHS = json_paths(VALID_RUN)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True),
              st.sampled_from(["", "/../../x", "a" * 500, "ok", "diverged", "\x00", "1"]), st.text(max_size=8)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_run(draw: st.DrawFn) -> Any:
    """The valid run with a few values replaced by arbitrary JSON, or removed."""
    run = copy.deepcopy(VALID_RUN)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        if not path:
            return draw(json_values)
        node = run
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()) and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return run


@FUZZ
@given(run=mutated_run())
def test_a_mutated_results_file_never_crashes_report_or_compare(tmp_path: Path, run: Any) -> None:
    before = peak_rss_mb()
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    results = folder / "results.json"
    results.write_text(json.dumps(run, allow_nan=True), encoding="utf-8")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(VALID_RUN))
    out = tmp_path / "report"
    report = invoke("report", str(results), "--out", str(out))
    assert_clear(report, (0, 2))
    if out.exists():
        assert all(path.parent == out for path in out.rglob("*")), "a report file outside its folder"
    assert_clear(invoke("compare", str(good), str(results)), (0, 1, 2))
    assert_clear(invoke("compare", str(results), str(good)), (0, 1, 2))
    assert peak_rss_mb() - before < MEMORY_BOUND_MB


def test_the_fuzzers_start_from_valid_inputs(tmp_path: Path) -> None:
    path = tmp_path / "valid.yaml"
    path.write_text(VALID_SPEC)
    assert invoke("check", str(path)).exit_code == 0
    results = tmp_path / "results.json"
    results.write_text(json.dumps(VALID_RUN))
    assert invoke("report", str(results)).exit_code == 0
    assert math.isfinite(len(PATHS)) and len(PATHS) > 50
