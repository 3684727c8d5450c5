"""Hypothesis strategies for random valid specs, for property tests of plugins.

The specs cover every layer type (residual and repeat included), strides 1 and 2, every padding
form (``valid``, ``same`` on odd and even sizes, pixels, asymmetric lists) and every head type,
on small inputs so that a framework builds and runs each in well under a second. Candidates that
are impossible (a window larger than its input, say) are filtered out by the spec's own checks.
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from harness.spec import Network
from harness.spec.network import NetworkError, expand
from harness.testing.specs import inline_spec

ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "softmax", "linear")
HEADS = ("flatten", "global_avg", "global_max", "conv", "fcn")

paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 1),
    st.lists(st.integers(0, 2), min_size=4, max_size=4),
)
sizes = st.one_of(st.integers(1, 3), st.lists(st.integers(1, 3), min_size=2, max_size=2))
strides = st.one_of(st.integers(1, 2), st.lists(st.integers(1, 2), min_size=2, max_size=2))


@st.composite
def window_layer(draw: st.DrawFn) -> dict[str, Any]:
    """A conv, depthwise conv or pooling layer with random kernel, stride and padding."""
    kind = draw(st.sampled_from(["conv", "depthwise_conv", "max_pool", "avg_pool"]))
    layer: dict[str, Any] = {"type": kind, "stride": draw(strides), "padding": draw(paddings)}
    if kind in ("max_pool", "avg_pool"):
        layer["pool"] = draw(sizes)
        return layer
    layer |= {"kernel": draw(sizes), "activation": draw(st.sampled_from(ACTIVATIONS)), "use_bias": draw(st.booleans())}
    if kind == "conv":
        layer["filters"] = draw(st.integers(1, 4))
    else:
        layer["depth_multiplier"] = draw(st.integers(1, 2))
    return layer


@st.composite
def plain_layer(draw: st.DrawFn) -> dict[str, Any]:
    """A shape-keeping layer: batch norm, activation or dropout."""
    kind = draw(st.sampled_from(["batch_norm", "activation", "dropout"]))
    if kind == "batch_norm":
        return {"type": kind, "momentum": draw(st.sampled_from([0.9, 0.99])), "epsilon": draw(st.sampled_from([1e-3, 1e-5]))}
    if kind == "activation":
        return {"type": kind, "function": draw(st.sampled_from(ACTIVATIONS))}
    return {"type": kind, "rate": draw(st.sampled_from([0.1, 0.5]))}


@st.composite
def residual_pair(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A conv that fixes the channel count, then a residual block (conv same + BN) on it."""
    filters = draw(st.integers(1, 4))
    block = [{"type": "conv", "filters": filters, "kernel": draw(st.sampled_from([1, 3])), "padding": "same"},
             {"type": "batch_norm"}]
    return [{"type": "conv", "filters": filters, "kernel": 1}, {"type": "residual", "layers": block}]


@st.composite
def backbone(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One to four blocks of layers, one of them possibly repeated."""
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(["window", "window", "plain", "residual", "repeat"]))
        if choice == "window":
            layers.append(draw(window_layer()))
        elif choice == "plain":
            layers.append(draw(plain_layer()))
        elif choice == "residual":
            layers.extend(draw(residual_pair()))
        else:
            layers.append({"type": "repeat", "times": 2, "layers": [{"type": "conv", "filters": 2, "kernel": 3, "padding": "same"}]})
    return layers


@st.composite
def head(draw: st.DrawFn) -> dict[str, Any]:
    """Any head type with random hidden layers and dropout."""
    kind = draw(st.sampled_from(HEADS))
    hidden = draw(st.lists(st.integers(1, 6), max_size=2))
    if kind in ("flatten", "global_avg", "global_max"):
        return {"type": kind, "hidden": hidden, "dropout": draw(st.sampled_from([0.0, 0.25]))}
    if kind == "conv":
        return {"type": kind, "filters": draw(st.integers(1, 6)), "hidden": hidden,
                "activation": draw(st.sampled_from(ACTIVATIONS))}
    return {"type": kind, "hidden": hidden, "pool": draw(st.sampled_from(["avg", "max"]))}


@st.composite
def networks(draw: st.DrawFn) -> Network:
    """A random valid network (impossible candidates are rejected with ``assume``)."""
    fields = {
        "classes": draw(st.integers(2, 5)),
        "input": [draw(st.integers(5, 13)), draw(st.integers(5, 13)), draw(st.integers(1, 3))],
        "backbone": draw(backbone()), "head": draw(head()),
    }
    try:
        return expand(inline_spec(**fields))
    except NetworkError:
        assume(False)
        raise
