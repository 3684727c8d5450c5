"""The framework-neutral spec: one network, its training set-up and the published figures.

Every layer and head is a pydantic model in a discriminated union keyed on ``type``, so a spec
is validated in one pass and an unknown layer type is reported with the valid choices. Nothing
here knows about any framework: the plugins build networks from these models.

Conventions (the neutral ones, translated by each plugin):

* Shapes are channels-last: ``input: [H, W, C]``; ``H``/``W`` may be ``null`` (size-agnostic).
* ``padding: same`` follows TensorFlow for every stride: output = ceil(input / stride), and the
  odd extra pixel of padding goes at the bottom/right. An explicit padding is a number of pixels
  on every side or ``[top, bottom, left, right]``.
* Batch norm ``momentum`` is the weight of the *old* running statistic (Keras and Paddle's
  convention: ``running = momentum * running + (1 - momentum) * batch``); PyTorch receives
  ``1 - momentum``. ``epsilon`` is added to the variance.
* Optimizer hyperparameters are written once, with the defaults below (Keras' values), and every
  plugin passes every one of them explicitly to its framework.
* The last layer of every network produces ``classes`` logits; the softmax of the published
  models is folded into the loss (cross-entropy from logits).

Types are strict, as a user reads them: an integer field takes an integer (not ``true``, ``"5"``
or ``6.0``), a number field takes a finite number, a switch takes ``true`` or ``false``, and
every count has a sanity bound from :mod:`harness.limits`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness import limits

ActivationName = Literal["relu", "relu6", "sigmoid", "tanh", "softmax", "linear"]
Width = Annotated[StrictInt, Field(gt=0, le=limits.MAX_WIDTH)]
Side = Annotated[StrictInt, Field(gt=0, le=limits.MAX_SIDE)]
Pixels = Annotated[StrictInt, Field(ge=0, le=limits.MAX_SIDE)]
Images = Annotated[StrictInt, Field(gt=0, le=limits.MAX_IMAGES)]
Count = Annotated[StrictInt, Field(ge=0, le=limits.MAX_IMAGES)]
Number = StrictFloat
PositiveNumber = Annotated[StrictFloat, Field(gt=0.0)]
Size2 = Union[Side, tuple[Side, Side]]
Padding = Union[Literal["valid", "same"], Pixels, tuple[Pixels, Pixels, Pixels, Pixels]]
Rate = Annotated[StrictFloat, Field(ge=0.0, lt=1.0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=limits.MAX_NAME_CHARS)]


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, never silently ignored; numbers are finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


RULE_ERROR = "spec_rule"
"""The pydantic error type of a spec rule broken across fields; its ``fix`` is in the context."""


def rule_error(what: str, fix: str) -> PydanticCustomError:
    """A validation error that carries its own fix (shown by the loader as ``Fix: ...``)."""
    return PydanticCustomError(RULE_ERROR, what.replace("{", "(").replace("}", ")"), {"fix": fix})


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """Normalise a size written as ``3`` or ``[3, 3]`` to ``(3, 3)``."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


class LayerBase(Strict):
    name: Name | None = Field(default=None, description="Optional layer name; generated if absent.")


class Conv(LayerBase):
    type: Literal["conv"]
    filters: Width
    kernel: Size2
    stride: Size2 = 1
    padding: Padding = "valid"
    activation: ActivationName = "linear"
    use_bias: StrictBool = True


class DepthwiseConv(LayerBase):
    type: Literal["depthwise_conv"]
    kernel: Size2
    stride: Size2 = 1
    padding: Padding = "valid"
    depth_multiplier: Width = 1
    activation: ActivationName = "linear"
    use_bias: StrictBool = True


class MaxPool(LayerBase):
    type: Literal["max_pool"]
    pool: Size2 = 2
    stride: Size2 | None = Field(default=None, description="Defaults to the pool size.")
    padding: Padding = "valid"


