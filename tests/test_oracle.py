"""The oracle's shapes, padding, parameters and MACs on cases worked out by hand."""

from __future__ import annotations

import pytest

from harness.neutral import shapes
from harness.neutral.oracle import analyse, check_expect
from harness.spec.network import NetworkError, expand
from harness.spec.schema import Expect, Spec

BASE = {
    "name": "t", "title": "t", "source": "test", "classes": 10,
    "train": {"optimizer": {"name": "sgd"}}, "dataset": {"name": "synthetic"},
}


def network(backbone: list[dict], input_shape: list, head: dict | None = None, classes: int = 10):
    spec = Spec.model_validate(
        {**BASE, "classes": classes, "input": input_shape, "backbone": backbone, "head": head or {"type": "global_avg"}}
    )
    return expand(spec)


def layer(analysis, name: str):
    return next(count for count in analysis.layers if count.name == name)


# ------------------------------------------------------------------ TensorFlow 'same' padding


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [
        (224, 3, 2, (0, 1)),   # even input, stride 2: one pixel, at the bottom/right
        (7, 3, 2, (1, 1)),     # odd input: (3 - 1) * 2 + 3 - 7 = 2
        (5, 5, 1, (2, 2)),
        (6, 4, 1, (1, 2)),     # even kernel, stride 1: the odd pixel after
        (8, 1, 2, (0, 0)),     # 1x1 kernel never pads
        (9, 2, 3, (0, 0)),     # windows fit exactly: (3 - 1) * 3 + 2 - 9 = -1 -> 0
        (10, 5, 3, (2, 2)),    # ceil(10 / 3) = 4: (4 - 1) * 3 + 5 - 10 = 4
        (11, 4, 2, (1, 2)),    # ceil(11 / 2) = 6: (6 - 1) * 2 + 4 - 11 = 3, the odd pixel after
    ],
)
def test_same_padding_follows_tensorflow(size: int, kernel: int, stride: int, pads: tuple[int, int]) -> None:
    assert shapes.same_padding(size, kernel, stride) == pads


@pytest.mark.parametrize(("size", "stride", "out"), [(7, 2, 4), (8, 2, 4), (224, 2, 112), (5, 3, 2), (1, 2, 1)])
def test_same_output_is_ceil_of_size_over_stride(size: int, stride: int, out: int) -> None:
    net = network([{"type": "conv", "filters": 4, "kernel": 3, "stride": stride, "padding": "same"}], [size, size, 1])
    assert analyse(net).layers[0].output_shape == (out, out, 4)


def test_resolve_padding_for_explicit_and_unknown_sizes() -> None:
    assert shapes.resolve_padding(2, 28, 28, (5, 5), (1, 1)) == (2, 2, 2, 2)
    assert shapes.resolve_padding((0, 1, 2, 3), 28, 28, (3, 3), (1, 1)) == (0, 1, 2, 3)
    assert shapes.resolve_padding("valid", None, None, (3, 3), (2, 2)) == (0, 0, 0, 0)
    assert shapes.resolve_padding("same", None, None, (3, 3), (2, 2)) is None
    assert shapes.resolve_padding("same", 7, 8, (3, 3), (2, 2)) == (1, 1, 0, 1)


# ------------------------------------------------------------------ shapes


def test_lenet_shapes_by_hand() -> None:
    net = network(
        [
            {"type": "conv", "filters": 6, "kernel": 5, "padding": 2, "activation": "relu"},
            {"type": "max_pool", "pool": 2},
            {"type": "conv", "filters": 16, "kernel": 5},
            {"type": "max_pool", "pool": 2, "stride": 2},
        ],
        [28, 28, 1],
        {"type": "flatten", "hidden": [120, 84]},
    )
    out = [count.output_shape for count in analyse(net).layers]
    assert out == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]


def test_asymmetric_padding_and_rectangular_kernels() -> None:
    net = network(
        [{"type": "conv", "filters": 3, "kernel": [3, 1], "stride": [2, 1], "padding": [1, 0, 2, 3]}], [9, 10, 2]
    )
    # height: (9 + 1 + 0 - 3) // 2 + 1 = 4; width: (10 + 2 + 3 - 1) // 1 + 1 = 15
    assert analyse(net).layers[0].output_shape == (4, 15, 3)


def test_pool_with_overlapping_stride_and_same_padding() -> None:
    net = network(
        [{"type": "max_pool", "pool": 3, "stride": 2}, {"type": "avg_pool", "pool": 3, "stride": 2, "padding": "same"}],
        [15, 15, 4],
    )
    assert [c.output_shape for c in analyse(net).layers[:2]] == [(7, 7, 4), (4, 4, 4)]


@pytest.mark.parametrize("padding", [2, [0, 0, 0, 3], [1, 2, 1, 1]])
def test_pool_padding_must_leave_a_real_pixel_in_every_window(padding: object) -> None:
    with pytest.raises(NetworkError, match="some windows would hold only padding"):
        network([{"type": "max_pool", "pool": [2, 3], "stride": 1, "padding": padding}], [8, 8, 1])
    network([{"type": "max_pool", "pool": 3, "stride": 1, "padding": [2, 2, 2, 2]}], [8, 8, 1])


def test_global_pool_keepdims_and_depthwise_multiplier() -> None:
    net = network(
        [
            {"type": "depthwise_conv", "kernel": 3, "depth_multiplier": 2, "padding": "same"},
            {"type": "global_max_pool", "keepdims": True},
        ],
        [5, 5, 3],
        {"type": "fcn"},
    )
    assert [c.output_shape for c in analyse(net).layers] == [(5, 5, 6), (1, 1, 6), (1, 1, 10), (10,)]


