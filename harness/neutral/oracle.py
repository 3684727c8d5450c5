"""The framework-free oracle: every layer's output shape, parameters and multiply-accumulates.

Parameters are split as every framework should report them after normalisation: batch norm's
scale and shift are trainable, its moving mean and variance non-trainable; with ``train.freeze:
backbone`` every parameter of the backbone is non-trainable. MACs count the
multiply-accumulates of convolutions and dense layers (pooling, batch norm, activations and adds
are not counted); on a size-agnostic input they are only known for a given input size.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.neutral import shapes
from harness.results import ExpectRow, LayerRow, NetworkCheck, Params
from harness.spec import schema
from harness.spec.network import Network, Traced, in_head, trace


@dataclass(frozen=True)
class LayerCount:
    """The oracle's figures for one layer."""

    name: str
    type: str
    output_shape: shapes.Shape
    trainable: int
    non_trainable: int
    macs: int | None
    depth: int = 0
    part: str = "backbone"

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


@dataclass(frozen=True)
class ExpectCheck:
    """One published figure against the oracle's; ``scope`` is ``params`` (the whole network) or
    ``backbone`` (the backbone alone)."""

    field: str
    expected: int
    actual: int
    scope: str = "params"

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class Analysis:
    """The oracle's figures for a whole network at one input size."""

    key: str
    input_shape: shapes.Shape
    layers: tuple[LayerCount, ...]

    @property
    def trainable(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    @property
    def non_trainable(self) -> int:
        return sum(layer.non_trainable for layer in self.layers)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def macs(self) -> int | None:
        values = [layer.macs for layer in self.layers]
        return None if any(v is None for v in values) else sum(values)  # type: ignore[misc]

    def params(self) -> dict[str, int]:
        """The whole network's parameters: trainable, non_trainable, total."""
        return _split(self.layers)

    def backbone_params(self) -> dict[str, int]:
        """The backbone's parameters alone (every layer before the head)."""
        return _split(tuple(layer for layer in self.layers if layer.part == "backbone"))


def _split(layers: tuple[LayerCount, ...]) -> dict[str, int]:
    trainable = sum(layer.trainable for layer in layers)
    non_trainable = sum(layer.non_trainable for layer in layers)
    return {"trainable": trainable, "non_trainable": non_trainable, "total": trainable + non_trainable}


def layer_params(layer: schema.Layer, input_shape: shapes.Shape) -> tuple[int, int]:
    """(trainable, non-trainable) parameters of one layer on ``input_shape``."""
    channels = input_shape[-1]
    assert channels is not None
    if layer.type == "conv":
        kh, kw = schema.pair(layer.kernel)
        return kh * kw * channels * layer.filters + (layer.filters if layer.use_bias else 0), 0
    if layer.type == "depthwise_conv":
        kh, kw = schema.pair(layer.kernel)
        outputs = channels * layer.depth_multiplier
        return kh * kw * outputs + (outputs if layer.use_bias else 0), 0
    if layer.type == "dense":
        return channels * layer.units + (layer.units if layer.use_bias else 0), 0
    if layer.type == "batch_norm":
        return 2 * channels, 2 * channels
    return 0, 0


def layer_macs(layer: schema.Layer, input_shape: shapes.Shape, output_shape: shapes.Shape) -> int | None:
    """Multiply-accumulates of one layer for one image; None when the size is unknown."""
    if layer.type not in ("conv", "depthwise_conv", "dense"):
        return 0
    if any(size is None for size in output_shape):
        return None
    if layer.type == "dense":
        return int(input_shape[-1]) * layer.units  # type: ignore[arg-type]
    kh, kw = schema.pair(layer.kernel)
    out_h, out_w, out_c = output_shape
    per_output = kh * kw * (int(input_shape[-1]) if layer.type == "conv" else 1)  # type: ignore[arg-type]
    return int(out_h) * int(out_w) * int(out_c) * per_output  # type: ignore[arg-type]


def _count(traced: Traced, frozen: str) -> LayerCount:
    node = traced.node
    trainable, non_trainable = (0, 0) if node.children else layer_params(node.layer, traced.input_shape)
    macs = 0 if node.children else layer_macs(node.layer, traced.input_shape, traced.output_shape)
    part = "head" if in_head(node) else "backbone"
    if part == frozen:
        trainable, non_trainable = 0, trainable + non_trainable
    return LayerCount(node.name, node.type, traced.output_shape, trainable, non_trainable, macs, traced.depth, part)


def analyse(network: Network, size: tuple[int, int] | None = None) -> Analysis:
    """The oracle's figures for ``network``, on its own input or on an image of ``size`` (H, W)."""
    input_shape = network.input_shape if size is None else (size[0], size[1], network.input_shape[2])
    traced = network.trace if size is None else tuple(trace(network.nodes, input_shape))
    frozen = network.spec.train.freeze
    return Analysis(network.key, input_shape, tuple(_count(t, frozen) for t in traced))


def check_expect(analysis: Analysis, expect: schema.Expect | None) -> list[ExpectCheck]:
    """Every published parameter figure (whole network, then backbone) against the oracle's."""
    if expect is None:
        return []
    checks: list[ExpectCheck] = []
    for scope, published, actual in (
        ("params", expect.params, analysis.params()),
        ("backbone", expect.backbone, analysis.backbone_params()),
    ):
        if published is not None:
            checks.extend(
                ExpectCheck(field, value, actual[field], scope)
                for field, value in published.model_dump().items()
                if value is not None
            )
    return checks


def macs_by_size(network: Network) -> dict[str, int | None]:
    """A size-agnostic network's MACs at each image size its data set gives (``HxW`` keys)."""
    sizes = network.spec.dataset.sizes if network.spec.size_agnostic else None
    return {f"{h}x{w}": analyse(network, (h, w)).macs for h, w in sizes or ()}


def as_json(network: Network, analysis: Analysis, checks: list[ExpectCheck]) -> NetworkCheck:
    """One network's check as ``harness check --json`` prints it and a run's results keep it."""
    expect = network.spec.expect
    return NetworkCheck(
        name=network.spec.name, variant=network.variant, file=network.path, input=list(analysis.input_shape),
        layers=[LayerRow(name=layer.name, type=layer.type, output_shape=list(layer.output_shape), trainable=layer.trainable,
                         non_trainable=layer.non_trainable, total=layer.total, macs=layer.macs, depth=layer.depth)
                for layer in analysis.layers],
        params=Params(**analysis.params()), backbone_params=Params(**analysis.backbone_params()), macs=analysis.macs,
        macs_by_size=macs_by_size(network),
        expect=[ExpectRow(scope=c.scope, field=c.field, expected=c.expected, actual=c.actual, ok=c.ok) for c in checks],
        expect_ok=all(c.ok for c in checks), reference=expect.reference if expect else None,
        findings=list(expect.findings) if expect else [],
    )