class AvgPool(LayerBase):
    type: Literal["avg_pool"]
    pool: Size2 = 2
    stride: Size2 | None = Field(default=None, description="Defaults to the pool size.")
    padding: Padding = Field(
        default="valid", description="Padded pixels are left out of each average (TensorFlow's rule)."
    )


class BatchNorm(LayerBase):
    type: Literal["batch_norm"]
    momentum: Number = Field(default=0.99, gt=0.0, lt=1.0, description="Weight of the old statistic.")
    epsilon: PositiveNumber = 1e-3


class Dropout(LayerBase):
    type: Literal["dropout"]
    rate: Rate


class Activation(LayerBase):
    type: Literal["activation"]
    function: ActivationName


class Flatten(LayerBase):
    """Flattens a feature map in channels-last (H, W, C) order, whatever the framework's layout."""

    type: Literal["flatten"]


class Dense(LayerBase):
    type: Literal["dense"]
    units: Width
    activation: ActivationName = "linear"
    use_bias: StrictBool = True


class GlobalAvgPool(LayerBase):
    type: Literal["global_avg_pool"]
    keepdims: StrictBool = False


class GlobalMaxPool(LayerBase):
    type: Literal["global_max_pool"]
    keepdims: StrictBool = False


class Residual(LayerBase):
    """``output = input + layers(input)``; the block must keep the shape of its input."""

    type: Literal["residual"]
    layers: list[Layer] = Field(min_length=1)


class Repeat(LayerBase):
    """``layers`` written once and applied ``times`` times in sequence (fresh weights each time)."""

    type: Literal["repeat"]
    times: Annotated[StrictInt, Field(gt=0, le=limits.MAX_REPEATS)]
    layers: list[Layer] = Field(min_length=1)


Layer = Annotated[
    Union[
        Conv,
        DepthwiseConv,
        MaxPool,
        AvgPool,
        BatchNorm,
        Dropout,
        Activation,
        Flatten,
        Dense,
        GlobalAvgPool,
        GlobalMaxPool,
        Residual,
        Repeat,
    ],
    Field(discriminator="type"),
]
Residual.model_rebuild()
Repeat.model_rebuild()



def type_names(union: Any) -> tuple[str, ...]:
    """The ``type`` of every member of a discriminated union (``Layer``, ``Head``), in the union's order."""
    members = get_args(get_args(union)[0])
    return tuple(get_args(member.model_fields["type"].annotation)[0] for member in members)


LAYER_TYPES = type_names(Layer)


# ----------------------------------------------------------------------------- heads


class HiddenDense(Strict):
    units: Width
    activation: ActivationName = "relu"
    dropout: Rate = Field(default=0.0, description="Dropout applied after this layer.")


class HiddenConv(Strict):
    filters: Width
    activation: ActivationName = "relu"
    dropout: Rate = Field(default=0.0, description="Dropout applied after this layer.")


def _int_shorthand(key: str) -> BeforeValidator:
    """Lets a ``hidden`` list write a layer as a bare integer ``n``, short for ``{key: n}``."""

    def expand(value: object) -> object:
        if not isinstance(value, list):
            return value
        return [{key: item} if isinstance(item, int) and not isinstance(item, bool) else item for item in value]

    return BeforeValidator(expand)


HiddenDenseLayers = Annotated[list[HiddenDense], _int_shorthand("units")]
HiddenConvLayers = Annotated[list[HiddenConv], _int_shorthand("filters")]


class DenseHeadBase(Strict):
    dropout: Rate = Field(default=0.0, description="Dropout before the first dense layer.")
    hidden: HiddenDenseLayers = Field(default_factory=list, description="Hidden dense layers.")


class FlattenHead(DenseHeadBase):
    """Flatten the feature map, then (dropout, hidden dense layers,) dense ``classes``."""

    type: Literal["flatten"]


