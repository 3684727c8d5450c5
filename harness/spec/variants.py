"""Variants: named overrides of a spec's base, each merged into a full network."""

from __future__ import annotations

from typing import Any


def merge(base: Any, override: Any, key: str | None = None) -> Any:
    """Deep-merge ``override`` into ``base``.

    Mappings merge key by key; lists and scalars are replaced whole. A mapping whose
    discriminator differs (a layer or head ``type``, an optimizer ``name``) replaces the base
    mapping entirely, so the fields of one head type never leak into another.
    """
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    tag = "name" if key == "optimizer" else "type"
    if tag in override and override[tag] != base.get(tag):
        return override
    merged = dict(base)
    for name, value in override.items():
        merged[name] = merge(base[name], value, name) if name in base else value
    return merged
