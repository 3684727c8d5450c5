"""The shipped specs: every reference experiment is there, with its published counts, checked fast
and without importing any framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.findings.claims import claims_from
from harness.neutral.oracle import analyse
from harness.spec import load_network, load_networks
from harness.testing.specs import architecture_twin

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
FRAMEWORKS = ("tensorflow", "keras", "torch", "paddle")

# Every parameter count published in ../shared/reference-experiments.md, per network
# (spec:variant), copied from that file. E1 publishes the backbone's count; its heads here have
# 10 classes (1280 * 10 + 10 after GAP, 62,720 * 10 + 10 after Flatten), see the spec.
PUBLISHED: dict[str, dict[str, dict[str, int]]] = {
    "mobilenetv2_heads:gap": {"backbone": {"total": 2_257_984, "non_trainable": 34_112}},
    "mobilenetv2_heads:flatten": {"backbone": {"total": 2_257_984, "non_trainable": 34_112}},
    "mobilenetv2_heads:flatten_lr0_01": {"backbone": {"total": 2_257_984, "non_trainable": 34_112}},
    # The same three on the ImageNet backbone (train.init from a weight file, when present).
    "mobilenetv2_heads:imagenet_gap": {"backbone": {"total": 2_257_984, "non_trainable": 34_112}},
    "mobilenetv2_heads:imagenet_flatten": {"backbone": {"total": 2_257_984, "non_trainable": 34_112}},
    "mobilenetv2_heads:imagenet_flatten_lr0_01": {"backbone": {"total": 2_257_984, "non_trainable": 34_112}},
    "mnist_heads:dense": {"params": {"total": 2_770_634}},
    "mnist_heads:fcn": {"params": {"total": 55_338}},
    "mnist_heads:size_agnostic": {"params": {"total": 5_130}},
    "lenet": {"params": {"total": 61_706}},
    "lenet_stride2": {"params": {"total": 66_346}},
    "toy_cnn_224:flatten": {"params": {"total": 11_574_090, "non_trainable": 192}},
    "toy_cnn_224:gap": {"params": {"total": 66_602, "non_trainable": 192}},
    "mnist_dropout_heads:a_baseline": {"params": {"total": 1_199_882}},
    "mnist_dropout_heads:b_no_dropout": {"params": {"total": 1_199_882}},
    "mnist_dropout_heads:c_one_dense": {"params": {"total": 110_986}},
    "mnist_dropout_heads:d_one_dense_no_dropout": {"params": {"total": 110_986}},
    "mnist_dropout_heads:e_conv_as_fc": {"params": {"total": 1_199_882}},
    "mnist_dropout_heads:f_k9_adam": {},  # E5f: no count published
}
# E2a: the dense 128 layer alone.
E2A_DENSE_128 = 2_769_024


# The take-aways of each reference experiment, as (metric, network, versus, direction): every one must be
# among the spec's findings, the timing ones (E2's latency, E5's step times) included.
TAKE_AWAYS: dict[str, set[tuple[str, str, str | None, str]]] = {
    "mobilenetv2_heads": {("learned", "mobilenetv2_heads:flatten", "chance", "same"),
                          ("test_accuracy", "mobilenetv2_heads:gap", "mobilenetv2_heads:flatten", "higher"),
                          ("test_accuracy", "mobilenetv2_heads:flatten_lr0_01", "mobilenetv2_heads:gap", "lower")},
    "mnist_heads": {("params", "mnist_heads:dense", "mnist_heads:fcn", "higher"),
                    ("latency", "mnist_heads:dense", "mnist_heads:fcn", "higher"),
                    ("test_accuracy", "mnist_heads:fcn", "mnist_heads:dense", "lower"),
                    ("test_accuracy", "mnist_heads:size_agnostic", "mnist_heads:dense", "lower")},
    "lenet_stride2": {("test_accuracy", "lenet_stride2", "lenet", "higher")},
    "lenet": {("learned", "lenet", "chance", "higher")},
    "toy_cnn_224": {("params", "toy_cnn_224:flatten", "toy_cnn_224:gap", "higher")},
    "mnist_dropout_heads": {
        ("step_time", "mnist_dropout_heads:e_conv_as_fc", "mnist_dropout_heads:a_baseline", "higher"),
        ("step_time", "mnist_dropout_heads:d_one_dense_no_dropout", "mnist_dropout_heads:b_no_dropout", "lower"),
        ("test_accuracy", "mnist_dropout_heads:d_one_dense_no_dropout", "mnist_dropout_heads:c_one_dense", "lower"),
        ("params", "mnist_dropout_heads:e_conv_as_fc", "mnist_dropout_heads:a_baseline", "same")},
}


def key(result: dict) -> str:
    return result["name"] if result["variant"] is None else f"{result['name']}:{result['variant']}"


@pytest.fixture(scope="module")
def checked() -> dict[str, dict]:
    run = subprocess.run(
        [sys.executable, "-c", "from harness.cli import main; main()", "check", "--json", *map(str, SPECS)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    return {key(result): result for result in json.loads(run.stdout)}


def test_every_reference_experiment_has_a_network(checked: dict[str, dict]) -> None:
    assert set(checked) == set(PUBLISHED)


@pytest.mark.parametrize("network", sorted(PUBLISHED))
def test_published_counts_match_exactly(checked: dict[str, dict], network: str) -> None:
    result = checked[network]
    figures = {"params": result["params"], "backbone": result["backbone_params"]}
    for scope, published in PUBLISHED[network].items():
        for field, value in published.items():
            assert figures[scope][field] == value, f"{network} {scope}.{field}"
    assert result["expect_ok"]
    expected_in_spec = {(e["scope"], e["field"]): e["expected"] for e in result["expect"]}
    for scope, published in PUBLISHED[network].items():
        for field, value in published.items():
            assert expected_in_spec[(scope, field)] == value, f"{network}: expect.{scope}.{field} is not in the spec"


def test_mobilenetv2_heads_follow_from_the_backbone(checked: dict[str, dict]) -> None:
    feature_vectors = {"gap": 1280, "flatten": 7 * 7 * 1280, "flatten_lr0_01": 7 * 7 * 1280}
    for variant, features in [*feature_vectors.items(), *((f"imagenet_{v}", f) for v, f in feature_vectors.items())]:
        result = checked[f"mobilenetv2_heads:{variant}"]
        assert result["layers"][-1]["output_shape"] == [10]
        assert result["params"]["total"] == 2_257_984 + features * 10 + 10
        assert result["params"]["non_trainable"] == 34_112


def test_mobilenetv2_feature_map_and_residual_adds(checked: dict[str, dict]) -> None:
    layers = checked["mobilenetv2_heads:gap"]["layers"]
    backbone_out = [layer for layer in layers if not layer["name"].startswith(("head_", "logits"))][-1]
    assert backbone_out["output_shape"] == [7, 7, 1280]
    assert sum(layer["type"] == "residual" for layer in layers) == 10
    assert sum(layer["type"] == "depthwise_conv" for layer in layers) == 17


def test_e2a_dense_layer_alone(checked: dict[str, dict]) -> None:
    dense = [layer for layer in checked["mnist_heads:dense"]["layers"] if layer["type"] == "dense"]
    assert dense[0]["total"] == E2A_DENSE_128


def test_e5e_conv_head_has_the_counts_of_the_dense_head(checked: dict[str, dict]) -> None:
    conv = [layer["total"] for layer in checked["mnist_dropout_heads:e_conv_as_fc"]["layers"] if layer["total"]]
    dense = [layer["total"] for layer in checked["mnist_dropout_heads:a_baseline"]["layers"] if layer["total"]]
    assert conv == dense


def test_size_agnostic_network_has_no_fixed_size_but_macs_per_bucket(checked: dict[str, dict]) -> None:
    result = checked["mnist_heads:size_agnostic"]
    assert result["input"] == [None, None, 1]
    assert result["macs"] is None
    assert set(result["macs_by_size"]) == {"20x20", "28x28", "36x36"}
    assert result["macs_by_size"]["20x20"] < result["macs_by_size"]["28x28"] < result["macs_by_size"]["36x36"]


def test_every_shipped_spec_states_its_source_and_ends_in_plain_logits() -> None:
    for path in SPECS:
        for network in load_networks(path):
            assert "Reference experiment" in network.spec.source, path
            weighted = [node for node in network.walk() if node.type in ("conv", "dense")]
            assert weighted[-1].name == "logits" and weighted[-1].layer.activation == "linear", network.key
            softmax = [node.name for node in network.walk()
                       if "softmax" in (getattr(node.layer, "activation", None), getattr(node.layer, "function", None))]
            assert softmax == [], f"{network.key}: the softmax belongs in the loss"


CHECK_ALL = """
import glob, json, sys
from harness.cli import main
try:
    main(["check", *sys.argv[2:]], standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {frameworks!r})
