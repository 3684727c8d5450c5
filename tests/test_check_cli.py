"""`harness check`: exit codes, the layer table, and the --json form."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
LENET_STRIDE2 = ROOT / "specs" / "lenet_stride2.yaml"


def check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.skipif(shutil.which("harness") is None, reason="the harness console script is not installed")
def test_console_script_checks_every_shipped_spec() -> None:
    run = subprocess.run(["harness", "check", *map(str, SPECS)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "MISMATCH" not in run.stdout
    assert run.stdout.count("  ok") >= 20


def test_table_lists_layers_totals_and_expect() -> None:
    code, output = check(str(LENET_STRIDE2))
    assert code == 0
    for row in ("conv_1", "conv_4", "head_flatten_1", "logits", "5x5x16", "48,120", "66,346"):
        assert row in output
    assert "expect params.total: published 66,346, oracle 66,346  ok" in output


def test_table_is_not_squeezed_when_piped() -> None:
    code, output = check(str(ROOT / "specs" / "mobilenetv2_heads.yaml"))
    assert code == 0
    assert "…" not in output
    assert "300,121,472" in output                     # the Flatten variant's MACs, in full
    assert "expect backbone.total: published 2,257,984, oracle 2,257,984  ok" in output


def test_json_has_one_object_per_network_with_the_documented_keys() -> None:
    code, output = check("--json", str(LENET_STRIDE2), str(ROOT / "specs" / "mnist_heads.yaml"))
    assert code == 0
    results = json.loads(output)
    assert [(r["name"], r["variant"]) for r in results] == [
        ("lenet_stride2", None), ("mnist_heads", "dense"), ("mnist_heads", "fcn"), ("mnist_heads", "size_agnostic"),
    ]
    lenet = results[0]
    assert {"name", "variant", "layers", "params", "macs", "expect_ok"} <= set(lenet)
    assert lenet["params"] == {"trainable": 66_346, "non_trainable": 0, "total": 66_346}
    assert lenet["macs"] == sum(layer["macs"] for layer in lenet["layers"])
    assert lenet["layers"][0] == {
        "name": "conv_1", "type": "conv", "output_shape": [28, 28, 6], "trainable": 156,
        "non_trainable": 0, "total": 156, "macs": 28 * 28 * 6 * 25, "depth": 0,
    }
    assert lenet["expect"] == [{"scope": "params", "field": "total", "expected": 66_346, "actual": 66_346, "ok": True}]


def test_json_output_is_only_json_even_with_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\n")
    run = subprocess.run(
        [sys.executable, "-c", "from harness.cli import main; main()", "check", "--json", str(LENET_STRIDE2), str(bad)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert run.returncode == 1
    assert [r["name"] for r in json.loads(run.stdout)] == ["lenet_stride2"]
    assert f"{bad}:1:1: error" in run.stderr


def test_mismatch_exits_1_and_json_says_which(tmp_path: Path) -> None:
    spec = tmp_path / "wrong.yaml"
    spec.write_text(LENET_STRIDE2.read_text().replace("total: 66346", "total: 66345"))
    invocation = CliRunner().invoke(main, ["check", "--json", str(spec)])
    assert invocation.exit_code == 1
    assert f"{spec}:" in invocation.stderr
    (result,) = json.loads(invocation.stdout)
    assert result["expect_ok"] is False
    assert result["expect"][0] == {"scope": "params", "field": "total", "expected": 66_345, "actual": 66_346, "ok": False}


def test_one_bad_file_does_not_hide_the_good_ones(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("")
    code, output = check(str(bad), str(LENET_STRIDE2))
    assert code == 1
    assert "the file is empty" in output
    assert "expect params.total: published 66,346, oracle 66,346  ok" in output


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    code, output = check(str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "the file does not exist" in output and "Traceback" not in output


def test_no_spec_is_a_usage_error() -> None:
    code, output = check()
    assert code == 2
    assert "SPECS" in output


def test_a_finding_that_names_a_missing_variant_fails_the_check_with_file_line_and_fix(tmp_path: Path) -> None:
    text = (ROOT / "specs" / "mnist_heads.yaml").read_text(encoding="utf-8")
    assert text.count("versus: fcn") == 2
    spec = tmp_path / "mnist_heads.yaml"
    spec.write_text(text.replace("versus: fcn", "versus: fnc", 1), encoding="utf-8")
    line = text.splitlines().index("      versus: fcn") + 1
    code, output = check(str(spec))
    assert code == 1
    assert f"{spec}:{line}:7" in output
    assert "'versus' names 'fnc', which is not a variant of this file" in output
    assert "name one of its variants ('dense', 'fcn', 'size_agnostic')" in output


def test_json_records_each_networks_findings_for_the_report() -> None:
    code, output = check("--json", str(LENET_STRIDE2))
    assert code == 0
    findings = json.loads(output)[0]["findings"]
    assert findings[0]["metric"] == "test_accuracy" and findings[0]["versus"] == "lenet"
    assert findings[0]["published"] == 0.0027
