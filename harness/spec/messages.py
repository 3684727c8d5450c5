"""Turning pydantic's validation errors into one-paragraph messages a user can act on."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from harness.spec import schema
from harness.spec.errors import SpecError, shown
from harness.spec.fields import FIELD_HINTS, model_for
from harness.spec.source import LocPath, SpecSource, describe

SYNONYMS: dict[str, str] = {
    "learning_rate": "lr", "learningrate": "lr", "lr_rate": "lr", "eps": "epsilon", "beta_1": "beta1", "beta_2": "beta2",
    "kernel_size": "kernel", "strides": "stride", "pool_size": "pool", "filter": "filters", "num_filters": "filters",
    "out_channels": "filters", "channels": "filters", "units_count": "units", "out_features": "units",
    "bias": "use_bias", "dropout_rate": "rate", "p": "rate", "num_classes": "classes", "n_classes": "classes",
    "input_shape": "input", "layers": "backbone", "batch": "batch_size", "batchsize": "batch_size",
    "num_epochs": "epochs", "n_epochs": "epochs", "epoch": "epochs", "random_seed": "seed", "data": "dataset",
    "optimiser": "optimizer", "opt": "optimizer", "activation_function": "activation", "act": "activation",
    "repeat": "times", "repeats": "times", "multiplier": "depth_multiplier", "size": "sizes",
}
"""Names other libraries use for a spec key, for "did you mean" where spelling alone cannot tell."""

Locator = Callable[[LocPath], LocPath]


def clean_loc(data: Any, loc: tuple[Any, ...]) -> LocPath:
    """Drop the union tags and branch names pydantic puts in ``loc`` but the file does not hold."""
    cleaned: list[str | int] = []
    node = data
    for position, key in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict) and key in node:
            cleaned.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            cleaned.append(key)
            node = node[key]
        elif isinstance(node, dict) and last and key not in (node.get("type"), node.get("name")):
            cleaned.append(key)
        elif not isinstance(node, (dict, list)):
            break
    return tuple(cleaned)


def suggest(word: str, choices: list[str]) -> str:
    """``Did you mean 'x'?`` for a close match, else an empty string."""
    synonym = SYNONYMS.get(str(word).lower())
    if synonym in choices:
        return f"Did you mean '{synonym}'? "
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"Did you mean '{close[0]}'? " if close else ""


def _choices(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _tag_message(data: Any, loc: LocPath, error: dict[str, Any]) -> tuple[str, str]:
    tag = error["ctx"]["discriminator"].strip("'")
    got = error["ctx"].get("tag")
    if tag == "name":
        kind, expected = "optimizer", list(schema.OPTIMIZER_NAMES)
    elif loc == ("head",):
        kind, expected = "head type", list(schema.HEAD_TYPES)
    else:
        kind, expected = "layer type", list(schema.LAYER_TYPES)
    if error["type"] == "union_tag_not_found":
        return f"this {kind.split()[0]} has no '{tag}' key.", f"add '{tag}:' with one of {_choices(expected)}."
    return f"unknown {kind} '{got}'.", f"{suggest(got, expected)}Use one of {_choices(expected)}."


def _item_count_message(field: str, value: Any) -> tuple[str, str]:
    count = len(value) if isinstance(value, (list, tuple)) else 1
    hint = FIELD_HINTS.get(field, "a list with the right number of items")
    return f"'{field}' has {count} item(s): {value!r}.", f"write it as {hint}."


def _message(data: Any, loc: LocPath, error: dict[str, Any]) -> tuple[str, str]:
    """(what is wrong, how to fix it) for one pydantic error at the cleaned ``loc``."""
    kind = error["type"]
    field = next((k for k in reversed(loc) if isinstance(k, str)), "")
    value = error.get("input")
    ctx = error.get("ctx", {})
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_message(data, loc, error)
    if kind == "extra_forbidden":
        model = model_for(data, loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        return (
            f"unknown key '{loc[-1]}'.",
            f"{suggest(str(loc[-1]), allowed)}Remove it or use one of the allowed keys: {', '.join(allowed)}.",
        )
    if kind == "missing":
        return f"the required key '{loc[-1]}' is missing.", f"add '{loc[-1]}:' with a value."
    if kind == schema.RULE_ERROR:
        return error["msg"], f"{ctx['fix']}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        sign = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        return f"'{field}' is {shown(value)}, but it must be {sign} {bound}.", f"give '{field}' a value {sign} {bound}."
    if kind == "literal_error":
        expected = [e.strip().strip("'") for e in ctx.get("expected", "").replace(" or ", ",").split(",")]
        return (
            f"'{field}' cannot be {shown(value)}.",
            f"{suggest(str(value), expected)}Use one of {_choices([e for e in expected if e])}.",
        )
    if kind in ("too_short", "too_long"):
        if isinstance(value, list) and not value and kind == "too_short":
            return f"'{field}' is an empty list.", f"give '{field}' at least {ctx.get('min_length', 1)} item(s)."
        if field in FIELD_HINTS:
            return f"'{field}' has the wrong number of items ({shown(value)}).", f"write it as {FIELD_HINTS[field]}."
        return f"'{field}' has the wrong number of items.", f"{error['msg']}."
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if loc and isinstance(loc[-1], int) and field in ("backbone", "layers"):
            return (
                f"item {loc[-1]} of '{field}' must be a layer (a mapping with a 'type'), not {shown(value)}.",
                "write each layer as a mapping, e.g. '- {type: conv, filters: 32, kernel: 3}'.",
            )
        if loc and isinstance(loc[-1], int) and field == "hidden":
            return (f"item {loc[-1]} of 'hidden' must be a layer width (an integer) or a mapping, not {shown(value)}.",
                    f"write 'hidden' as {FIELD_HINTS['hidden']}.")
        return f"'{field or 'this'}' must be a mapping of keys, not {shown(value)}.", "write it as 'key: value' lines."
    if kind in ("list_type", "tuple_type"):
        hint = FIELD_HINTS.get(field, "a list")
        return f"'{field}' must be a list, not {shown(value)}.", f"write it as {hint}."
    if kind == "finite_number":
        return f"'{field}' must be a finite number, not {shown(value)}.", f"give '{field}' an ordinary number."
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        return (f"'{field}' is {len(value) if isinstance(value, str) else '?'} characters long, but at most {limit} are "
                "allowed (names become file names).", f"shorten '{field}' to {limit} characters or fewer.")
    if kind == "value_error":
        return f"{error['msg'].removeprefix('Value error, ')}.", f"correct '{field or 'the value'}' as described."
    type_names = {
        "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "a whole number",
        "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
        "bool_parsing": "true or false", "string_type": "a text string", "float_from_string": "a number", "string_pattern_mismatch":
        "a name of letters, digits and underscores starting with a letter",
    }
    if kind in type_names:
        expected = FIELD_HINTS.get(field, type_names[kind])
        return f"'{field}' must be {expected}, not {shown(value)}.", f"change '{field}' to {expected}."
    return f"'{field}': {error['msg']}.", "correct the value."


def _misspelt(errors: list[dict[str, Any]], data: Any) -> set[LocPath]:
    """Locations of 'missing' keys that an unknown sibling key is a misspelling of: the unknown
    key's "did you mean" says it all, so the missing key is not reported on its own."""
    extras: dict[LocPath, list[str]] = {}
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = clean_loc(data, error["loc"])
            extras.setdefault(loc[:-1], []).append(str(loc[-1]))
    return {
        loc
        for error in errors
        if error["type"] == "missing"
        for loc in [clean_loc(data, error["loc"])]
        if difflib.get_close_matches(str(loc[-1]), extras.get(loc[:-1], []), n=1, cutoff=0.6)
        or any(SYNONYMS.get(extra.lower()) == loc[-1] for extra in extras.get(loc[:-1], []))
    }


