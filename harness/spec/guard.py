"""Bounds checked on a spec's YAML before it becomes Python data, so no small file costs unbounded
memory or time: nesting depth (before parsing, as ruamel.yaml's composer recurses and slows down
with depth), aliases that expand to too many values ("billion laughs"), recursive aliases, keys
that are not names, and integers too long to be a spec value.
"""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness import limits
from harness.spec.errors import LocPath, SpecError, describe, shown
from harness.spec.fields import takes

CORE = "tag:yaml.org,2002:"
STR_TAG = CORE + "str"
INT_TAG = CORE + "int"
MERGE_TAG = CORE + "merge"
PLAIN_TAGS = {CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
"""The kinds of value a spec is made of; other tags (!!binary, !!set, !!python/..., custom) are refused."""
KEY_KINDS = {"tag:yaml.org,2002:null": "null", "tag:yaml.org,2002:bool": "true or false",
             INT_TAG: "a number", "tag:yaml.org,2002:float": "a number"}
MAX_INT_CHARS = 40
"""Longest integer a spec may write (every bound of the schema has fewer digits)."""
SEQUENCE_DASHES = re.compile(r"(?:-[ \t]+)+")
QUOTE_STARTS = " \t:,[{-?"
FLOW_STARTS = ("", ":", "-", "?", ",", "[", "{")
"""The last character before a bracket that opens a flow collection ("" is the start of the line)."""


def _tag(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))


def _line_depth(line: str, depth: int, limit: int) -> tuple[int, int | None]:
    """The flow depth after ``line`` (starting at ``depth``) and the column where it passed ``limit``.

    A bracket counts where a flow collection can start (at the start of a value, or inside another
    one), so brackets inside plain text ("range [0, 1)") and quotes are not counted.
    """
    quote = None
    last = ""
    for column, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
            continue
        if char in "'\"" and (column == 0 or line[column - 1] in QUOTE_STARTS):
            quote = char
        elif char == "#" and (column == 0 or line[column - 1] in " \t"):
            break
        elif char in "[{" and (depth > 0 or last in FLOW_STARTS):
            depth += 1
            if depth > limit:
                return depth, column + 1
        elif char in "]}" and depth > 0:
            depth -= 1
        if char not in " \t":
            last = char
    return depth, None


def check_nesting(path: Path, text: str) -> None:
    """Refuse text nested deeper than the limit (block indentation levels plus open brackets).

    An estimate made without parsing, generous to real specs (which nest a handful of levels);
    quoted brackets and comments are skipped.
    """
    limit = limits.SPEC_DEPTH.value
    indents: list[int] = []
    flow = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        block = len(indents)
        if flow == 0 and stripped and not stripped.startswith("#"):
            indent = len(line) - len(stripped)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
            dashes = SEQUENCE_DASHES.match(stripped)
            block = len(indents) + (dashes.group(0).count("-") if dashes else 0)
        flow, column = _line_depth(line, flow, max(0, limit - block))
        if column is not None or block > limit:
            raise SpecError(path, number, column or len(line) - len(stripped) + 1, "",
                            f"the file nests deeper than a spec can: {limits.SPEC_DEPTH.describe()}.",
                            "flatten the nesting (a network spec nests a handful of levels).")


def _skeleton(node: Node, loc: LocPath) -> object:
    """The plain data along ``loc`` (with the scalar values beside it, such as a layer's ``type``),
    enough to tell which model validates the place ``loc``."""
    if isinstance(node, MappingNode):
        return {key.value: _skeleton(value, loc[1:]) if loc and key.value == loc[0] else
                (value.value if isinstance(value, ScalarNode) else None)
                for key, value in node.value if isinstance(key, ScalarNode)}
    if isinstance(node, SequenceNode):
        return [_skeleton(item, loc[1:]) if loc and index == loc[0] else None for index, item in enumerate(node.value)]
    return node.value


