"""harness.neutral.channels_first on its own, with no framework: kernel layouts and feature orders round
trip, the layout plan runs a channels-first network exactly as the neutral reference does
(flattened vectors through nested residual blocks included), and run-time ``same`` padding is
TensorFlow's rule.

The channels-first network is emulated in numpy: feature maps as the reference holds them, each
flatten natively in (C, H, W) order where the plan says so, every flat vector in its native order
with weights converted by the module under test. Converting each output back must give the
reference's outputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.neutral import channels_first as cf
from harness.equivalence import reference
from harness.neutral import shapes
from harness.neutral.channels_first import FeatureOrder, LayoutPlan
from harness.framework import NeutralWeights
from harness.spec import Network, Node
from harness.testing.specs import inline_network
from harness.neutral.weights import initial_weights

ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "softmax", "linear"]
small = st.integers(1, 4)


def permutations(size: int) -> st.SearchStrategy[np.ndarray | None]:
    return st.none() | st.permutations(range(size)).map(np.array)


# ----------------------------------------------------------------------------- kernels


@given(hnp.arrays(np.float32, st.tuples(small, small, small, small), elements=st.floats(-1, 1, width=32)))
def test_conv_kernels_are_oihw_natively_and_round_trip(kernel: np.ndarray) -> None:
    native = cf.conv_kernel_to_native(kernel)
    kh, kw, cin, cout = kernel.shape
    assert native.shape == (cout, cin, kh, kw) and native.flags.c_contiguous
    assert native[cout - 1, 0, kh - 1, 0] == kernel[kh - 1, 0, 0, cout - 1]
    np.testing.assert_array_equal(cf.conv_kernel_from_native(native), kernel)


@given(hnp.arrays(np.float32, st.tuples(small, small, small, small), elements=st.floats(-1, 1, width=32)))
def test_depthwise_output_channel_is_c_times_multiplier_plus_m(kernel: np.ndarray) -> None:
    kh, kw, cin, mult = kernel.shape
    native = cf.depthwise_kernel_to_native(kernel)
    assert native.shape == (cin * mult, 1, kh, kw)
    for c in range(cin):
        for m in range(mult):
            np.testing.assert_array_equal(native[c * mult + m, 0], kernel[:, :, c, m])
    np.testing.assert_array_equal(cf.depthwise_kernel_from_native(native, mult), kernel)


@given(st.data(), small, small)
def test_dense_kernels_round_trip_in_any_feature_orders(data: st.DataObject, rows: int, columns: int) -> None:
    kernel = np.arange(rows * columns, dtype=np.float32).reshape(rows, columns)
    order = FeatureOrder(data.draw(permutations(rows)), data.draw(permutations(columns)))
    native = cf.dense_kernel_to_native_order(kernel, order)
    np.testing.assert_array_equal(cf.dense_kernel_to_neutral_order(native, order), kernel)
    np.testing.assert_array_equal(cf.dense_kernel_from_out_in(cf.dense_kernel_to_out_in(native)), native)
    # A native-ordered input times the native kernel is the neutral product, in the output order.
    x = np.random.default_rng(rows).standard_normal((2, rows))
    np.testing.assert_allclose(cf.features_to_native(x, order.inputs, axis=1) @ native,
                               cf.features_to_native(x @ kernel, order.outputs, axis=1))


@given(small, small, small)
def test_flatten_order_is_the_channels_first_flatten_and_inverse_undoes_it(height: int, width: int, channels: int) -> None:
    feature_map = np.random.default_rng(height * width).standard_normal((height, width, channels))
    order = cf.flatten_order(height, width, channels)
    np.testing.assert_array_equal(feature_map.transpose(2, 0, 1).reshape(-1), feature_map.reshape(-1)[order])
    np.testing.assert_array_equal(order[cf.inverse(order)], np.arange(order.size))
    flat = feature_map.reshape(1, -1)
    np.testing.assert_array_equal(cf.features_to_neutral(cf.features_to_native(flat, order, axis=1), order, axis=1), flat)


# ----------------------------------------------------------------------------- padding


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 7), st.integers(1, 7), st.integers(1, 4), st.integers(1, 4))
def test_run_time_same_padding_is_tensorflows_rule(height: int, width: int, kh: int, kw: int, sh: int, sw: int) -> None:
    pads = cf.run_time_pads("same", height, width, (kh, kw), (sh, sw))
    assert pads == shapes.same_padding(height, kh, sh) + shapes.same_padding(width, kw, sw)
    top, bottom, left, right = pads
    assert bottom - top in (0, 1) and right - left in (0, 1)  # the odd pixel bottom/right
    assert (height + top + bottom - kh) // sh + 1 == math.ceil(height / sh)
    assert (width + left + right - kw) // sw + 1 == math.ceil(width / sw)
    assert cf.is_symmetric(pads) == (top == bottom and left == right)
    assert cf.last_axis_first(pads) == (left, right, top, bottom)


def test_static_padding_is_known_only_with_the_input_size() -> None:
    network = inline_network([{"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": "same"},
                              {"type": "max_pool", "pool": 3, "padding": [0, 1, 2, 0]}], [None, None, 1])
    conv, pool = network.trace[0], network.trace[1]
    assert cf.window(conv.node.layer) == ((3, 3), (2, 2)) and cf.window(pool.node.layer) == ((3, 3), (3, 3))
    assert cf.static_pads(conv.node.layer, conv.input_shape) is None
    assert cf.static_pads(conv.node.layer, (8, 7, 1)) == (0, 1, 1, 1)
    assert cf.static_pads(pool.node.layer, pool.input_shape) == (0, 1, 2, 0)


# ----------------------------------------------------------------------------- the layout plan


def native_weights(network: Network, weights: NeutralWeights, plan: LayoutPlan) -> NeutralWeights:
    """The neutral weights with every flat-feature tensor in the plan's native orders."""
    converted: NeutralWeights = {}
    for node in network.walk():
        if node.name not in weights:
            continue
        order, tensors = plan.orders[node.name], weights[node.name]
        if node.type == "dense":
            converted[node.name] = {"kernel": cf.dense_kernel_to_native_order(tensors["kernel"], order)} | (
                {"bias": cf.features_to_native(tensors["bias"], order.outputs)} if "bias" in tensors else {})
        elif node.type == "batch_norm":
            converted[node.name] = {name: cf.features_to_native(array, order.inputs) for name, array in tensors.items()}
        else:
            converted[node.name] = tensors
    return converted


