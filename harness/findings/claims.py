"""The spec side of findings: the networks a finding names, resolved to run keys, and the
``harness check`` errors for a finding that names a variant the file does not have."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.spec.errors import SpecError
from harness.spec.source import SpecSource

CHANCE = "chance"


@dataclass(frozen=True)
class Claim:
    """One finding of one spec file, its networks resolved to the keys jobs carry (``spec:variant``)."""

    spec: str
    index: int
    claim: str
    metric: str
    network: str
    versus: str | None
    """Another network's key, ``chance``, or None when the claim compares with ``value``."""
    value: float | None
    direction: str
    published: float | None
    margin: float | None
    source: str

    @property
    def key(self) -> str:
        """What tells this finding apart in a run: its spec and its place in the list (``lenet_stride2#1``)."""
        return f"{self.spec}#{self.index + 1}"


def resolve(spec: str, has_variants: bool, ref: str | None) -> str | None:
    """The network key ``ref`` names from a file called ``spec``: in a file with variants a bare name is
    one of them (``spec:ref``); ``spec:variant`` and a bare name elsewhere name a network as it is.
    None for no ``ref`` where the file has variants (it must name one)."""
    if ref is None:
        return None if has_variants else spec
    if ref == CHANCE or ":" in ref or not has_variants:
        return ref
    return f"{spec}:{ref}"


def claims_from(spec: str, has_variants: bool, findings: list[dict[str, Any]]) -> list[Claim]:
    """A file's findings (validated mappings, as the spec holds them) as claims with resolved networks."""
    claims = []
    for index, finding in enumerate(findings):
        versus = finding.get("versus")
        claims.append(Claim(
            spec=spec, index=index, claim=finding["claim"], metric=finding["metric"],
            network=resolve(spec, has_variants, finding.get("network")) or "",
            versus=CHANCE if finding["metric"] == "learned" else resolve(spec, has_variants, versus) if versus else None,
            value=finding.get("value"), direction=finding["direction"], published=finding.get("published"),
            margin=finding.get("margin"), source=finding["source"],
        ))
    return claims


def reference_problems(source: SpecSource, spec: str, variants: list[str] | None) -> list[SpecError]:
    """An error, at its line, for each finding that names a variant the file does not have (or none,
    where the file has variants), and for a variant that overrides the file's findings."""
    problems = []
    data = source.data
    for name in variants or ():
        if "findings" in ((data.get("variants") or {}).get(name) or {}).get("expect", {}):
            problems.append(source.error(
                ("variants", name, "expect", "findings"), f"variant '{name}' overrides the file's findings.",
                "move the finding to the top-level 'expect: findings:' list and name the variant in its 'network'."))
    findings = (data.get("expect") or {}).get("findings") or []
    choices = ", ".join(f"'{v}'" for v in variants or ())
    for index, finding in enumerate(findings):
        for field in ("network", "versus"):
            ref = finding.get(field)
            if field == "versus" and ref is None:
                continue
            if ref == CHANCE or (ref is not None and (":" in ref or variants is None or ref in variants)):
                continue
            if ref is None and variants is None:
                continue
            loc = ("expect", "findings", index) + ((field,) if ref is not None else ())
            if ref is None:
                what = "the finding names no 'network', but the file has variants."
                fix = f"add 'network:' with one of its variants: {choices}."
            else:
                what = f"'{field}' names '{ref}', which is not a variant of this file."
                fix = (f"name one of its variants ({choices}) or another spec's network as 'spec:variant'"
                       + (", or write 'chance'" if field == "versus" else "") + ".")
            problems.append(source.error(loc, what, fix))
    return problems