def test_size_agnostic_shapes_are_unknown_until_a_size_is_given() -> None:
    net = network(
        [{"type": "conv", "filters": 16, "kernel": 3, "padding": "same"}, {"type": "conv", "filters": 32, "kernel": 3, "stride": 2}],
        [None, None, 1],
        {"type": "global_max"},
    )
    assert analyse(net).layers[1].output_shape == (None, None, 32)
    assert analyse(net).macs is None
    at_20 = analyse(net, (20, 20))
    assert at_20.layers[1].output_shape == (9, 9, 32)
    # 20*20*16*9 + 9*9*32*(9*16) + 32*10
    assert at_20.macs == 57_600 + 373_248 + 320


# ------------------------------------------------------------------ parameters and MACs


def test_conv_params_and_macs() -> None:
    net = network([{"type": "conv", "filters": 8, "kernel": 3, "stride": 2}], [9, 9, 4])
    conv = analyse(net).layers[0]
    assert conv.output_shape == (4, 4, 8)
    assert (conv.trainable, conv.non_trainable) == (3 * 3 * 4 * 8 + 8, 0)
    assert conv.macs == 4 * 4 * 8 * (3 * 3 * 4)


def test_conv_without_bias_and_depthwise_counts() -> None:
    net = network(
        [
            {"type": "conv", "filters": 8, "kernel": 1, "use_bias": False},
            {"type": "depthwise_conv", "kernel": 3, "stride": 2, "padding": "same", "depth_multiplier": 2},
        ],
        [6, 6, 3],
    )
    analysis = analyse(net)
    assert analysis.layers[0].trainable == 24
    depthwise = analysis.layers[1]
    assert depthwise.output_shape == (3, 3, 16)
    assert depthwise.trainable == 3 * 3 * 8 * 2 + 16
    assert depthwise.macs == 3 * 3 * 16 * 9


def test_batch_norm_splits_trainable_and_moving_statistics() -> None:
    net = network([{"type": "batch_norm"}], [4, 4, 12])
    bn = analyse(net).layers[0]
    assert (bn.trainable, bn.non_trainable, bn.macs) == (24, 24, 0)


def test_dense_params_and_macs() -> None:
    net = network([{"type": "flatten"}, {"type": "dense", "units": 7, "use_bias": False}], [2, 3, 4], {"type": "none"}, classes=7)
    analysis = analyse(net)
    dense = analysis.layers[1]
    assert (dense.trainable, dense.macs) == (24 * 7, 24 * 7)
    assert analysis.params() == {"trainable": 168, "non_trainable": 0, "total": 168}


def test_residual_adds_no_parameters_and_keeps_its_children_nested() -> None:
    net = network(
        [
            {"type": "residual", "layers": [
                {"type": "conv", "filters": 4, "kernel": 3, "padding": "same"},
                {"type": "batch_norm"},
            ]},
        ],
        [5, 5, 4],
    )
    layers = analyse(net).layers
    assert [(c.type, c.depth) for c in layers[:3]] == [("conv", 1), ("batch_norm", 1), ("residual", 0)]
    assert layers[2].total == 0 and layers[2].output_shape == (5, 5, 4)


def test_repeat_unrolls_with_fresh_weights() -> None:
    net = network([{"type": "repeat", "times": 3, "layers": [{"type": "conv", "filters": 2, "kernel": 1}]}], [4, 4, 2])
    analysis = analyse(net)
    assert [c.name for c in analysis.layers[:3]] == ["conv_1", "conv_2", "conv_3"]
    assert sum(c.trainable for c in analysis.layers[:3]) == 3 * (2 * 2 + 2)


def test_conv_head_is_a_dense_layer_in_disguise() -> None:
    conv_head = network([{"type": "conv", "filters": 4, "kernel": 3}], [7, 7, 1], {"type": "conv", "filters": 16})
    flat_head = network([{"type": "conv", "filters": 4, "kernel": 3}], [7, 7, 1], {"type": "flatten", "hidden": [16]})
    conv, flat = analyse(conv_head), analyse(flat_head)
    assert conv.total == flat.total
    assert conv.macs == flat.macs
    assert layer(conv, "head_conv_1").output_shape == (1, 1, 16)


def test_backbone_params_leave_the_head_out() -> None:
    net = network([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batch_norm"}], [7, 7, 1], {"type": "global_avg"})
    analysis = analyse(net)
    assert analysis.backbone_params() == {"trainable": 40 + 8, "non_trainable": 8, "total": 56}
    assert analysis.params()["total"] == 56 + 4 * 10 + 10


def test_check_expect_compares_every_given_figure() -> None:
    net = network([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "batch_norm"}], [7, 7, 1])
    expect = Expect.model_validate({"params": {"total": 106, "non_trainable": 9}, "backbone": {"trainable": 48}})
    checks = {(c.scope, c.field): (c.expected, c.actual, c.ok) for c in check_expect(analyse(net), expect)}
    assert checks == {
        ("params", "total"): (106, 106, True),
        ("params", "non_trainable"): (9, 8, False),
        ("backbone", "trainable"): (48, 48, True),
    }
    assert check_expect(analyse(net), None) == []


# ------------------------------------------------------------------ impossible networks


def test_kernel_larger_than_valid_input_is_rejected() -> None:
    with pytest.raises(NetworkError, match="5-pixel window is larger than the input's 4-pixel height"):
        network([{"type": "conv", "filters": 1, "kernel": 5}], [4, 4, 1])


def test_explicit_padding_can_make_a_large_kernel_fit() -> None:
    net = network([{"type": "conv", "filters": 1, "kernel": 5, "padding": 1}], [3, 3, 1])
    assert analyse(net).layers[0].output_shape == (1, 1, 1)
