"""A validated spec expanded into the flat, named layer list that plugins build.

Repeats are unrolled, the head is expanded into ordinary layers, every layer gets a unique name
(used as the key for per-layer parameter counts and neutral weights), and every shape is traced
once so that impossible networks are rejected before any framework sees them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from harness import limits
from harness.neutral import shapes
from harness.outdir import safe_file_name
from harness.spec import schema
from harness.spec.errors import LocPath

LOGITS = "logits"


class NetworkError(ValueError):
    """A problem found while expanding or tracing a network, tied to a location in the spec."""

    def __init__(self, loc: LocPath, what: str, fix: str) -> None:
        super().__init__(what)
        self.loc = loc
        self.what = what
        self.fix = fix


@dataclass(frozen=True)
class Node:
    """One layer of an expanded network. A residual node holds its block in ``children``."""

    name: str
    layer: schema.Layer
    loc: LocPath
    children: tuple[Node, ...] = ()

    @property
    def type(self) -> str:
        return self.layer.type


@dataclass(frozen=True)
class Traced:
    """A node with the shapes it sees; ``depth`` is its residual nesting level."""

    node: Node
    input_shape: shapes.Shape
    output_shape: shapes.Shape
    depth: int


@dataclass(frozen=True)
class Network:
    """A full network: the spec (after merging its variant) expanded into named nodes."""

    spec: schema.Spec
    variant: str | None
    nodes: tuple[Node, ...]
    path: str = ""
    trace: tuple[Traced, ...] = field(default=(), compare=False, repr=False)

    @property
    def key(self) -> str:
        """``name`` or ``name:variant``: unique within a run."""
        return self.spec.name if self.variant is None else f"{self.spec.name}:{self.variant}"

    @property
    def slug(self) -> str:
        """``key`` usable in file names (``:`` becomes ``-``; bounded in length)."""
        return safe_file_name(self.key.replace(":", "-"))

    @property
    def input_shape(self) -> shapes.Shape:
        return self.spec.input

    def walk(self) -> Iterator[Node]:
        """Every node in execution order: a residual block's layers, then the residual (the add)."""
        return (traced.node for traced in self.trace)


class _Namer:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.used: set[str] = set()

    def name(self, wanted: str | None, kind: str, loc: LocPath) -> str:
        if wanted:
            self.counts[wanted] += 1
            name = wanted if self.counts[wanted] == 1 else f"{wanted}_{self.counts[wanted]}"
        else:
            self.counts[kind] += 1
            name = f"{kind}_{self.counts[kind]}"
        if name in self.used:
            raise NetworkError(loc, f"the layer name '{name}' is used twice.", "give every layer a unique name.")
        self.used.add(name)
        return name


def count_layers(layers: list[schema.Layer], loc: LocPath, limit: int) -> int:
    """How many layers ``layers`` unroll to; :class:`NetworkError` at the first ``repeat`` that
    takes the count past ``limit`` (counted without unrolling anything)."""
    total = 0
    for index, layer in enumerate(layers):
        here = loc + (index,)
        if layer.type == "repeat":
            total += layer.times * count_layers(layer.layers, here + ("layers",), limit)
        elif layer.type == "residual":
            total += 1 + count_layers(layer.layers, here + ("layers",), limit)
        else:
            total += 1
        if total > limit:
            where = here + ("times",) if layer.type == "repeat" else here
            raise NetworkError(where, f"the network unrolls to more than {limit:,} layers here.",
                               f"use fewer repeats or layers; {limits.LAYERS.describe()}.")
    return total


def _expand_layers(layers: list[schema.Layer], loc: LocPath, namer: _Namer) -> list[Node]:
    nodes: list[Node] = []
    for index, layer in enumerate(layers):
        here = loc + (index,)
        if layer.type == "repeat":
            for _ in range(layer.times):
                nodes.extend(_expand_layers(layer.layers, here + ("layers",), namer))
        elif layer.type == "residual":
            name = namer.name(layer.name, "residual", here)
            children = tuple(_expand_layers(layer.layers, here + ("layers",), namer))
            nodes.append(Node(name, layer, here, children))
        else:
            nodes.append(Node(namer.name(layer.name, layer.type, here), layer, here))
    return nodes