class GlobalAvgHead(DenseHeadBase):
    """Global average pooling, then (dropout, hidden dense layers,) dense ``classes``."""

    type: Literal["global_avg"]


class GlobalMaxHead(DenseHeadBase):
    """Global max pooling, then (dropout, hidden dense layers,) dense ``classes``."""

    type: Literal["global_max"]


class ConvHead(Strict):
    """A conv whose kernel covers the whole feature map (a dense layer in disguise), then 1x1
    convs ending in ``classes`` filters, then a flatten of the 1x1 map."""

    type: Literal["conv"]
    filters: Width
    activation: ActivationName = "relu"
    dropout: Rate = Field(default=0.0, description="Dropout after the full-map conv.")
    hidden: HiddenConvLayers = Field(default_factory=list, description="Hidden 1x1 convs.")


class FcnHead(Strict):
    """Fully convolutional: 1x1 convs on the feature map ending in ``classes`` filters, then
    global pooling of the per-pixel logits. Works on any input size."""

    type: Literal["fcn"]
    hidden: HiddenConvLayers = Field(default_factory=list, description="Hidden 1x1 convs.")
    pool: Literal["avg", "max"] = "avg"


class NoHead(Strict):
    """No head: the backbone itself must end in a flat vector of ``classes`` logits."""

    type: Literal["none"]


Head = Annotated[
    Union[FlattenHead, GlobalAvgHead, GlobalMaxHead, ConvHead, FcnHead, NoHead],
    Field(discriminator="type"),
]
HEAD_TYPES = type_names(Head)


# ----------------------------------------------------------------------------- training


class Sgd(Strict):
    name: Literal["sgd"]
    lr: PositiveNumber = 0.01
    momentum: Annotated[StrictFloat, Field(ge=0.0, lt=1.0)] = 0.0
    nesterov: StrictBool = False


class MomentumSgd(Strict):
    """SGD with (heavy-ball or Nesterov) momentum: ``v = momentum * v - lr * g``."""

    name: Literal["momentum"]
    lr: PositiveNumber = 0.01
    momentum: Annotated[StrictFloat, Field(gt=0.0, lt=1.0)] = 0.9
    nesterov: StrictBool = False


class Adam(Strict):
    name: Literal["adam"]
    lr: PositiveNumber = 0.001
    beta1: Annotated[StrictFloat, Field(ge=0.0, lt=1.0)] = 0.9
    beta2: Annotated[StrictFloat, Field(ge=0.0, lt=1.0)] = 0.999
    epsilon: PositiveNumber = 1e-7


class Adadelta(Strict):
    name: Literal["adadelta"]
    lr: PositiveNumber = 1.0
    rho: Annotated[StrictFloat, Field(gt=0.0, lt=1.0)] = 0.95
    epsilon: PositiveNumber = 1e-7


class RmsProp(Strict):
    name: Literal["rmsprop"]
    lr: PositiveNumber = 0.001
    rho: Annotated[StrictFloat, Field(gt=0.0, lt=1.0)] = 0.9
    momentum: Annotated[StrictFloat, Field(ge=0.0, lt=1.0)] = 0.0
    epsilon: PositiveNumber = 1e-7
    centered: StrictBool = False


Optimizer = Annotated[Union[Sgd, MomentumSgd, Adam, Adadelta, RmsProp], Field(discriminator="name")]
OPTIMIZER_NAMES: tuple[str, ...] = ("sgd", "momentum", "adam", "adadelta", "rmsprop")


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class InitFile(Strict):
    """Start (some) layers from a neutral weight file (:mod:`harness.neutral.weight_file`); the other
    layers start as ``others`` says."""

    weights: str = Field(description="A .npz written by `harness weights import`/`export`; a relative path "
                                     "starts at the spec file's folder.")
    sha256: Sha256 | None = Field(default=None, description="The file's sha256; verified when given, recorded always.")
    layers: Literal["all", "backbone", "head"] = Field(
        default="all", description="Which of the file's layers to take: every one, or those of one part.")
    others: Literal["framework", "shared"] = Field(
        default="framework", description="How the layers not taken from the file start.")
    missing: Literal["error", "others"] = Field(
        default="error", description="error: a missing file stops the run; others: every layer starts as "
                                     "`others` says and the report says the file was not available.")


