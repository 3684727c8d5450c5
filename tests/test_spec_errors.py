"""Invalid specs: each error names the file, the line (and column) and says what to fix.

Most cases change one piece of the valid spec ``BASE``; its line numbers are:

     1 name: t
     2 title: a test spec
     3 source: tests
     4 classes: 10
     5 input: [28, 28, 1]
     6 backbone:
     7   - {type: conv, filters: 6, kernel: 5}
     8   - {type: max_pool, pool: 2}
     9 head:
    10   type: flatten
    11 train:
    12   optimizer: {name: adam, lr: 0.001}
    13   batch_size: 64
    14 dataset:
    15   name: mnist
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.spec import SpecError, SpecErrors, load_networks

BASE = """\
name: t
title: a test spec
source: tests
classes: 10
input: [28, 28, 1]
backbone:
  - {type: conv, filters: 6, kernel: 5}
  - {type: max_pool, pool: 2}
head:
  type: flatten
train:
  optimizer: {name: adam, lr: 0.001}
  batch_size: 64
dataset:
  name: mnist
"""

VARIANTS = BASE + """\
variants:
  small:
    train: {batch_size: 32}
  wide:
    head:
      type: global_avg
      hidden: [{units: 64}]
"""


FINDING = """\
expect:
  findings:
    - claim: it is more accurate
      metric: test_accuracy
      direction: higher
      source: a paper
      {extra}