def _dense_tail(head: schema.DenseHeadBase, classes: int) -> list[tuple[schema.Layer, LocPath]]:
    layers: list[tuple[schema.Layer, LocPath]] = []
    if head.dropout:
        layers.append((schema.Dropout(type="dropout", rate=head.dropout), ("head", "dropout")))
    for index, hidden in enumerate(head.hidden):
        loc = ("head", "hidden", index)
        layers.append((schema.Dense(type="dense", units=hidden.units, activation=hidden.activation), loc))
        if hidden.dropout:
            layers.append((schema.Dropout(type="dropout", rate=hidden.dropout), loc))
    layers.append((schema.Dense(type="dense", units=classes, name=LOGITS), ("head",)))
    return layers


def _conv_tail(hidden: list[schema.HiddenConv], classes: int) -> list[tuple[schema.Layer, LocPath]]:
    layers: list[tuple[schema.Layer, LocPath]] = []
    for index, conv in enumerate(hidden):
        loc = ("head", "hidden", index)
        layers.append((schema.Conv(type="conv", filters=conv.filters, kernel=1, activation=conv.activation), loc))
        if conv.dropout:
            layers.append((schema.Dropout(type="dropout", rate=conv.dropout), loc))
    layers.append((schema.Conv(type="conv", filters=classes, kernel=1, name=LOGITS), ("head",)))
    return layers


def head_layers(head: schema.Head, classes: int, feature_map: shapes.Shape) -> list[tuple[schema.Layer, LocPath]]:
    """The layers a head expands into, each with the spec location it came from."""
    if head.type == "flatten":
        return [(schema.Flatten(type="flatten"), ("head",))] + _dense_tail(head, classes)
    if head.type in ("global_avg", "global_max"):
        pool = schema.GlobalAvgPool if head.type == "global_avg" else schema.GlobalMaxPool
        return [(pool(type=f"{head.type}_pool"), ("head",))] + _dense_tail(head, classes)
    if head.type == "conv":
        if len(feature_map) != 3:
            raise NetworkError(("head",), "a conv head needs a feature map, but the backbone ends in a flat vector.",
                               "remove the flatten or global pooling at the end of the backbone.")
        height, width, _ = feature_map
        if height is None or width is None:
            raise NetworkError(
                ("head",), "a conv head's kernel must cover the whole feature map, which is unknown on a size-agnostic input.",
                "use head type fcn, global_avg or global_max, or give the input a fixed size.",
            )
        full = schema.Conv(type="conv", filters=head.filters, kernel=(height, width), activation=head.activation)
        layers: list[tuple[schema.Layer, LocPath]] = [(full, ("head", "filters"))]
        if head.dropout:
            layers.append((schema.Dropout(type="dropout", rate=head.dropout), ("head", "dropout")))
        return layers + _conv_tail(head.hidden, classes) + [(schema.Flatten(type="flatten"), ("head",))]
    if head.type == "fcn":
        pool = schema.GlobalAvgPool if head.pool == "avg" else schema.GlobalMaxPool
        return _conv_tail(head.hidden, classes) + [(pool(type=f"global_{head.pool}_pool"), ("head", "pool"))]
    return []


def trace(nodes: tuple[Node, ...], shape: shapes.Shape, depth: int = 0) -> list[Traced]:
    """Every node's input and output shape; impossible layers raise :class:`NetworkError`."""
    traced: list[Traced] = []
    for node in nodes:
        if node.children:
            inner = trace(node.children, shape, depth + 1)
            out = inner[-1].output_shape
            if out != shape:
                raise NetworkError(
                    node.loc,
                    f"a residual block must keep its input shape for the add, but it turns "
                    f"{shapes.describe_shape(shape)} into {shapes.describe_shape(out)}.",
                    "make the block's last layer restore the input's channels and use stride 1 with padding: same.",
                )
            traced.extend(inner)
            traced.append(Traced(node, shape, out, depth))
            continue
        try:
            out = shapes.output_shape(node.layer, shape)
            shapes.check_positive(out)
        except shapes.ShapeError as exc:
            raise NetworkError(node.loc, f"layer '{node.name}' ({node.type}) on input {shapes.describe_shape(shape)}: {exc.what}", exc.fix) from None
        if len(out) == 3 and out[2] > limits.MAX_WIDTH:
            raise NetworkError(node.loc, f"layer '{node.name}' ({node.type}) gives {out[2]:,} channels, more than the "
                                         f"{limits.MAX_WIDTH:,} a feature map may have.", "use fewer filters or a smaller depth_multiplier.")
        traced.append(Traced(node, shape, out, depth))
        shape = out
    return traced