class Train(Strict):
    optimizer: Optimizer
    loss: Literal["cross_entropy"] = Field(
        default="cross_entropy", description="Softmax cross-entropy on the logits."
    )
    batch_size: Annotated[StrictInt, Field(gt=0, le=limits.MAX_BATCH)] = 64
    epochs: Annotated[StrictInt, Field(gt=0, le=limits.MAX_EPOCHS)] = 10
    seed: Annotated[StrictInt, Field(ge=0, le=limits.MAX_SEED)] = 0
    init: Literal["framework", "shared"] | InitFile = Field(
        default="framework",
        description="framework: each framework's own initialisers; shared: the same neutral weights; "
                    "{weights: file.npz, ...}: layers from a neutral weight file.",
    )
    freeze: Literal["none", "backbone"] = Field(
        default="none", description="backbone: the backbone's weights are not trained (non-trainable) and its "
                                    "batch norms run on their moving statistics.")


class Dataset(Strict):
    """Where the images come from and how they are fitted to the spec's input."""

    name: Literal["mnist", "fashion-mnist", "idx", "npz", "synthetic"]
    path: str | None = Field(default=None, description="Directory or file, for idx and npz.")
    fit: Literal["resize", "pad"] = Field(
        default="resize", description="How images are brought to the input's height and width."
    )
    normalize: StrictBool = Field(default=True, description="Scale pixels to [0, 1].")
    limit_train: Images | None = None
    limit_test: Images | None = None
    train_size: Images = Field(default=1024, description="Synthetic data: training images.")
    test_size: Images = Field(default=256, description="Synthetic data: test images.")
    sizes: list[tuple[Side, Side]] | None = Field(
        default=None,
        description="Size-agnostic inputs: image sizes to draw from, batched by size bucket.",
    )

    @model_validator(mode="after")
    def _path_for_user_data(self) -> Dataset:
        if self.name in ("idx", "npz") and not self.path:
            raise rule_error(
                f"data set '{self.name}' needs a 'path' to the user's files.",
                f"add 'path:' with the {'directory of IDX files' if self.name == 'idx' else '.npz file'}, "
                "or use name: mnist, fashion-mnist or synthetic.",
            )
        return self


# ----------------------------------------------------------------------------- expectations


class ExpectParams(Strict):
    total: Count | None = None
    trainable: Count | None = None
    non_trainable: Count | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ExpectParams:
        if self.total is None and self.trainable is None and self.non_trainable is None:
            raise rule_error(
                "no figure is given.", "give at least one of total, trainable, non_trainable, or remove the key."
            )
        return self


class Reference(Strict):
    """Figures the authors reported on their own hardware: compared against, never asserted."""

    test_accuracy: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] | None = None
    top2_accuracy: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] | None = None
    val_accuracy: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] | None = None
    us_per_sample: PositiveNumber | None = None
    note: str | None = None
    source: str | None = None


METRICS: tuple[str, ...] = ("test_accuracy", "step_time", "latency", "params", "macs", "learned")
"""What a finding may compare: the measured test accuracy, training step time, batch-1 inference
latency, the oracle's parameters and MACs, and whether the network learned at all."""
NetworkRef = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*(:[A-Za-z][A-Za-z0-9_]*)?$",
                                  max_length=2 * limits.MAX_NAME_CHARS + 1)]