def run_channels_first(nodes: tuple[Node, ...], x: np.ndarray, weights: NeutralWeights, plan: LayoutPlan,
                       outputs: dict[str, np.ndarray]) -> np.ndarray:
    """The network as a channels-first framework runs it (maps kept NHWC: only the flatten differs)."""
    for node in nodes:
        if node.children:
            x = x + run_channels_first(node.children, x, weights, plan, outputs)
        elif node.type == "flatten" and plan.flattens_natively(node.name):
            x = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
        else:
            x = reference.apply_layer(node, x, weights)
        outputs[node.name] = x
    return x


def random_weights(network: Network, seed: int) -> NeutralWeights:
    """Every tensor random (variances positive), so that a misplaced feature always shows."""
    rng = np.random.default_rng(seed)
    return {layer: {name: (np.abs(rng.standard_normal(a.shape)) + 0.5 if name == "moving_variance"
                           else rng.standard_normal(a.shape)).astype(np.float32) for name, a in tensors.items()}
            for layer, tensors in initial_weights(network, seed).items()}


def assert_runs_like_the_reference(network: Network) -> LayoutPlan:
    plan = cf.layout_plan(network)
    weights = random_weights(network, 0)
    images = np.random.default_rng(1).standard_normal((3, *network.input_shape))  # type: ignore[misc]
    native: dict[str, np.ndarray] = {}
    logits = run_channels_first(network.nodes, images, native_weights(network, weights, plan), plan, native)
    expected = reference.layer_outputs(network, weights, images)
    np.testing.assert_allclose(logits, expected[network.nodes[-1].name], rtol=1e-9, atol=1e-9)
    assert plan.orders[network.nodes[-1].name].outputs is None, "the logits leave in the neutral order"
    for name, value in expected.items():
        got = native[name] if native[name].ndim == 4 else cf.features_to_neutral(native[name], plan.orders[name].outputs, axis=1)
        np.testing.assert_allclose(got, value, rtol=1e-9, atol=1e-9, err_msg=name)
    return plan