with open(sys.argv[1], "w") as out:
    json.dump({{"code": code, "frameworks": loaded}}, out)
"""


def test_checking_every_spec_imports_no_framework(tmp_path: Path) -> None:
    """(How fast it is: benchmarks/test_check_speed.py.)"""
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-c", CHECK_ALL.format(frameworks=set(FRAMEWORKS)), str(report), *map(str, SPECS)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(report.read_text())
    assert result["code"] == 0
    assert result["frameworks"] == []


def yaml_blocks(markdown: Path, after: str) -> list[str]:
    """The ```yaml blocks of ``markdown`` that follow the heading ``after``."""
    text = markdown.read_text().split(after, 1)[1]
    return [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]


@pytest.mark.parametrize(
    ("document", "heading", "matches"),
    [("README.md", "## Spec format", "specs/lenet_stride2.yaml"), ("docs/spec-format.md", "## A full example", "specs/mnist_heads.yaml")],
)
def test_documented_examples_are_valid_and_match_the_shipped_spec(
    tmp_path: Path, document: str, heading: str, matches: str
) -> None:
    (block,) = yaml_blocks(ROOT / document, heading)
    example = tmp_path / "example.yaml"
    example.write_text(block)
    documented = {n.key: analyse(n).params() for n in load_networks(example)}
    shipped = {n.key: analyse(n).params() for n in load_networks(ROOT / matches)}
    assert documented == shipped


def test_every_shipped_spec_states_the_take_aways_of_its_reference_experiment(checked: dict[str, dict]) -> None:
    for spec, expected in TAKE_AWAYS.items():
        result = next(r for k, r in checked.items() if r["name"] == spec)
        claims = claims_from(spec, result["variant"] is not None, result["findings"])
        stated = {(c.metric, c.network, c.versus, c.direction) for c in claims}
        assert expected <= stated, f"{spec}: missing {expected - stated}"
        assert all(c.source and c.claim for c in claims)
        assert all(c.network in checked and (c.versus in checked or c.versus in ("chance", None)) for c in claims), spec
    assert {r["name"] for r in checked.values()} == set(TAKE_AWAYS)


def test_only_a_variant_that_changes_training_settings_is_an_architecture_twin() -> None:
    """The spec tests of every plugin skip a twin's forward pass and first step (tested on its twin)."""
    twins = {network.key: twin for path in SPECS for network in load_networks(path)
             if (twin := architecture_twin(network)) is not None}
    assert twins == {"mobilenetv2_heads:flatten_lr0_01": "mobilenetv2_heads:flatten",
                     "mobilenetv2_heads:imagenet_flatten": "mobilenetv2_heads:flatten",
                     "mobilenetv2_heads:imagenet_flatten_lr0_01": "mobilenetv2_heads:flatten",
                     "mobilenetv2_heads:imagenet_gap": "mobilenetv2_heads:gap"}
    lr_variant = load_network(ROOT / "specs" / "mobilenetv2_heads.yaml", "flatten_lr0_01")
    twin = load_network(ROOT / "specs" / "mobilenetv2_heads.yaml", "flatten")
    assert lr_variant.spec.train != twin.spec.train
    assert [node.layer for node in lr_variant.walk()] == [node.layer for node in twin.walk()]
