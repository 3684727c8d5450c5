"""Which model of the schema validates each place of a spec, and what a key there takes, in words
(for messages: the pydantic errors of :mod:`harness.spec.messages` and the YAML checks of
:mod:`harness.spec.guard`)."""

from __future__ import annotations

from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from harness.spec import schema
from harness.spec.errors import LocPath

LAYER_MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in schema.Layer.__origin__.__args__  # type: ignore[attr-defined]
}
HEAD_MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in schema.Head.__origin__.__args__  # type: ignore[attr-defined]
}
OPTIMIZER_MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["name"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in schema.Optimizer.__origin__.__args__  # type: ignore[attr-defined]
}
SECTION_MODELS: dict[LocPath, type[BaseModel]] = {
    (): schema.Spec,
    ("train",): schema.Train,
    ("dataset",): schema.Dataset,
    ("expect",): schema.Expect,
    ("expect", "params"): schema.ExpectParams,
    ("expect", "backbone"): schema.ExpectParams,
    ("expect", "reference"): schema.Reference,
}
FIELD_HINTS: dict[str, str] = {
    "padding": "'valid', 'same', a number of pixels on every side, or [top, bottom, left, right]",
    "kernel": "a positive integer or [height, width]",
    "stride": "a positive integer or [height, width]",
    "pool": "a positive integer or [height, width]",
    "input": "[height, width, channels] with positive integers (height and width may be null)",
    "sizes": "a list of [height, width] pairs",
    "hidden": "a list of layer widths, e.g. [120, 84] (an item may also be a mapping such as {units: 120, dropout: 0.5})",
}
TYPE_WORDS: dict[type, str] = {int: "an integer", float: "a number", str: "text", bool: "true or false"}


def model_for(data: Any, loc: LocPath) -> type[BaseModel] | None:
    """The spec model that validates the mapping at ``loc`` (for listing its allowed keys)."""
    if loc in SECTION_MODELS:
        return SECTION_MODELS[loc]
    node = data
    for key in loc:
        node = node[key]
    if not isinstance(node, dict):
        return None
    if loc == ("head",):
        return HEAD_MODELS.get(node.get("type"))
    if loc == ("train", "optimizer"):
        return OPTIMIZER_MODELS.get(node.get("name"))
    if loc[:2] == ("expect", "findings"):
        return schema.Finding
    if loc[:2] == ("head", "hidden"):
        head_type = data.get("head", {}).get("type")
        return schema.HiddenDense if head_type in ("flatten", "global_avg", "global_max") else schema.HiddenConv
    return LAYER_MODELS.get(node.get("type"))


def takes(data: Any, loc: LocPath) -> str | None:
    """What the key at ``loc`` takes, e.g. ``an integer from 0 to 2,147,483,647``; None when the
    place is not a key of a known model (``data``: the spec, at least along ``loc``)."""
    if not loc or not isinstance(loc[-1], str):
        return None
    try:
        model = model_for(data, loc[:-1])
    except (KeyError, IndexError, TypeError):
        return None
    field = model.model_fields.get(loc[-1]) if model else None
    if field is None:
        return None
    if loc[-1] in FIELD_HINTS:
        return FIELD_HINTS[loc[-1]]
    kind = TYPE_WORDS.get(field.annotation)  # type: ignore[arg-type]
    if kind is None:
        return None
    bounds = {type(rule): rule for rule in field.metadata if isinstance(rule, (Ge, Gt, Le, Lt))}
    low = bounds[Ge].ge if Ge in bounds else (bounds[Gt].gt + 1 if Gt in bounds and field.annotation is int else None)
    high = bounds[Le].le if Le in bounds else None
    if low is not None and high is not None:
        return f"{kind} from {low:,} to {high:,}"
    floor = f"at least {low:,}" if low is not None else (f"above {bounds[Gt].gt:,}" if Gt in bounds else "")
    ceiling = f"at most {high:,}" if high is not None else (f"below {bounds[Lt].lt:,}" if Lt in bounds else "")
    return " ".join([kind, " and ".join(word for word in (floor, ceiling) if word)]).strip()
