"""Random valid layer stacks: the oracle's shapes, parameters and MACs against formulas written here.

The model below is deliberately independent of :mod:`harness.neutral.shapes` and :mod:`harness.neutral.oracle`:
output size ``(n + pads - k) // s + 1`` (``ceil(n / s)`` for ``same``), conv parameters
``k*k*cin*f + f``, batch norm ``2C`` + ``2C``, MACs ``outputs * k*k*cin``, and the heads written
out layer by layer. Stacks are drawn one layer at a time so that every one is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness.neutral.oracle import analyse
from harness.spec.network import expand
from harness.spec.schema import Spec

Shape = tuple[int | None, ...]
Row = tuple[str, Shape, int, int, int]
"""(type, output shape, trainable, non-trainable, MACs): one expected layer."""

ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "linear"]


@dataclass
class Model:
    """The test's own account of a stack: the current shape and every layer's expected figures."""

    shape: Shape
    rows: list[Row] = field(default_factory=list)

    def add(self, kind: str, out: Shape, trainable: int = 0, non_trainable: int = 0, macs: int = 0) -> None:
        self.rows.append((kind, out, trainable, non_trainable, macs))
        self.shape = out


def padded_sizes(n_h: int, n_w: int, padding: object) -> tuple[int, int]:
    """The input's height and width after explicit padding (same: unpadded, any kernel fits)."""
    if padding in ("valid", "same"):
        return n_h, n_w
    if isinstance(padding, int):
        return n_h + 2 * padding, n_w + 2 * padding
    top, bottom, left, right = padding
    return n_h + top + bottom, n_w + left + right


