"""Trained models from other tools as neutral weights for a spec: the framework-free half.

A plugin reads its framework's files (``harness_weight_readers`` in :mod:`harness.hookspecs`) into
a :class:`SourceModel`: the model's weighted layers in the order it runs them, each with its own
name, a kind and its tensors (channels-last as Keras holds them, or channels-first as PyTorch
does), and, where the model can run, its logits. Everything else happens here, the same for every
plugin: the model's layers are matched one by one, in order, with the spec's weighted layers;
every pair is checked (kind, bias, shape, batch-norm epsilon and statistics), channels-first
tensors are converted with :mod:`harness.neutral.channels_first` (the rows of a dense after a flatten
taken from (C, H, W) to the neutral (H, W, C) order); a mismatch is a :class:`ConversionError`
naming the spec layer, the model layer and the fix. Where the model can run and the file covers
every layer, the model's own logits are compared with the numpy reference's on the converted
weights, so a conversion that is wrong anywhere cannot pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from harness.neutral import channels_first
from harness.equivalence import reference
from harness.framework import NeutralWeights
from harness.neutral.pretrained import part_layers
from harness.spec import Network, Node
from harness.neutral.weights import weight_shapes

if TYPE_CHECKING:
    import pluggy

Kind = Literal["conv", "depthwise_conv", "dense", "batch_norm"]
Layout = Literal["channels_last", "channels_first"]
LOGITS_TOLERANCE = 1e-4
"""Largest difference (relative to the logits' scale) between the model's logits and the reference's."""
CHECK_IMAGES = 2
CHECK_SEED = 0


class ConversionError(ValueError):
    """A model that does not match the spec, naming both layers and the fix."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what} Fix: {fix}")
        self.what = what
        self.fix = fix


@dataclass(frozen=True)
class SourceLayer:
    """One weighted layer of the model being imported.

    ``tensors`` use the neutral names in the neutral layout when ``layout`` is ``channels_last``
    (Keras); with ``channels_first`` they use PyTorch's names and layout (``weight`` OIHW or
    ``(out, in)``, ``bias``, ``running_mean``, ``running_var``) and a ``conv`` may turn out to be
    a depthwise conv (PyTorch's grouped conv): the spec layer it meets decides.
    """

    name: str
    kind: Kind
    tensors: dict[str, np.ndarray]
    layout: Layout
    type_name: str = ""
    epsilon: float | None = None

    def describe(self) -> str:
        return f"'{self.name}' ({self.type_name or self.kind})"


@dataclass
class SourceModel:
    """A model read by a plugin: its weighted layers in execution order, and its logits when it can run."""

    description: str
    layers: list[SourceLayer]
    predict: Callable[[np.ndarray], np.ndarray] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WeightReader:
    """A plugin's reader of one kind of model file: what it accepts, and how it reads it."""

    name: str
    description: str
    accepts: Callable[[str], bool]
    read: Callable[[str, Network], SourceModel]


@dataclass
class Conversion:
    """The neutral weights of the matched layers and the record of the match."""

    weights: NeutralWeights
    pairs: list[tuple[str, str]]
    left: list[str]
    notes: list[str] = field(default_factory=list)
    logits_max_abs: float | None = None


def weight_readers(manager: pluggy.PluginManager) -> dict[str, WeightReader]:
    """Every reader the installed plugins register, by name."""
    readers: dict[str, WeightReader] = {}
    manager.hook.harness_weight_readers(register=lambda reader: readers.setdefault(reader.name, reader))
    return readers


def choose_reader(readers: dict[str, WeightReader], source: str, name: str | None) -> WeightReader:
    """The reader named ``name``, or the one reader that accepts ``source``."""
    known = ", ".join(f"{r.name} ({r.description})" for r in readers.values()) or "none (install the keras or torch plugin)"
    if name is not None:
        if name not in readers:
            raise ConversionError(f"no reader is called '{name}'.", f"use one of: {known}.")
        return readers[name]
    accepting = [reader for reader in readers.values() if reader.accepts(source)]
    if len(accepting) != 1:
        what = "no reader accepts" if not accepting else "several readers accept"
        raise ConversionError(f"{what} '{source}'.", f"name one with --reader; readers: {known}.")
    return accepting[0]


def _shape_text(tensors: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{name} {shape}" for name, shape in tensors.items())


def _kind_matches(node: Node, source: SourceLayer) -> bool:
    if source.layout == "channels_first" and source.kind == "conv":
        return node.type in ("conv", "depthwise_conv")
    return node.type == source.kind


def convert_layer(node: Node, source: SourceLayer, expected: dict[str, tuple[int, ...]],
                  plan: channels_first.LayoutPlan) -> dict[str, np.ndarray]:
    """``source``'s tensors as the spec layer ``node`` needs them, checked."""
    pair = f"spec layer '{node.name}' ({node.type}) and model layer {source.describe()}"
    if not _kind_matches(node, source):
        raise ConversionError(f"{pair} are different kinds of layer; the layers are matched in order, so the model "
                              f"has a layer the spec lacks (or lacks one it has) at or before this point.",
                              "make the spec's layers follow the model's, one for one.")
    if source.layout == "channels_first":
        if node.type == "depthwise_conv" and source.tensors["weight"].shape[1] != 1:
            raise ConversionError(f"{pair}: the model's conv is not depthwise (weight {source.tensors['weight'].shape}).",
                                  "make the spec's layer a conv, or import the right model.")
        try:
            tensors = channels_first.torch_layer_to_neutral(node, source.tensors, plan.orders[node.name])
        except (KeyError, ValueError, IndexError) as exc:
            raise ConversionError(f"{pair}: the model's tensors {_shape_text({k: v.shape for k, v in source.tensors.items()})} "
                                  f"cannot be laid out as the spec's {_shape_text(expected)} ({exc}).",
                                  "make the spec's layer match the model's (filters, kernel, units, inputs).") from None
    else:
        tensors = dict(source.tensors)
    if set(tensors) != set(expected):
        has, needs = ("has" if "bias" in tensors else "has no"), ("needs" if "bias" in expected else "has no")
        raise ConversionError(f"{pair}: the model's layer {has} bias, the spec's {needs} one.",
                              f"set use_bias: {str('bias' in tensors).lower()} on the spec's layer.")
    found = {name: tuple(array.shape) for name, array in tensors.items()}
    if found != expected:
        raise ConversionError(f"{pair} differ in shape: the model's {_shape_text(found)}, the spec's {_shape_text(expected)}.",
                              "make the spec's layer match the model's (filters, kernel, units, input size), "
                              "or import a model built like the spec.")
    if node.type == "batch_norm":
        _check_batch_norm(node, source, tensors, pair)
    return {name: np.asarray(array, dtype=np.float32) for name, array in tensors.items()}


def _check_batch_norm(node: Node, source: SourceLayer, tensors: dict[str, np.ndarray], pair: str) -> None:
    epsilon = node.layer.epsilon  # type: ignore[union-attr]
    if source.epsilon is not None and not np.isclose(source.epsilon, epsilon, rtol=1e-6, atol=0.0):
        raise ConversionError(f"{pair}: the model's epsilon is {source.epsilon:g}, the spec's {epsilon:g}.",
                              f"set epsilon: {source.epsilon:g} on the spec's batch norm.")
    variance = tensors["moving_variance"]
    if not (np.isfinite(variance).all() and (variance >= 0).all() and np.isfinite(tensors["moving_mean"]).all()):
        raise ConversionError(f"{pair}: the model's moving statistics are not finite, non-negative variances.",
                              "check that the model's running mean and variance are where the layer keeps them.")


def _check_count(network: Network, model: SourceModel, layers: str) -> list[str]:
    """The spec layers the model leaves to the spec's initialisation; a :class:`ConversionError`
    when the model's layers do not cover a whole part (after every pair matched)."""
    everything, backbone = part_layers(network, "all"), part_layers(network, "backbone")
    count = len(model.layers)
    if layers == "backbone":
        if count < len(backbone):
            raise ConversionError(f"the model has {count} weighted layers, fewer than the spec's backbone's {len(backbone)}.",
                                  "import a model that holds the whole backbone.")
        return everything[len(backbone):]
    if count > len(everything):
        extra = model.layers[len(everything)].describe()
        raise ConversionError(f"the model has {count} weighted layers, more than the spec's {len(everything)} (the "
                              f"first left over is {extra}).",
                              "pass --layers backbone to take the model's first layers for the backbone alone, or "
                              "give the spec the model's head.")
    if count not in (len(backbone), len(everything)):
        last = everything[count - 1] if count else "none"
        raise ConversionError(f"the model's {count} weighted layers end at spec layer '{last}', inside the "
                              f"{'backbone' if count < len(backbone) else 'head'}.",
                              "import a model that holds the whole backbone (and, for the head too, the whole head).")
    return everything[count:]


def convert(model: SourceModel, network: Network, layers: Literal["all", "backbone"] = "all") -> Conversion:
    """The model's weights as the spec's, matched layer by layer and checked (see the module)."""
    targets = part_layers(network, layers)
    expected, plan = weight_shapes(network), channels_first.layout_plan(network)
    nodes = {node.name: node for node in network.walk()}
    pairs = list(zip(targets, model.layers, strict=False))
    weights = {name: convert_layer(nodes[name], source, expected[name], plan) for name, source in pairs}
    left = _check_count(network, model, layers)
    result = Conversion(weights, [(name, source.name) for name, source in pairs], left, list(model.notes))
    if model.predict is not None and not left and len(model.layers) == len(targets):
        result.logits_max_abs = check_logits(network, weights, model.predict)
    return result


def check_images(network: Network, count: int = CHECK_IMAGES, seed: int = CHECK_SEED) -> np.ndarray:
    """Seeded images in [0, 1] at the spec's input size (32 x 32 for a size-agnostic spec)."""
    height, width, channels = network.input_shape
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.random((count, height or 32, width or 32, int(channels)), dtype=np.float32)


def check_logits(network: Network, weights: NeutralWeights, predict: Callable[[np.ndarray], np.ndarray]) -> float:
    """The largest difference between the model's logits and the reference's on the converted
    weights; a :class:`ConversionError` when it is beyond float32 rounding."""
    images = check_images(network)
    ours = reference.layer_outputs(network, weights, images)[list(network.walk())[-1].name]
    theirs = np.asarray(predict(images), dtype=np.float64)
    if theirs.shape != ours.shape:
        raise ConversionError(f"the model gives logits of shape {theirs.shape}, the spec {ours.shape}.",
                              "give the spec the model's number of classes, or import with --layers backbone.")
    difference = float(np.abs(theirs - ours).max())
    if difference > LOGITS_TOLERANCE * max(1.0, float(np.abs(ours).max())):
        raise ConversionError(f"every layer matched in shape, but the model's logits differ from the spec's on the "
                              f"converted weights by up to {difference:.3g}: the spec computes something else "
                              "(an activation, a padding, a pooling or the layer order differs).",
                              "compare the spec with the model layer by layer (`harness check`), or import with "
                              "--layers backbone when only the backbone is the model's.")
    return difference
