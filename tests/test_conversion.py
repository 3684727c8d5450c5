"""The framework-free half of ``harness weights import`` (:mod:`harness.neutral.conversion`): matching a
model's layers with a spec's, checking each pair, converting channels-first tensors and the
flatten's row order, and comparing logits; models are made here from numpy arrays."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from harness.neutral import channels_first
from harness.equivalence import reference
from harness.neutral.conversion import ConversionError, SourceLayer, SourceModel, choose_reader, convert
from harness.spec import Network
from harness.spec.network import expand
from harness.testing.specs import inline_spec
from harness.neutral.weights import initial_weights

BODY = {
    "input": [6, 6, 2],
    "backbone": [
        {"type": "conv", "filters": 4, "kernel": 3, "padding": "same"},
        {"type": "batch_norm", "epsilon": 0.001},
        {"type": "depthwise_conv", "kernel": 3, "depth_multiplier": 2, "use_bias": False},
        {"type": "max_pool"},
    ],
    "head": {"type": "flatten", "hidden": [5]},
}


@pytest.fixture
def network() -> Network:
    return expand(inline_spec(name="small", title="small", source="tests", classes=3, train={"optimizer": {"name": "sgd"}},
                              dataset={"name": "synthetic"}, **BODY))


def keras_like(network: Network, seed: int = 1) -> list[SourceLayer]:
    """The network's neutral weights as a channels-last model's layers."""
    kinds = {node.name: node.type for node in network.walk()}
    return [SourceLayer(f"k_{name}", kinds[name], tensors, "channels_last", epsilon=0.001 if kinds[name] == "batch_norm" else None)
            for name, tensors in initial_weights(network, seed).items()]


def torch_like(network: Network, seed: int = 1) -> list[SourceLayer]:
    """The same weights as a plain PyTorch model holds them (OIHW, grouped depthwise, (out, in),
    a flatten of the NCHW map), as a state_dict would give them."""
    weights, plan = initial_weights(network, seed), channels_first.layout_plan(network)
    layers = []
    for node in network.walk():
        if node.name not in weights:
            continue
        tensors = weights[node.name]
        if node.type == "batch_norm":
            native = {"weight": tensors["gamma"], "bias": tensors["beta"], "running_mean": tensors["moving_mean"],
                      "running_var": tensors["moving_variance"]}
            layers.append(SourceLayer(f"t{len(layers)}", "batch_norm", native, "channels_first"))
            continue
        if node.type == "conv":
            weight = channels_first.conv_kernel_to_native(tensors["kernel"])
        elif node.type == "depthwise_conv":
            weight = channels_first.depthwise_kernel_to_native(tensors["kernel"])
        else:
            order = plan.orders[node.name]
            weight = channels_first.dense_kernel_to_out_in(channels_first.dense_kernel_to_native_order(tensors["kernel"], order))
        native = {"weight": weight, **({"bias": tensors["bias"]} if "bias" in tensors else {})}
        layers.append(SourceLayer(f"t{len(layers)}", "conv" if weight.ndim == 4 else "dense", native, "channels_first"))
    return layers


@pytest.mark.parametrize("source", [keras_like, torch_like])
def test_both_layouts_convert_to_the_same_neutral_weights(network: Network, source) -> None:  # type: ignore[no-untyped-def]
    conversion = convert(SourceModel("m", source(network)), network)
    expected = initial_weights(network, 1)
    assert conversion.left == [] and [pair[0] for pair in conversion.pairs] == list(expected)
    for layer, tensors in expected.items():
        for name, array in tensors.items():
            np.testing.assert_array_equal(conversion.weights[layer][name], array, err_msg=f"{layer}/{name}")


def test_the_model_logits_are_compared_with_the_spec_and_a_difference_refused(network: Network) -> None:
    weights = initial_weights(network, 1)
    own = lambda images: reference.forward(network, weights, images)  # noqa: E731 - the model's own logits
    assert convert(SourceModel("m", keras_like(network), own), network).logits_max_abs < 1e-9
    with pytest.raises(ConversionError, match="logits differ from the spec's"):
        convert(SourceModel("m", keras_like(network), lambda images: own(images) + 0.01), network)


def _message(model: SourceModel, network: Network, layers: str = "all") -> str:
    with pytest.raises(ConversionError) as caught:
        convert(model, network, layers)  # type: ignore[arg-type]
    return str(caught.value)


def test_mismatches_name_the_spec_layer_the_model_layer_and_the_fix(network: Network) -> None:
    layers = keras_like(network)
    bn = layers[1]
    wrong_epsilon = [*layers[:1], SourceLayer(bn.name, "batch_norm", bn.tensors, "channels_last", "BatchNormalization", 1e-5),
                     *layers[2:]]
    message = _message(SourceModel("m", wrong_epsilon), network)
    assert "spec layer 'batch_norm_1' (batch_norm) and model layer 'k_batch_norm_1' (BatchNormalization)" in message
    assert "Fix: set epsilon: 1e-05 on the spec's batch norm." in message
    no_bias = [SourceLayer("c", "conv", {"kernel": layers[0].tensors["kernel"]}, "channels_last"), *layers[1:]]
    assert "Fix: set use_bias: false" in _message(SourceModel("m", no_bias), network)
    narrow = [SourceLayer("c", "conv", {"kernel": np.zeros((3, 3, 2, 5), np.float32), "bias": np.zeros(5, np.float32)},
                          "channels_last", "Conv2D"), *layers[1:]]
    assert "'conv_1' (conv) and model layer 'c' (Conv2D) differ in shape" in _message(SourceModel("m", narrow), network)
    negative = {**bn.tensors, "moving_variance": -np.ones(4, np.float32)}
    message = _message(SourceModel("m", [layers[0], SourceLayer("b", "batch_norm", negative, "channels_last"), *layers[2:]]),
                       network)
    assert "moving statistics" in message
    grouped = torch_like(network)
    not_depthwise = [*grouped[:2], SourceLayer("t2", "conv", {"weight": np.zeros((8, 4, 3, 3), np.float32)}, "channels_first",
                                               "Conv2d"), *grouped[3:]]
    assert "the model's conv is not depthwise" in _message(SourceModel("m", not_depthwise), network)


def test_a_model_with_another_head_gives_its_backbone_alone(network: Network) -> None:
    layers = keras_like(network)
    top = [*layers[:3], SourceLayer("top", "dense", {"kernel": np.zeros((36, 7), np.float32), "bias": np.zeros(7, np.float32)},
                                    "channels_last", "Dense")]
    assert "differ in shape" in _message(SourceModel("m", top), network)
    backbone = convert(SourceModel("m", top), network, "backbone")
    assert list(backbone.weights) == ["conv_1", "batch_norm_1", "depthwise_conv_1"]
    assert backbone.left == ["head_dense_1", "logits"]
    stops_in_backbone = layers[:2]
    assert "inside the backbone" in _message(SourceModel("m", stops_in_backbone), network)
    assert "--layers backbone" in _message(SourceModel("m", [*layers, layers[-1]]), network)
    headless = convert(SourceModel("m", layers[:3]), network)
    assert headless.left == ["head_dense_1", "logits"]


def test_readers_are_chosen_by_source_and_named_in_errors() -> None:
    from harness.neutral.conversion import WeightReader

    readers = {name: WeightReader(name, f"{name} files", lambda source, suffix=suffix: source.endswith(suffix), lambda s, n: None)
               for name, suffix in (("a", ".a"), ("b", ".b"))}
    assert choose_reader(readers, "model.b", None).name == "b"
    with pytest.raises(ConversionError, match=r"no reader accepts 'model.c'.*a \(a files\), b \(b files\)"):
        choose_reader(readers, "model.c", None)
    with pytest.raises(ConversionError, match="no reader is called 'z'"):
        choose_reader(readers, "model.a", "z")


def test_the_builtin_readers_register_without_importing_a_framework() -> None:
    code = ("import sys; from harness.plugins import discover; from harness.neutral.conversion import weight_readers; "
            "readers = weight_readers(discover().manager); "
            "print(sorted(readers), sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax', 'paddle') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    readers, imported = result.stdout.strip().split("] [")
    assert "'keras'" in readers and "'torch'" in readers and imported == "]"