def window(model: Model, kind: str, k: tuple[int, int], s: tuple[int, int], padding: object, channels: int,
           params: int, macs_per_output: int) -> None:
    h, w, _ = model.shape
    if padding == "same":
        oh, ow = -(-h // s[0]), -(-w // s[1])
    else:
        ph, pw = padded_sizes(h, w, padding)
        oh, ow = (ph - k[0]) // s[0] + 1, (pw - k[1]) // s[1] + 1
    model.add(kind, (oh, ow, channels), params, 0, oh * ow * channels * macs_per_output)


@st.composite
def paddings(draw: st.DrawFn) -> object:
    return draw(st.one_of(
        st.sampled_from(["valid", "same"]),
        st.integers(0, 2),
        st.tuples(*[st.integers(0, 2)] * 4).map(list),
    ))


@st.composite
def windowed(
    draw: st.DrawFn, model: Model, same_only: bool = False, stride_one: bool = False
) -> tuple[object, tuple[int, int], tuple[int, int]]:
    """(padding, kernel, stride) that fit the current feature map."""
    h, w, _ = model.shape
    padding = "same" if same_only else draw(paddings())
    ph, pw = padded_sizes(h, w, padding)
    limit_h, limit_w = (5, 5) if padding == "same" else (min(5, ph), min(5, pw))
    kernel = draw(st.one_of(
        st.integers(1, min(limit_h, limit_w)).map(lambda k: (k, k)),
        st.tuples(st.integers(1, limit_h), st.integers(1, limit_w)),
    ))
    stride = (1, 1) if stride_one else draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    return padding, kernel, stride


def as_spec_size(pair: tuple[int, int]) -> int | list[int]:
    return pair[0] if pair[0] == pair[1] else list(pair)


@st.composite
def feature_layer(draw: st.DrawFn, model: Model, same_only: bool = False, stride_one: bool = False) -> dict:
    """One layer on a feature map, applied to ``model``; returns its spec mapping."""
    h, w, c = model.shape
    kind = draw(st.sampled_from(["conv", "depthwise_conv", "max_pool", "avg_pool", "batch_norm", "dropout", "activation"]))
    if kind in ("conv", "depthwise_conv", "max_pool", "avg_pool"):
        padding, k, s = draw(windowed(model, same_only, stride_one))
        spec: dict = {"type": kind, "padding": padding}
        spec["pool" if "pool" in kind else "kernel"] = as_spec_size(k)
        spec["stride"] = as_spec_size(s)
    if kind == "conv":
        filters, bias = draw(st.integers(1, 6)), draw(st.booleans())
        spec |= {"filters": filters, "use_bias": bias, "activation": draw(st.sampled_from(ACTIVATIONS))}
        window(model, kind, k, s, padding, filters, k[0] * k[1] * c * filters + bias * filters, k[0] * k[1] * c)
    elif kind == "depthwise_conv":
        multiplier, bias = draw(st.integers(1, 2)), draw(st.booleans())
        spec |= {"depth_multiplier": multiplier, "use_bias": bias}
        window(model, kind, k, s, padding, c * multiplier, k[0] * k[1] * c * multiplier + bias * c * multiplier, k[0] * k[1])
    elif kind in ("max_pool", "avg_pool"):
        pads = [0] * 4 if isinstance(padding, str) else ([padding] * 4 if isinstance(padding, int) else padding)
        assume(all(pad < size for pad, size in zip(pads, (k[0], k[0], k[1], k[1]))))  # a window must hold a real pixel
        window(model, kind, k, s, padding, c, 0, 0)
    elif kind == "batch_norm":
        spec = {"type": kind, "momentum": 0.9}
        model.add(kind, model.shape, 2 * c, 2 * c)
    elif kind == "dropout":
        spec = {"type": kind, "rate": 0.5}
        model.add(kind, model.shape)
    else:
        spec = {"type": kind, "function": draw(st.sampled_from(ACTIVATIONS))}
        model.add(kind, model.shape)
    return spec


@st.composite
def residual(draw: st.DrawFn, model: Model) -> dict:
    """A shape-keeping block: same-padded stride-1 layers, then a 1x1 conv back to the input's channels."""
    start = model.shape
    layers = [draw(feature_layer(model, same_only=True, stride_one=True)) for _ in range(draw(st.integers(0, 2)))]
    c_in, c_now = start[2], model.shape[2]
    layers.append({"type": "conv", "filters": c_in, "kernel": 1})
    model.add("conv", start, c_now * c_in + c_in, 0, start[0] * start[1] * c_in * c_now)
    model.add("residual", start)
    return {"type": "residual", "layers": layers}


@st.composite
def repeat(draw: st.DrawFn, model: Model) -> dict:
    """A body of same-padded layers (sizes never reach zero) applied 2 or 3 times."""
    times = draw(st.integers(2, 3))
    first = [draw(feature_layer(model, same_only=True)) for _ in range(draw(st.integers(1, 2)))]
    for _ in range(times - 1):
        for layer in first:
            replay(layer, model)
    return {"type": "repeat", "times": times, "layers": first}


def replay(layer: dict, model: Model) -> None:
    """Apply an already drawn same-padded layer again (inside a repeat), on the current shape."""
    h, w, c = model.shape
    kind = layer["type"]
    k = as_pair(layer.get("kernel", layer.get("pool", 1)))
    s = as_pair(layer.get("stride", 1))
    if kind == "conv":
        f, bias = layer["filters"], layer["use_bias"]
        window(model, kind, k, s, "same", f, k[0] * k[1] * c * f + bias * f, k[0] * k[1] * c)
    elif kind == "depthwise_conv":
        m, bias = layer["depth_multiplier"], layer["use_bias"]
        window(model, kind, k, s, "same", c * m, k[0] * k[1] * c * m + bias * c * m, k[0] * k[1])
    elif kind in ("max_pool", "avg_pool"):
        window(model, kind, k, s, "same", c, 0, 0)
    elif kind == "batch_norm":
        model.add(kind, model.shape, 2 * c, 2 * c)
    else:
        model.add(kind, model.shape)


def as_pair(value: int | list[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def dense(model: Model, units: int) -> None:
    (features,) = model.shape
    model.add("dense", (units,), features * units + units, 0, features * units)


def conv1x1(model: Model, filters: int) -> None:
    h, w, c = model.shape
    model.add("conv", (h, w, filters), c * filters + filters, 0, h * w * c * filters)


@st.composite
def head(draw: st.DrawFn, model: Model, classes: int, sized: bool) -> dict:
    """A head, with the layers it expands into applied to ``model``."""
    h, w, c = model.shape
    kinds = ["global_avg", "global_max", "fcn", "none"] + (["flatten", "conv"] if sized else [])
    kind = draw(st.sampled_from(kinds))
    hidden = draw(st.lists(st.integers(1, 8), max_size=2))
    if kind in ("flatten", "global_avg", "global_max"):
        model.add(kind if kind == "flatten" else f"{kind}_pool", ((h * w * c) if kind == "flatten" else c,))
        for units in hidden:
            dense(model, units)
        dense(model, classes)
        return {"type": kind, "hidden": hidden}
    if kind == "conv":
        filters = draw(st.integers(1, 8))
        model.add("conv", (1, 1, filters), h * w * c * filters + filters, 0, h * w * c * filters)
        for units in hidden:
            conv1x1(model, units)
        conv1x1(model, classes)
        model.add("flatten", (classes,))
        return {"type": "conv", "filters": filters, "hidden": hidden}
    if kind == "fcn":
        pool = draw(st.sampled_from(["avg", "max"]))
        for units in hidden:
            conv1x1(model, units)
        conv1x1(model, classes)
        model.add(f"global_{pool}_pool", (classes,))
        return {"type": "fcn", "hidden": hidden, "pool": pool}
    return {"type": "none"}


@st.composite
def stacks(draw: st.DrawFn) -> tuple[dict, Model, tuple[int, int] | None]:
    """A valid spec, the rows expected for it, and for a size-agnostic spec the image size the
    rows were worked out for (None for a fixed input)."""
    height, width, channels = draw(st.integers(1, 24)), draw(st.integers(1, 24)), draw(st.integers(1, 4))
    agnostic = draw(st.booleans())
    model = Model((height, width, channels))
    classes = draw(st.integers(2, 5))
    backbone = []
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.sampled_from(["layer", "layer", "layer", "residual", "repeat"]))
        if choice == "layer":
            backbone.append(draw(feature_layer(model)))
        else:
            backbone.append(draw(residual(model) if choice == "residual" else repeat(model)))
    spec_head = draw(head(model, classes, sized=not agnostic))
    if spec_head["type"] == "none":
        pools = ["global_avg_pool", "global_max_pool"] + ([] if agnostic else ["flatten"])
        pool = draw(st.sampled_from(pools))
        h, w, c = model.shape
        backbone.append({"type": pool})
        model.add(pool, (h * w * c,) if pool == "flatten" else (c,))
        backbone.append({"type": "dense", "units": classes})
        dense(model, classes)
    spec = {
        "name": "random", "title": "t", "source": "hypothesis", "classes": classes,
        "input": [None, None, channels] if agnostic else [height, width, channels],
        "backbone": backbone, "head": spec_head,
        "train": {"optimizer": {"name": "sgd"}}, "dataset": {"name": "synthetic"},
    }
    return spec, model, (height, width) if agnostic else None


def rows(analysis) -> list[Row]:
    return [(c.type, c.output_shape, c.trainable, c.non_trainable, c.macs) for c in analysis.layers]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_oracle_matches_the_independent_formulas(case: tuple[dict, Model, tuple[int, int] | None]) -> None:
    spec, model, size = case
    network = expand(Spec.model_validate(spec))
    analysis = analyse(network, size)
    assert rows(analysis) == model.rows
    assert analysis.trainable == sum(row[2] for row in model.rows)
    assert analysis.non_trainable == sum(row[3] for row in model.rows)
    assert analysis.macs == sum(row[4] for row in model.rows)
    assert analysis.layers[-1].output_shape == (spec["classes"],)


@settings(max_examples=100, deadline=None)
@given(stacks().filter(lambda case: case[2] is not None))
def test_size_agnostic_counts_do_not_depend_on_the_size(case: tuple[dict, Model, tuple[int, int] | None]) -> None:
    spec, model, _ = case
    analysis = analyse(expand(Spec.model_validate(spec)))
    assert analysis.params() == {
        "trainable": sum(row[2] for row in model.rows),
        "non_trainable": sum(row[3] for row in model.rows),
        "total": sum(row[2] + row[3] for row in model.rows),
    }
    feature_maps = [c.output_shape for c in analysis.layers if len(c.output_shape) == 3]
    assert all(shape[:2] == (None, None) for shape in feature_maps)