def test_a_flattened_vector_through_nested_residual_blocks() -> None:
    network = inline_network([
        {"type": "conv", "filters": 3, "kernel": 1},
        {"type": "flatten"},
        {"type": "batch_norm"},
        {"type": "residual", "layers": [
            {"type": "dense", "units": 5, "activation": "relu"},
            {"type": "residual", "layers": [{"type": "batch_norm"}, {"type": "dense", "units": 5, "activation": "tanh"}]},
            {"type": "dense", "units": 18},
            {"type": "batch_norm"},
        ]},
        {"type": "residual", "layers": [{"type": "activation", "function": "softmax"}]},
        {"type": "dropout", "rate": 0.5},
        {"type": "dense", "units": 3},
    ], [2, 3, 2], {"type": "none"})
    plan = assert_runs_like_the_reference(network)
    flat = cf.flatten_order(2, 3, 3)
    assert plan.flattens_natively("flatten_1")
    # The block's last dense emits the block's input order, so the add lines up; the batch norm
    # after it reads that order; the dense inside the nested block emits its own block's input (None).
    np.testing.assert_array_equal(plan.orders["dense_3"].outputs, flat)
    np.testing.assert_array_equal(plan.orders["batch_norm_3"].inputs, flat)
    assert plan.orders["dense_2"].outputs is None and plan.orders["dense_1"].outputs is None
    np.testing.assert_array_equal(plan.orders["dense_4"].inputs, flat)


@pytest.mark.parametrize(("backbone", "classes"), [
    ([{"type": "conv", "filters": 5, "kernel": [4, 3], "stride": [1, 3]}, {"type": "flatten"}], 10),
    ([{"type": "conv", "filters": 5, "kernel": [4, 3], "stride": [1, 3]}, {"type": "flatten"}, {"type": "batch_norm"},
      {"type": "residual", "layers": [{"type": "dense", "units": 10}]}], 10),
], ids=["flatten_into_logits", "flatten_into_a_final_residual"])
def test_a_flatten_no_dense_follows_flattens_channels_last(backbone: list[dict[str, Any]], classes: int) -> None:
    network = inline_network(backbone, [4, 6, 1], {"type": "none"}, classes=classes)
    plan = assert_runs_like_the_reference(network)
    assert not plan.flattens_natively("flatten_1")
    assert all(order.inputs is None and order.outputs is None for order in plan.orders.values())


def test_every_head_keeps_the_logits_neutral() -> None:
    for head in ({"type": "flatten", "hidden": [4], "dropout": 0.1}, {"type": "conv", "filters": 4, "hidden": [3]},
                 {"type": "global_avg", "hidden": [4]}, {"type": "fcn", "hidden": [4]}):
        network = inline_network([{"type": "conv", "filters": 2, "kernel": 2}], [3, 4, 2], head)
        plan = assert_runs_like_the_reference(network)
        if head["type"] == "conv":  # the logits flatten a 1x1 map: both orders agree, so it flattens natively
            assert plan.flattens_natively("head_flatten_1") and plan.orders["head_flatten_1"].outputs is None


@st.composite
def vector_block(draw: st.DrawFn, width: int, depth: int) -> list[dict[str, Any]]:
    """Layers that take a vector of ``width`` features and give one back (a residual block's body)."""
    layers: list[dict[str, Any]] = []
    current = width
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["batch_norm", "activation", "dropout", "dense"] + (["residual"] if depth < 2 else [])))
        if kind == "dense":
            current = draw(st.integers(2, 6))
            layers.append({"type": "dense", "units": current, "activation": draw(st.sampled_from(ACTIVATIONS))})
        elif kind == "residual":
            layers.append({"type": "residual", "layers": draw(vector_block(current, depth + 1))})
        elif kind == "activation":
            layers.append({"type": "activation", "function": draw(st.sampled_from(ACTIVATIONS))})
        elif kind == "dropout":
            layers.append({"type": "dropout", "rate": 0.5})
        else:
            layers.append({"type": "batch_norm"})
    if current != width:
        layers.append({"type": "dense", "units": width})
    return layers


@st.composite
def flattening_networks(draw: st.DrawFn) -> Network:
    """A feature map, a flatten, then any mix of vector layers and (nested) residual blocks."""
    height, width, channels = draw(small), draw(small), draw(st.integers(2, 3))
    features = height * width * channels
    backbone: list[dict[str, Any]] = [{"type": "conv", "filters": channels, "kernel": 1}, {"type": "flatten"}]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            backbone.append({"type": "residual", "layers": draw(vector_block(features, 0))})
        else:
            features = draw(st.integers(2, 6))
            backbone.append({"type": "dense", "units": features})
    return inline_network(backbone, [height, width, 2], {"type": "none"}, classes=features)


@settings(max_examples=60, deadline=None)
@given(flattening_networks())
def test_any_flattening_network_runs_channels_first_like_the_reference(network: Network) -> None:
    plan = assert_runs_like_the_reference(network)
    # A residual block always leaves in the order it was entered in.
    for node in network.walk():
        if node.children:
            order = plan.orders[node.name]
            assert (order.inputs is None and order.outputs is None) or np.array_equal(order.inputs, order.outputs)
