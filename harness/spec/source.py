"""Reading a spec file with ruamel.yaml, keeping where every key came from."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from harness import limits
from harness.spec.errors import LocPath, SpecError, describe
from harness.spec.guard import check_nesting, check_nodes


@dataclass(frozen=True)
class SpecSource:
    """A parsed YAML spec: plain data for validation plus the node tree for line numbers."""

    path: Path
    tree: CommentedMap

    @property
    def data(self) -> dict[str, Any]:
        return to_plain(self.tree)

    def depth(self, loc: LocPath) -> int:
        """How many leading elements of ``loc`` exist in the file."""
        node: Any = self.tree
        for depth, key in enumerate(loc):
            if not _has(node, key):
                return depth
            node = node[key]
        return len(loc)

    def locate(self, loc: LocPath) -> tuple[int, int]:
        """1-based (line, column) of the deepest key of ``loc`` that the file holds."""
        node: Any = self.tree
        line, col = 1, 1
        for key in loc:
            if not _has(node, key):
                break
            position = _key_position(node, key) if isinstance(node, CommentedMap) else node.lc.item(key)
            if position is None:
                break
            line, col = position
            line, col = line + 1, col + 1
            node = node[key]
        return line, col

    def error(self, loc: LocPath, what: str, fix: str) -> SpecError:
        """A :class:`SpecError` pointing at ``loc`` in this file."""
        line, col = self.locate(loc)
        return SpecError(self.path, line, col, describe(loc), what, fix)


def _key_position(node: CommentedMap, key: str | int) -> tuple[int, int] | None:
    """0-based (line, column) of ``key`` in ``node``, or in the mapping a ``<<:`` merge took it from."""
    if key in node.lc.data:
        return node.lc.key(key)
    for merged in getattr(node, "merge", None) or ():
        source = merged[1] if isinstance(merged, tuple) else merged
        if isinstance(source, CommentedMap) and key in source:
            return _key_position(source, key)
    return None


def _has(node: Any, key: str | int) -> bool:
    if isinstance(node, CommentedMap):
        return key in node
    if isinstance(node, CommentedSeq):
        return isinstance(key, int) and 0 <= key < len(node)
    return False


def to_plain(node: Any) -> Any:
    """ruamel's round-trip containers and scalars turned into plain dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _kind(node: Any) -> str:
    if isinstance(node, list):
        return "a list"
    return f"the single value {node!r}"


def read_text(path: Path) -> str:
    """The file's text, read no further than the spec size limit (a device or a pipe never ends)."""
    limit = limits.SPEC_BYTES.value
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise SpecError(path, None, None, "", "this is not a regular file (a directory, a device or a pipe), so it "
                            "cannot be a spec.", "give the path of a YAML spec file.")
        with open(path, "rb") as stream:
            raw = stream.read(limit + 1)
    except FileNotFoundError:
        raise SpecError(path, None, None, "", "the file does not exist.", "check the path.") from None
    except OSError as exc:
        raise SpecError(path, None, None, "", f"the file cannot be read ({exc.strerror or exc}).",
                        "give a readable UTF-8 YAML file.") from None
    if len(raw) > limit:
        raise SpecError(path, None, None, "", f"the file is larger than a spec can be: {limits.SPEC_BYTES.describe()}.",
                        "give the spec file itself (a network's spec is a few kilobytes), not another file.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(path, line, column, "", f"the file is not UTF-8 text (byte {raw[exc.start]:#04x} cannot be decoded).",
                        "save the spec as UTF-8 plain text.") from None


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of the character at ``index`` of ``text``."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


CONSTRUCTS = {"flow sequence": "the '[' list", "flow mapping": "the '{' mapping", "quoted scalar": "the quoted text",
              "block": "the indented block"}
FLOW = ("the '[' list", "the '{' mapping")


def _syntax_error(path: Path, text: str, exc: MarkedYAMLError) -> SpecError:
    """A YAML syntax error, headed by the line where the broken construct starts when the parser
    only noticed the problem later: at the end of the file (an unclosed quote or bracket) or on a
    later line of a bracketed list or mapping (most often, one that is not closed)."""
    mark = exc.problem_mark or exc.context_mark
    problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
    context = " ".join(str(exc.context).split()) if exc.context else ""
    start = exc.context_mark
    construct = next((name for words, name in CONSTRUCTS.items() if words in context), None)
    at_end = mark is not None and not text[mark.index:].strip()
    later_line = mark is not None and start is not None and mark.line > start.line and construct in FLOW
    if start is not None and start is not mark and construct and (at_end or later_line):
        where = "at the end of the file" if at_end else "on a later line"
        what = (f"YAML syntax error: {construct} that starts here is never closed ({problem} {where}, line "
                f"{mark.line + 1}, column {mark.column + 1}).")
        return SpecError(path, start.line + 1, start.column + 1, "", what,
                         "close it where it belongs (a missing ']', '}', quote or comma).")
    if exc.problem and context and start and start is not mark:
        problem += f" ({context} that starts at line {start.line + 1}, column {start.column + 1})"
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    tabs = " YAML indents with spaces only: replace the tabs." if "'\\t'" in problem else ""
    return SpecError(path, line, col, "", f"YAML syntax error: {problem}.",
                     "correct the YAML at that position (check indentation, colons, quotes and brackets)." + tabs)


def parse_yaml(path: Path, text: str) -> Any:
    """The round-trip tree of ``text``, after the bounds of :mod:`harness.spec.guard` are checked on
    the composed node graph (which is then constructed, so the text is parsed once)."""
    check_nesting(path, text)
    try:
        yaml = YAML(typ="rt")
        node = yaml.compose(text)
        if node is None:
            return None
        check_nodes(path, node)
        return yaml.constructor.construct_document(node)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = str(exc.problem).split('"')[1] if '"' in str(exc.problem) else "a key"
        raise SpecError(
            path, mark.line + 1, mark.column + 1, "", f"the key '{key}' appears twice in the same mapping.",
            "keep one of the two (a variant under 'variants:' is the way to hold a second value).",
        ) from None
    except MarkedYAMLError as exc:
        raise _syntax_error(path, text, exc) from None
    except ReaderError as exc:
        line, col = _position(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise SpecError(path, line, col, "", f"the file holds the control character U+{code:04X}, which YAML does not allow.",
                        "remove it: a spec is plain text.") from None
    except YAMLError as exc:
        raise SpecError(path, None, None, "", f"YAML error: {' '.join(str(exc).split())}.", "correct the YAML.") from None


def read_spec_source(path: Path) -> SpecSource:
    """Parse ``path``; unreadable, empty, oversized or malformed files raise :class:`SpecError`."""
    text = read_text(path)
    tree = parse_yaml(path, text)
    if tree is None:
        raise SpecError(
            path, 1, 1, "", "the file is empty.",
            "write a spec: at least name, title, source, classes, input, backbone, head, train and dataset.",
        )
    if not isinstance(tree, CommentedMap):
        raise SpecError(
            path, 1, 1, "", f"a spec must be a mapping of keys, not {_kind(tree)}.",
            "start the file with 'name: ...' and the other top-level keys.",
        )
    return SpecSource(path, tree)