def _value_problem(path: Path, root: Node, node: Node, loc: LocPath) -> SpecError | None:
    """A value no spec holds (a date, another tag, a number too long to be a count), naming its key
    and, where the schema says, what the key takes."""
    tag = _tag(node)
    long_int = tag == INT_TAG and isinstance(node, ScalarNode) and len(node.value) > MAX_INT_CHARS
    if tag in PLAIN_TAGS and not long_int:
        return None
    if long_int:
        what = f"the number has {len(node.value)} characters; no spec value needs more than {MAX_INT_CHARS}"
        fix = "give the value meant (every count of a spec is far smaller)."
    elif tag == CORE + "timestamp":
        what, fix = f"YAML reads {shown(node.value)} as a date, which no spec value is", "quote it if it is text."
    else:
        what = f"the tag {tag.replace(CORE, '!!')} makes a kind of value no spec holds"
        fix = "remove the tag: a spec holds only text, numbers, true/false, null, lists and mappings."
    key = next((part for part in reversed(loc) if isinstance(part, str)), None)
    expected = takes(_skeleton(root, loc), loc)
    if expected:
        what += f", and '{key}' takes {expected}"
        fix = fix if expected == "text" else f"give '{key}' {expected}."
    return SpecError(path, node.start_mark.line + 1, node.start_mark.column + 1, describe(loc), what + ".", fix)


def _key_problem(path: Path, key: Node) -> SpecError | None:
    if isinstance(key, ScalarNode) and _tag(key) in (STR_TAG, MERGE_TAG):
        return None
    kind = KEY_KINDS.get(_tag(key), "a list or mapping") if isinstance(key, ScalarNode) else "a list or mapping"
    value = f"{shown(key.value)} " if isinstance(key, ScalarNode) else ""
    return SpecError(path, key.start_mark.line + 1, key.start_mark.column + 1, "",
                     f"the key {value}is {kind}, but every key of a spec is a name.",
                     "write a name of letters, digits and underscores that starts with a letter (e.g. 'v1', not 1).")


def _children(node: Node) -> list[tuple[Node, Node | None]]:
    """(child, the key it is the value of) for every child of ``node``; keys count as children too."""
    if isinstance(node, MappingNode):
        return [pair for key, value in node.value for pair in ((key, None), (value, key))]
    if isinstance(node, SequenceNode):
        return [(item, None) for item in node.value]
    return []


def _place(parent: Node, key: Node | None, index: int) -> str | int:
    """The key or list index under which the ``index``-th child of ``parent`` (see :func:`_children`) sits."""
    if isinstance(parent, SequenceNode):
        return index
    return str(key.value) if isinstance(key, ScalarNode) else f"<key {index // 2}>"


def check_nodes(path: Path, root: Node) -> None:
    """Refuse recursive aliases, non-name keys, over-long integers and alias expansion past the limit.

    One pass over the composed node graph (where an alias is the same node object again):
    each node's expanded size is computed once and reused wherever an alias repeats it.
    """
    limit = limits.SPEC_NODES.value
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool, LocPath]] = [(root, False, ())]
    while stack:
        node, done, loc = stack.pop()
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child, _ in _children(node))
            if sizes[id(node)] > limit:
                raise SpecError(path, node.start_mark.line + 1, node.start_mark.column + 1, "",
                                f"this value expands, through its aliases, to more values than a spec can hold: "
                                f"{limits.SPEC_NODES.describe()}.",
                                "write the values out once, or use a layer of type 'repeat' to repeat layers.")
            continue
        if id(node) in sizes:
            continue
        problem = _value_problem(path, root, node, loc)
        if problem:
            raise problem
        open_nodes.add(id(node))
        stack.append((node, True, loc))
        for index, (child, key) in enumerate(_children(node)):
            if id(child) in open_nodes:
                where = key if key is not None else node
                name = f" of {shown(key.value)}" if isinstance(key, ScalarNode) else ""
                anchor = getattr(child, "anchor", None)
                raise SpecError(path, where.start_mark.line + 1, where.start_mark.column + 1, "",
                                f"the value{name} is an alias{f' *{anchor}' if anchor else ''} of a value that contains "
                                "it (a recursive alias), which has no end.",
                                "refer only to values defined before and outside the alias.")
            problem = _key_problem(path, child) if key is None and isinstance(node, MappingNode) else None
            if problem:
                raise problem
            if id(child) not in sizes:
                stack.append((child, False, loc + (_place(node, key, index),)))