"""
"""A findings block appended to BASE (from line 16, its item at 18, ``extra`` at 22) or to VARIANTS
(from line 23, its item at 25, ``extra`` at 29)."""


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its single occurrence of ``old`` replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    line: int
    column: int | None
    says: tuple[str, ...]
    """Fragments the message must hold: what is wrong and how to fix it."""


CASES = [
    # ---------------------------------------------------------------- unknown names
    Case("unknown layer key", edit("filters: 6", "filtres: 6"), 7, 18,
         ("unknown key 'filtres'", "Did you mean 'filters'?")),
    Case("unknown top-level key", edit("classes: 10", "clases: 10"), 4, 1,
         ("unknown key 'clases'", "Did you mean 'classes'?")),
    Case("unknown layer type", edit("type: max_pool", "type: maxpool"), 8, 6,
         ("unknown layer type 'maxpool'", "Did you mean 'max_pool'?")),
    Case("unknown head type", edit("type: flatten", "type: global_average"), 10, 3,
         ("unknown head type 'global_average'", "Did you mean 'global_avg'?")),
    Case("misspelt optimizer", edit("name: adam", "name: adamw"), 12, 15,
         ("unknown optimizer 'adamw'", "Did you mean 'adam'?")),
    Case("misspelt activation", edit("kernel: 5}", "kernel: 5, activation: relu7}"), 7, 41,
         ("'activation' cannot be 'relu7'", "Did you mean 'relu'?")),
    Case("unknown data set", edit("name: mnist", "name: mnits"), 15, 3,
         ("'name' cannot be 'mnits'", "Did you mean 'mnist'?")),
    Case("layer without a type", edit("{type: conv, filters", "{filters"), 7, 5,
         ("has no 'type' key", "add 'type:' with one of 'conv'")),
    Case("layer written as a word", edit("  - {type: max_pool, pool: 2}", "  - max_pool"), 8, 5,
         ("item 1 of 'backbone' must be a layer", "write each layer as a mapping")),
    Case("unknown key in expect", BASE + "expect:\n  params: {totl: 5}\n", 17, 12,
         ("unknown key 'totl'", "Did you mean 'total'?")),
    # ---------------------------------------------------------------- wrong types and values
    Case("wrong type", edit("filters: 6", "filters: six"), 7, 18,
         ("'filters' must be an integer, not 'six'", "change 'filters' to an integer")),
    Case("not a boolean", edit("kernel: 5}", "kernel: 5, use_bias: maybe}"), 7, 41,
         ("'use_bias' must be true or false",)),
    Case("negative size", edit("filters: 6", "filters: -6"), 7, 18,
         ("'filters' is -6, but it must be > 0", "give 'filters' a value > 0")),
    Case("zero kernel", edit("kernel: 5", "kernel: 0"), 7, 30,
         ("'kernel' has an invalid value 0", "a positive integer or [height, width]")),
    Case("zero input size", edit("[28, 28, 1]", "[0, 28, 1]"), 5, 9,
         ("must be > 0",)),
    Case("zero batch size", edit("batch_size: 64", "batch_size: 0"), 13, 3,
         ("'batch_size' is 0, but it must be > 0",)),
    Case("negative learning rate", edit("lr: 0.001", "lr: -0.1"), 12, 27,
         ("'lr' is -0.1, but it must be > 0",)),
    Case("one class", edit("classes: 10", "classes: 1"), 4, 1,
         ("'classes' is 1, but it must be >= 2",)),
    Case("repeat zero times", edit("  - {type: max_pool, pool: 2}", "  - {type: repeat, times: 0, layers: [{type: dropout, rate: 0.1}]}"), 8, 20,
         ("'times' is 0, but it must be > 0",)),
    Case("batch norm momentum out of range", edit("  - {type: max_pool, pool: 2}", "  - {type: batch_norm, momentum: 1.5}"), 8, 24,
         ("'momentum' is 1.5, but it must be < 1.0",)),
    Case("dropout rate of one", edit("  - {type: max_pool, pool: 2}", "  - {type: dropout, rate: 1}"), 8, 21,
         ("'rate' is 1, but it must be < 1.0",)),
    Case("bad padding word", edit("kernel: 5}", "kernel: 5, padding: full}"), 7, 41,
         ("'padding' has an invalid value 'full'", "'valid', 'same', a number of pixels")),
    Case("misspelt padding", edit("kernel: 5}", "kernel: 5, padding: samee}"), 7, 41,
         ("Did you mean 'same'?",)),
    Case("padding with two sides", edit("kernel: 5}", "kernel: 5, padding: [1, 2]}"), 7, 41,
         ("'padding' has an invalid value [1, 2]", "[top, bottom, left, right]")),
    Case("input with two sizes", edit("[28, 28, 1]", "[28, 28]"), 5, 1,
         ("'input' has 2 item(s)", "[height, width, channels]")),
    Case("only the height unknown", edit("[28, 28, 1]", "[null, 28, 1]"), 5, 1,
         ("one unknown and one known size ([null, 28, 1])", "both null for a size-agnostic network")),
    Case("missing required key", edit("title: a test spec\n", ""), 1, 1,
         ("the required key 'title' is missing", "add 'title:'")),
    Case("user data set without a path", edit("name: mnist", "name: idx"), 14, 1,
         ("needs a 'path'", "add 'path:' with the directory of IDX files")),
    Case("expect without figures", BASE + "expect:\n  params: {}\n", 17, 3,
         ("no figure is given", "give at least one of total, trainable, non_trainable")),
    # ---------------------------------------------------------------- impossible networks
    Case("feature map shrinks to nothing",
         edit("  - {type: max_pool, pool: 2}", "  - {type: repeat, times: 5, layers: [{type: max_pool, pool: 2}]}"), 8, 39,
         ("on input 1x1x6", "larger than the input's 1-pixel height", "use padding: same")),
    Case("pool larger than its input", edit("pool: 2", "pool: 30"), 8, 5,
         ("max_pool", "30-pixel window is larger than the input's 24-pixel height with padding: valid",
          "a smaller kernel or pool")),
    Case("kernel larger than its input", edit("kernel: 5", "kernel: [5, 29]"), 7, 5,
         ("29-pixel window is larger than the input's 28-pixel width", "use padding: same")),
    Case("flatten head on a size-agnostic input", edit("[28, 28, 1]", "[null, null, 1]"), 9, 1,
         ("flatten needs a known height and width", "global_avg, global_max, fcn")),
    Case("flatten layer on a size-agnostic input",
         edit("[28, 28, 1]", "[null, null, 1]", edit("  - {type: max_pool, pool: 2}", "  - {type: flatten}")), 8, 5,
         ("flatten needs a known height and width", "give the input a fixed size")),
    Case("dense on a size-agnostic feature map",
         edit("[28, 28, 1]", "[null, null, 1]", edit("  - {type: max_pool, pool: 2}", "  - {type: dense, units: 8}")), 8, 5,
         ("dense needs a flat vector but gets a ?x?x6 feature map", "add a 'flatten' or a global pooling layer")),
    Case("full-map conv head on a size-agnostic input",
         edit("[28, 28, 1]", "[null, null, 1]", edit("  type: flatten", "  type: conv\n  filters: 16")), 9, 1,
         ("conv head's kernel must cover the whole feature map", "use head type fcn, global_avg or global_max")),
    Case("conv head after a global pool",
         edit("  - {type: max_pool, pool: 2}", "  - {type: global_avg_pool}", edit("  type: flatten", "  type: conv\n  filters: 16")), 9, 1,
         ("a conv head needs a feature map", "remove the flatten or global pooling")),
    Case("dense on a feature map", edit("  - {type: max_pool, pool: 2}", "  - {type: dense, units: 8}"), 8, 5,
         ("dense needs a flat vector but gets a 24x24x6 feature map", "add a 'flatten'")),
    Case("residual that changes the shape",
         edit("  - {type: max_pool, pool: 2}", "  - type: residual\n    layers:\n      - {type: conv, filters: 8, kernel: 3, padding: same}"), 8, 5,
         ("residual block must keep its input shape", "turns 24x24x6 into 24x24x8", "restore the input's channels")),
    Case("head none on a feature map", edit("type: flatten", "type: none"), 8, 5,
         ("must end in a flat vector of classes=10 logits, but it ends in 12x12x6", "use a head type")),
    Case("head none with the wrong number of outputs",
         edit("head:\n  type: flatten", "head:\n  type: none",
              edit("  - {type: max_pool, pool: 2}", "  - {type: flatten}\n  - {type: dense, units: 5}")), 9, 5,
         ("classes=10 logits, but it ends in 5", "of 10 units")),
    # ---------------------------------------------------------------- the file itself
    Case("empty file", "", 1, 1, ("the file is empty", "write a spec: at least name")),
    Case("only a comment", "# nothing yet\n", 1, 1, ("the file is empty",)),
    Case("a list instead of a mapping", "- name: t\n", 1, 1, ("must be a mapping of keys, not a list",)),
    Case("YAML syntax error", edit("kernel: 5}", "kernel: 5"), 7, 5,
         ("YAML syntax error", "the '{' mapping that starts here is never closed", "line 8, column 5", "a missing ']', '}'")),
    Case("tab indentation", edit("  name: mnist", "\tname: mnist"), 15, 1,
         ("YAML syntax error", "replace the tabs")),
    Case("duplicate key", edit("classes: 10", "classes: 10\nclasses: 12"), 5, 1,
         ("the key 'classes' appears twice", "keep one of the two")),
    # ---------------------------------------------------------------- variants
    Case("error inside a variant", edit("units", "unitz", VARIANTS), 22, 17,
         ("variant 'wide'", "unknown key 'unitz'", "Did you mean 'units'?")),
    Case("unknown top-level key in a variant", edit("train: {batch_size: 32}", "trian: {batch_size: 32}", VARIANTS), 18, 5,
         ("unknown key 'trian' in variant 'small'", "Did you mean 'train'?")),
    Case("variant overriding the name", edit("train: {batch_size: 32}", "name: other", VARIANTS), 18, 5,
         ("a variant cannot override 'name'",)),
    Case("impossible network in one variant", edit("train: {batch_size: 32}", "backbone: [{type: conv, filters: 4, kernel: 40}]", VARIANTS),
         18, 16, ("variant 'small'", "40-pixel window is larger than the input's 28-pixel height")),
    Case("variant value error", edit("train: {batch_size: 32}", "train: {batch_size: -1}", VARIANTS), 18, 13,
         ("variant 'small'", "'batch_size' is -1, but it must be > 0")),
    Case("finding naming a missing variant",
         VARIANTS + FINDING.format(extra="network: small\n      versus: wdie"), 30, 7,
         ("'versus' names 'wdie', which is not a variant of this file", "'small', 'wide'")),
    Case("finding naming no variant in a file with variants", VARIANTS + FINDING.format(extra="versus: small"), 25, 7,
         ("names no 'network', but the file has variants", "add 'network:' with one of its variants: 'small', 'wide'")),
    Case("finding on a metric that is not measured", BASE + FINDING.format(extra="versus: other").replace(
         "metric: test_accuracy", "metric: top5_accuracy"), 19, 7,
         ("'metric' cannot be 'top5_accuracy'", "'test_accuracy', 'step_time', 'latency', 'params', 'macs'")),
    Case("finding with a misspelt key", BASE + FINDING.format(extra="versus: other\n      margn: 0.01"), 23, 7,
         ("unknown key 'margn'", "Did you mean 'margin'?")),
    Case("same finding without a margin", BASE + FINDING.format(extra="versus: other").replace("higher", "same"), 18, 7,
         ("needs the 'margin'", "margin: 0.005")),
    Case("finding with both versus and value", BASE + FINDING.format(extra="versus: other\n      value: 0.5"), 18, 7,
         ("exactly one of 'versus'", "'value: <number>'")),
    Case("invalid variant name", edit("  small:", "  2small:", VARIANTS), 17, 3,
         ("'2small' is not a valid name", "starting with a letter")),
    Case("variants not a mapping", BASE + "variants: [a, b]\n", 16, 1,
         ("'variants' must be a non-empty mapping",)),
]


def errors_of(path: Path) -> list[SpecError]:
    try:
        load_networks(path)
    except SpecErrors as exc:
        return exc.errors
    except SpecError as exc:
        return [exc]
    pytest.fail(f"{path} loaded without an error")


def test_the_base_spec_is_valid(tmp_path: Path) -> None:
    for text in (BASE, VARIANTS):
        path = tmp_path / "valid.yaml"
        path.write_text(text)
        assert load_networks(path)


def test_there_are_at_least_25_distinct_cases() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 25
    assert len({case.text for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_error_names_file_line_and_fix(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "bad_spec.yaml"
    path.write_text(case.text)
    errors = errors_of(path)
    assert len(errors) == 1, "\n".join(e.message for e in errors)
    error = errors[0]
    assert error.path == path
    assert (error.line, error.column) == (case.line, case.column), error.message
    message = error.message
    assert message.startswith(f"{path}:{case.line}:")
    assert " Fix: " in message and error.fix
    for fragment in case.says:
        assert fragment in message, message


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(edit("filters: 6", "filters: -1", edit("batch_size: 64", "batch_size: big")))
    lines = sorted(error.line for error in errors_of(path))
    assert lines == [7, 13]


# ---------------------------------------------------------------- through the command line

CLI_CASES = [case for case in CASES if case.id in (
    "unknown layer key", "empty file", "YAML syntax error", "duplicate key", "residual that changes the shape",
    "error inside a variant", "flatten head on a size-agnostic input",
)]


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_check_reports_errors_without_a_traceback(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "bad_spec.yaml"
    path.write_text(case.text)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{path}:{case.line}:" in result.output
    assert "Fix:" in result.output


def test_expect_mismatch_is_a_located_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + "expect:\n  params: {total: 123, non_trainable: 0}\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{path}:17:12: error at expect.params.total" in result.output
    assert "published total count is 123, but the network as written has 8,806 (+8,683)" in result.output
    assert "MISMATCH" in result.output and "non_trainable: published 0, oracle 0  ok" in result.output


def test_expect_mismatch_in_a_variant_points_at_the_variant(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    text = edit("train: {batch_size: 32}", "expect: {params: {total: 1}}", VARIANTS)
    path.write_text(text)
    result = CliRunner().invoke(main, ["check", "--json", str(path)])
    assert result.exit_code == 1
    assert f"{path}:18:23: error at variant 'small', expect.params.total" in result.output


def test_subprocess_prints_one_paragraph_per_error_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(edit("type: max_pool", "type: maxpool"))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    run = subprocess.run(
        [sys.executable, "-c", "from harness.cli import main; main()", "check", str(bad), str(empty)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    paragraphs = [p for p in run.stderr.split("\n\n") if p.strip()]
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith(f"{bad}:8:6: error at backbone[1]: unknown layer type 'maxpool'.")
    assert paragraphs[1].startswith(f"{empty}:1:1: error: the file is empty.")