def _head_nodes(spec: schema.Spec, feature_map: shapes.Shape, namer: _Namer) -> tuple[Node, ...]:
    try:
        layers = head_layers(spec.head, spec.classes, feature_map)
    except ValidationError:
        raise NetworkError(("head",), f"the conv head's kernel would cover the whole {shapes.describe_shape(feature_map)} "
                           f"feature map, larger than the {limits.MAX_SIDE:,} pixels a kernel may have.",
                           "make the backbone end in a smaller feature map, or use a global_avg or fcn head.") from None
    return tuple(Node(namer.name(layer.name, f"head_{layer.type}", loc), layer, loc) for layer, loc in layers)


def _check_sizes(spec: schema.Spec, nodes: tuple[Node, ...]) -> None:
    """A size-agnostic network must work at every image size its data set declares."""
    if not spec.size_agnostic:
        return
    for index, (height, width) in enumerate(spec.dataset.sizes or ()):
        try:
            trace(nodes, (height, width, spec.input[2]))
        except NetworkError as exc:
            raise NetworkError(exc.loc, f"at the image size {height}x{width} (dataset.sizes[{index}]), {exc.what}",
                               f"{exc.fix} Or remove {height}x{width} from dataset.sizes.") from None


def expand(spec: schema.Spec, variant: str | None = None, path: str = "") -> Network:
    """Expand and trace ``spec``; raises :class:`NetworkError` for an impossible network."""
    namer = _Namer()
    count_layers(spec.backbone, ("backbone",), limits.LAYERS.value)
    backbone = tuple(_expand_layers(spec.backbone, ("backbone",), namer))
    backbone_trace = trace(backbone, spec.input)
    feature_map = backbone_trace[-1].output_shape
    head = _head_nodes(spec, feature_map, namer)
    head_trace = trace(head, feature_map)
    full_trace = tuple(backbone_trace + head_trace)
    final = full_trace[-1].output_shape
    if final != (spec.classes,):
        raise NetworkError(
            ("head",) if head else ("backbone", len(spec.backbone) - 1),
            f"the network must end in a flat vector of classes={spec.classes} logits, but it ends in "
            f"{shapes.describe_shape(final)}.",
            f"end the backbone with a dense or 1x1 conv of {spec.classes} units and a flatten, or use a head type "
            "(flatten, global_avg, global_max, conv, fcn) that adds the classifier.",
        )
    _check_sizes(spec, backbone + head)
    return Network(spec, variant, backbone + head, path, full_trace)


def in_head(node: Node) -> bool:
    """Whether ``node`` is one of the head's layers (else the backbone's)."""
    return node.loc[:1] == ("head",)


def frozen_layers(network: Network) -> frozenset[str]:
    """The layers ``train.freeze`` leaves untrained (every backbone layer, or none); their
    parameters are non-trainable and their batch norms run on the moving statistics in training."""
    if network.spec.train.freeze != "backbone":
        return frozenset()
    return frozenset(node.name for node in network.walk() if not in_head(node))


def with_train(network: Network, **changes: object) -> Network:
    """``network`` with ``changes`` applied to its ``train`` settings (batch size, epochs, seed, init...)."""
    spec = network.spec.model_copy(update={"train": network.spec.train.model_copy(update=changes)})
    return Network(spec=spec, variant=network.variant, nodes=network.nodes, path=network.path, trace=network.trace)
