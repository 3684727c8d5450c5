"""Hostile and careless specs: bombs, absurd numbers, loose types and misplaced messages.

Every case goes through `harness check` as a user would run it and must end in exit 1 with a
message that names the file and the line (and, for a bound, the limit and how to raise it), never
a traceback and never silent acceptance. The valid base spec is ``hostile_support.VALID_SPEC``:

     1 name: t                       7   - {type: conv, filters: 6, kernel: 5}
     4 classes: 10                   8   - {type: max_pool, pool: 2}
     5 input: [28, 28, 1]           12   optimizer: {name: adam, lr: 0.001}
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_support import VALID_SPEC, assert_clean_failure, edit, invoke

from harness import limits


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    line: int
    says: tuple[str, ...]


def laughs(levels: int = 6) -> str:
    """A "billion laughs" spec: each level is ten aliases of the one before."""
    lines = ["name: t", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


REPEAT = "  - {type: repeat, times: %s, layers: [{type: dropout, rate: 0.1}]}"
NESTED_REPEAT = "  - {type: repeat, times: 1000, layers: [{type: repeat, times: 1000, layers: [{type: dropout, rate: 0.1}]}]}"

BOMBS = [
    Case("alias bomb", laughs(), 6, ("expands, through its aliases", "HARNESS_MAX_SPEC_NODES")),
    Case("repeat of a billion", edit("  - {type: max_pool, pool: 2}", REPEAT % 10**9), 8,
         (f"must be <= {limits.MAX_REPEATS}",)),
    Case("repeat past the layer limit", edit("  - {type: max_pool, pool: 2}", REPEAT % 100_000), 8,
         ("more than 10,000 layers", "HARNESS_MAX_LAYERS")),
    Case("nested repeats", edit("  - {type: max_pool, pool: 2}", NESTED_REPEAT), 8, ("HARNESS_MAX_LAYERS",)),
    Case("5000 nested brackets", "name: t\nbackbone: " + "[" * 5000 + "]" * 5000 + "\n", 2, ("HARNESS_MAX_SPEC_DEPTH",)),
    Case("deep indentation", "".join(" " * level + f"k{level}:\n" for level in range(200)), limits.SPEC_DEPTH.default + 1,
         ("HARNESS_MAX_SPEC_DEPTH",)),
    Case("300 variants", VALID_SPEC + "variants:\n" + "".join(f"  v{i}: {{}}\n" for i in range(300)), 18,
         ("300 variants", "HARNESS_MAX_VARIANTS")),
    Case("5000-digit number", edit("filters: 6", "filters: " + "7" * 5000), 7, ("5000 characters",)),
]

ABSURD = [
    Case("10**12 filters", edit("filters: 6", f"filters: {10**12}"), 7, (f"must be <= {limits.MAX_WIDTH}",)),
    Case("400-digit filters", edit("filters: 6", "filters: " + "9" * 400), 7,
         ("error at backbone[0].filters: the number has 400 characters", "'filters' takes an integer from 1 to 65,536",
          "Fix: give 'filters' an integer from 1 to 65,536.")),
    Case("a date as the seed", edit("  batch_size: 64", "  batch_size: 64\n  seed: 2024-01-01"), 14,
         ("error at train.seed: YAML reads '2024-01-01' as a date", "'seed' takes an integer from 0 to 2,147,483,647",
          "Fix: give 'seed' an integer from 0 to 2,147,483,647.")),
    Case("a 50-digit repeat count", edit("  - {type: max_pool, pool: 2}", "  - {type: repeat, times: " + "7" * 50 +
                                        ", layers: [{type: max_pool, pool: 2}]}"), 8,
         ("error at backbone[1].times", f"'times' takes an integer from 1 to {limits.MAX_REPEATS:,}")),
    Case("infinite learning rate", edit("lr: 0.001", "lr: .inf"), 12, ("'lr' must be a finite number",)),
    Case("infinite epsilon", edit("lr: 0.001", "lr: 0.001, epsilon: .inf"), 12, ("'epsilon' must be a finite number",)),
    Case("NaN dropout", edit("  - {type: max_pool, pool: 2}", "  - {type: dropout, rate: .nan}"), 8, ("finite number",)),
    Case("filters: true", edit("filters: 6", "filters: true"), 7, ("'filters' must be an integer, not True",)),
    Case("filters as a string", edit("filters: 6", 'filters: "5"'), 7, ("'filters' must be an integer, not '5'",)),
    Case("filters as a float", edit("filters: 6", "filters: 6.0"), 7, ("'filters' must be an integer, not 6.0",)),
    Case("use_bias: 1", edit("kernel: 5}", "kernel: 5, use_bias: 1}"), 7, ("'use_bias' must be true or false",)),
    Case("lr as a string", edit("lr: 0.001", "lr: '0.1'"), 12, ("'lr' must be a number, not '0.1'",)),
    Case("seed of 2**70", edit("  batch_size: 64", f"  batch_size: 64\n  seed: {2**70}"), 14, (f"<= {limits.MAX_SEED}",)),
    Case("a trillion synthetic images", edit("train_size: 64", f"train_size: {10**15}"), 16, (f"<= {limits.MAX_IMAGES}",)),
    Case("huge input", edit("[28, 28, 1]", "[100000, 100000, 1]"), 5, (f"<= {limits.MAX_SIDE}",)),
    Case("250-character name", edit("name: t", "name: " + "n" * 250), 1, ("250 characters long", "at most 64")),
    Case("250-character variant name", VALID_SPEC + "variants:\n  " + "v" * 250 + ": {train: {batch_size: 32}}\n", 19,
         ("250 characters long",)),
]

MISPLACED = [
    Case("null key", VALID_SPEC + "null: 3\n", 18, ("the key 'null' is null", "every key of a spec is a name")),
    Case("boolean key", edit("classes: 10", "classes: 10\ntrue: 3"), 5, ("is true or false",)),
    Case("complex key", VALID_SPEC + "? [a, b]\n: 3\n", 18, ("is a list or mapping",)),
    Case("variant named 1", VALID_SPEC + "variants:\n  small: {train: {batch_size: 32}}\n  1: {train: {batch_size: 16}}\n", 20,
         ("the key '1' is a number",)),
    Case("NUL byte", edit("title: a test spec", "title: a test\x00spec"), 2, ("U+0000",)),
    Case("recursive alias", edit("backbone:\n", "backbone: &b\n  - {type: repeat, times: 2, layers: *b}\n"), 7,
         ("recursive alias",)),
    Case("unclosed bracket", edit("  - {type: max_pool, pool: 2}\n", "  - [3, 3\n") .replace("head:", "  # x\nhead:"), 8,
         ("never closed", "line 10")),
    Case("hidden: big", edit("  type: flatten", "  type: flatten\n  hidden: big"), 11, ("a list of layer widths", "[120, 84]")),
    Case("learning_rate", edit("lr: 0.001", "learning_rate: 0.001"), 12, ("unknown key 'learning_rate'", "Did you mean 'lr'?")),
    Case("num_classes", edit("classes: 10", "num_classes: 10"), 4, ("Did you mean 'classes'?",)),
    Case("kernel_size", edit("kernel: 5", "kernel_size: 5"), 7, ("Did you mean 'kernel'?",)),
    Case("misspelt key brought in by a merge", edit("train:\n", "defaults: &d {batch_sz: 32}\ntrain:\n  <<: *d\n"), 11,
         ("unknown key 'batch_sz'", "Did you mean 'batch_size'?")),
    Case("python tag", edit("title: a test spec", "title: !!python/object:os.system ls"), 2, ("the tag !!python/object",)),
    Case("binary tag", edit("title: a test spec", "title: !!binary aGVsbG8="), 2, ("error at title: the tag !!binary",)),
    Case("custom tag", edit("filters: 6", "filters: !big 6"), 7, ("the tag !big",)),
    Case("a date", edit("title: a test spec", "title: 2001-12-14"), 2, ("error at title: YAML reads", "as a date",
                                                                         "'title' takes text", "quote it")),
    Case("channels past the bound", edit("  - {type: max_pool, pool: 2}",
                                         "  - {type: depthwise_conv, kernel: 3, depth_multiplier: 65536}"), 8,
         ("393,216 channels, more than the 65,536",)),
    Case("size-agnostic kernel larger than a declared size",
         edit("[28, 28, 1]", "[null, null, 1]", edit("type: flatten", "type: global_avg", edit(
             "  test_size: 32", "  test_size: 32\n  sizes: [[28, 28], [3, 3]]"))), 7,
         ("at the image size 3x3 (dataset.sizes[1])", "larger than the input")),
]


@pytest.mark.parametrize("case", BOMBS + ABSURD + MISPLACED, ids=[c.id for c in BOMBS + ABSURD + MISPLACED])
def test_a_bad_spec_fails_cleanly_at_its_line(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(case.text, encoding="utf-8")
    start = time.perf_counter()
    result = invoke("check", str(path))
    assert time.perf_counter() - start < 30, "a small file must not cost minutes"
    output = assert_clean_failure(result, 1, *case.says)
    assert f"{path}:{case.line}:" in output, output


def test_every_case_is_distinct() -> None:
    cases = BOMBS + ABSURD + MISPLACED
    assert len({c.id for c in cases}) == len({c.text for c in cases}) == len(cases)


def test_the_base_spec_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(VALID_SPEC)
    result = invoke("check", str(path))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("size", [limits.SPEC_BYTES.default + 1, 50 * 1024 * 1024])
def test_an_oversized_spec_is_refused_unparsed(tmp_path: Path, size: int) -> None:
    path = tmp_path / "big.yaml"
    line = "# padding\n"
    path.write_text(VALID_SPEC + line * ((size - len(VALID_SPEC)) // len(line) + 1))
    start = time.perf_counter()
    assert_clean_failure(invoke("check", str(path)), 1, f"{path}: error", "HARNESS_MAX_SPEC_BYTES")
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("kind", ["device", "pipe"])
def test_a_file_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    path = Path("/dev/zero") if kind == "device" else tmp_path / "pipe.yaml"
    if kind == "pipe":
        os.mkfifo(path)
    start = time.perf_counter()
    assert_clean_failure(invoke("check", str(path)), 1, f"{path}: error", "not a regular file")
    assert time.perf_counter() - start < 10


def test_a_limit_can_be_raised_through_its_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "repeat.yaml"
    path.write_text(edit("  - {type: max_pool, pool: 2}", REPEAT % 20_000))
    assert_clean_failure(invoke("check", str(path)), 1, "HARNESS_MAX_LAYERS")
    monkeypatch.setenv("HARNESS_MAX_LAYERS", "30000")
    result = invoke("check", str(path), "--json")
    assert result.exit_code == 0, result.output[-2000:]