def _is_short_list(error: dict[str, Any]) -> bool:
    """A fixed-length list (``input``, ``[h, w]``) with too few items: pydantic calls it a missing index."""
    return error["type"] == "missing" and isinstance(error["loc"][-1], int)


def translate(
    exc: ValidationError, data: Any, source: SpecSource, locator: Locator, context: str = ""
) -> list[SpecError]:
    """One :class:`SpecError` per distinct location in ``exc`` (union branches folded together)."""
    errors_found = exc.errors()
    misspelt = _misspelt(errors_found, data)
    grouped: dict[LocPath, list[dict[str, Any]]] = {}
    for error in errors_found:
        loc = clean_loc(data, error["loc"])
        if loc not in misspelt:
            grouped.setdefault(loc, []).append(error)
    results = []
    for loc, errors in grouped.items():
        field = next((k for k in reversed(loc) if isinstance(k, str)), "")
        if len(errors) > 1 and field in FIELD_HINTS:
            value = errors[0].get("input")
            what = f"'{field}' has an invalid value {shown(value)}."
            hint = suggest(value, ["valid", "same"]) if field == "padding" and isinstance(value, str) else ""
            fix = f"{hint}Write it as {FIELD_HINTS[field]}." if hint else f"write it as {FIELD_HINTS[field]}."
        elif _is_short_list(errors[0]):
            what, fix = _item_count_message(field, errors[0].get("input"))
        else:
            what, fix = _message(data, loc, errors[0])
        if errors[0]["type"] == "union_tag_invalid":
            loc_in_file = loc + (errors[0]["ctx"]["discriminator"].strip("'"),)  # the 'type:' or 'name:' key
        else:
            loc_in_file = loc
        line, col = source.locate(locator(loc_in_file))
        results.append(SpecError(source.path, line, col, context + describe(loc), what, fix))
    return results