class Finding(Strict):
    """A published take-away as a claim the harness can test: ``network``'s ``metric`` is
    ``direction`` than ``versus``'s (another network, ``chance``) or than ``value``.

    ``network`` and ``versus`` name a variant of this spec, or another spec's network (``lenet``,
    ``mnist_heads:dense``). ``published`` is the effect the source reported: a difference of
    accuracies (0.0027 = +0.27 points) for test_accuracy, a ratio (1.45 = 45% more) for times,
    parameters and MACs. ``same`` claims need a ``margin`` in that unit: the difference (or the
    ratio's distance from 1) within which the two count as the same (parameters and MACs, counted exactly,
    need none). ``learned`` takes
    ``direction: higher`` (it learns: above chance) or ``same`` (it does not: at chance).
    """

    claim: Annotated[str, Field(min_length=1, max_length=300)]
    metric: Literal["test_accuracy", "step_time", "latency", "params", "macs", "learned"]
    network: NetworkRef | None = Field(default=None, description="Defaults to the spec itself (a spec without variants).")
    versus: NetworkRef | None = Field(default=None, description="Another network, or chance.")
    value: StrictFloat | StrictInt | None = Field(default=None, description="A number to compare against instead.")
    direction: Literal["higher", "lower", "same"]
    published: StrictFloat | StrictInt | None = None
    margin: Annotated[StrictFloat, Field(gt=0.0)] | None = None
    source: Annotated[str, Field(min_length=1, max_length=300)]

    @model_validator(mode="after")
    def _one_comparison(self) -> Finding:
        if self.metric == "learned":
            if self.value is not None or self.versus not in (None, "chance") or self.direction == "lower":
                raise rule_error("a 'learned' finding compares the network with chance only.",
                                 "drop 'versus' and 'value', and write direction: higher (it learns) or same (it does not).")
            return self
        if (self.versus is None) == (self.value is None):
            raise rule_error("a finding compares with exactly one of 'versus' (a network, or chance) and 'value'.",
                             "write 'versus: <variant or spec>' or 'versus: chance', or 'value: <number>'.")
        if self.versus == "chance" and self.metric != "test_accuracy":
            raise rule_error(f"only test accuracy has a chance level, not {self.metric}.",
                             "compare with another network ('versus') or a number ('value').")
        if self.direction == "same" and self.margin is None and self.metric not in ("params", "macs"):
            raise rule_error("a 'same' finding needs the 'margin' within which the two count as the same.",
                             "add e.g. 'margin: 0.005' (half a point of accuracy) or 'margin: 0.05' (5% of a time).")
        return self


class Expect(Strict):
    params: ExpectParams | None = Field(default=None, description="The whole network's parameters.")
    backbone: ExpectParams | None = Field(
        default=None, description="The backbone's parameters alone (a published backbone count)."
    )
    reference: Reference | None = None
    findings: list[Finding] = Field(
        default_factory=list, max_length=limits.MAX_FINDINGS,
        description="The source's take-aways as claims, judged in every report (harness.findings).",
    )


class Spec(Strict):
    """One network and how to train it (a spec file, or one of its variants, after merging)."""

    name: Name
    title: str
    source: str
    description: str | None = None
    classes: Annotated[StrictInt, Field(ge=2, le=limits.MAX_CLASSES)]
    input: tuple[Side | None, Side | None, Width]
    backbone: list[Layer] = Field(min_length=1)
    head: Head
    train: Train
    dataset: Dataset
    expect: Expect | None = None

    @field_validator("input")
    @classmethod
    def _both_or_neither_unknown(
        cls, value: tuple[int | None, int | None, int]
    ) -> tuple[int | None, int | None, int]:
        height, width, _ = value
        if (height is None) != (width is None):
            raise rule_error(
                f"the input has one unknown and one known size "
                f"([{', '.join('null' if v is None else str(v) for v in value)}]).",
                "make height and width both numbers, or both null for a size-agnostic network.",
            )
        return value

    @property
    def size_agnostic(self) -> bool:
        return self.input[0] is None


SPEC_KEYS: tuple[str, ...] = tuple(Spec.model_fields) + ("variants",)
