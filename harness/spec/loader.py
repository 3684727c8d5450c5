"""Loading a spec file into validated, expanded networks (one per variant)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness import limits
from harness.findings.claims import reference_problems
from harness.spec import schema
from harness.spec.errors import SpecError, SpecErrors
from harness.spec.messages import suggest, translate
from harness.spec.network import Network, NetworkError, expand
from harness.spec.source import LocPath, SpecSource, describe, read_spec_source
from harness.spec.variants import merge

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _locator(source: SpecSource, variant: str | None):
    """Map a location in the merged data to where the file holds it (the variant wins ties)."""

    def locate(loc: LocPath) -> LocPath:
        if variant is None:
            return loc
        in_variant = ("variants", variant) + loc
        override_depth = source.depth(in_variant) - 2
        if override_depth >= 1 and override_depth >= source.depth(loc):
            return in_variant
        return loc

    return locate


def _build(source: SpecSource, data: dict[str, Any], variant: str | None) -> Network:
    locate = _locator(source, variant)
    context = f"variant '{variant}', " if variant else ""
    try:
        spec = schema.Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecErrors(translate(exc, data, source, locate, context)) from None
    try:
        return expand(spec, variant, str(source.path))
    except NetworkError as exc:
        line, col = source.locate(locate(exc.loc))
        raise SpecErrors([SpecError(source.path, line, col, context + describe(exc.loc), exc.what, exc.fix)]) from None


def _variant_problems(source: SpecSource, variants: Any) -> list[SpecError]:
    if not isinstance(variants, dict) or not variants:
        return [source.error(("variants",), "'variants' must be a non-empty mapping of variant names to overrides.",
                             "write 'variants:' followed by indented 'name: {overrides}' entries, or remove it.")]
    if len(variants) > limits.VARIANTS.value:
        return [source.error(("variants",), f"the file has {len(variants):,} variants: {limits.VARIANTS.describe()}.",
                             "split the variants over several spec files.")]
    problems = []
    for name, override in variants.items():
        loc = ("variants", name)
        if not NAME_PATTERN.fullmatch(str(name)):
            problems.append(source.error(loc, f"the variant name '{name}' is not a valid name.",
                                         "use letters, digits and underscores, starting with a letter."))
        elif len(str(name)) > limits.MAX_NAME_CHARS:
            problems.append(source.error(loc, f"the variant name is {len(str(name))} characters long, but at most "
                                              f"{limits.MAX_NAME_CHARS} are allowed (names become file names).",
                                         f"shorten it to {limits.MAX_NAME_CHARS} characters or fewer."))
        elif not isinstance(override, dict):
            problems.append(source.error(loc, f"variant '{name}' must be a mapping of overrides, not {override!r}.",
                                         "write the keys it changes, e.g. 'head: {type: global_avg}'."))
        else:
            for key in override:
                if key in ("variants", "name"):
                    problems.append(source.error(loc + (key,), f"a variant cannot override '{key}'.",
                                                 "remove it; the variant's own name identifies it."))
                elif key not in schema.SPEC_KEYS:
                    problems.append(source.error(
                        loc + (key,), f"unknown key '{key}' in variant '{name}'.",
                        f"{suggest(key, list(schema.SPEC_KEYS))}A variant overrides top-level spec keys only."))
    return problems


def load_networks(path: Path | str) -> list[Network]:
    """Every network a spec file describes: the spec itself, or each of its variants.

    Raises :class:`SpecErrors` with every problem found, each located in the file.
    """
    try:
        return _load_networks(Path(path))
    except RecursionError:
        raise SpecError(path, None, None, "", "the file nests too deeply to be read (past Python's recursion limit).",
                        f"flatten the nesting; {limits.SPEC_DEPTH.env} was set above what can be read.") from None


def _load_networks(path: Path) -> list[Network]:
    source = read_spec_source(path)
    data = source.data
    variants = data.pop("variants", None)
    if "variants" not in source.tree:
        return _with_findings_checked(source, [_build(source, data, None)], None)
    problems = _variant_problems(source, variants)
    if problems:
        raise SpecErrors(problems)
    networks: list[Network] = []
    errors: dict[tuple[int | None, int | None, str], SpecError] = {}
    for name, override in variants.items():
        try:
            networks.append(_build(source, merge(data, override), name))
        except SpecErrors as exc:
            for error in exc.errors:
                errors.setdefault((error.line, error.column, error.what), error)
    if errors:
        raise SpecErrors(list(errors.values()))
    return _with_findings_checked(source, networks, list(variants))


def _with_findings_checked(source: SpecSource, networks: list[Network], variants: list[str] | None) -> list[Network]:
    """``networks``, once every finding of the file names networks it can (else :class:`SpecErrors`)."""
    problems = reference_problems(source, networks[0].spec.name, variants)
    if problems:
        raise SpecErrors(problems)
    return networks


def duplicate_networks(networks: list[Network]) -> tuple[list[Network], list[SpecError]]:
    """``networks`` without repeats of the same file, and an error for each network whose key
    (name, or name:variant) another spec file already uses: in one run, their job files and
    results would overwrite each other."""
    kept: list[Network] = []
    seen: dict[str, Network] = {}
    errors: list[SpecError] = []
    for network in networks:
        first = seen.get(network.key)
        if first is None:
            seen[network.key] = network
            kept.append(network)
            continue
        if Path(first.path).resolve() == Path(network.path).resolve():
            continue
        line, column = locate(network.path, None, ("name",))
        other_line, _ = locate(first.path, None, ("name",))
        errors.append(SpecError(
            network.path, line, column, "name",
            f"the network '{network.key}' has the same name as the one in {first.path}:{other_line}; in one run their "
            "job files and results would overwrite each other.",
            "give one of the two specs another 'name', or run them separately (with different --out folders).",
        ))
    return kept, errors


def locate(path: Path | str, variant: str | None, loc: LocPath) -> tuple[int, int]:
    """1-based (line, column) where the file holds ``loc`` of ``variant`` (its override, if it has
    one, else the base spec's key)."""
    source = read_spec_source(Path(path))
    return source.locate(_locator(source, variant)(loc))


def load_network(path: Path | str, variant: str | None = None) -> Network:
    """The one network of ``path`` named by ``variant`` (None for a file without variants)."""
    networks = load_networks(path)
    for network in networks:
        if network.variant == variant:
            return network
    names = ", ".join(str(n.variant) for n in networks)
    raise ValueError(f"{path} has no variant {variant!r}; it has: {names}")
