"""Reading a spec file with ruamel.yaml, keeping where every key came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from harness.spec.errors import LocPath, SpecError


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
            if isinstance(node, CommentedMap):
                line, col = node.lc.key(key)
            else:
                line, col = node.lc.item(key)
            line, col = line + 1, col + 1
            node = node[key]
        return line, col

    def error(self, loc: LocPath, what: str, fix: str) -> SpecError:
        """A :class:`SpecError` pointing at ``loc`` in this file."""
        line, col = self.locate(loc)
        return SpecError(self.path, line, col, describe(loc), what, fix)


def _has(node: Any, key: str | int) -> bool:
    if isinstance(node, CommentedMap):
        return key in node
    if isinstance(node, CommentedSeq):
        return isinstance(key, int) and 0 <= key < len(node)
    return False


def describe(loc: LocPath) -> str:
    """``('backbone', 3, 'filters')`` -> ``backbone[3].filters``."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


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


def read_spec_source(path: Path) -> SpecSource:
    """Parse ``path``; unreadable, empty or malformed files raise :class:`SpecError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(path, None, None, "", "the file does not exist.", "check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, None, None, "", f"the file cannot be read ({exc}).", "give a readable UTF-8 YAML file.") from None
    try:
        tree = YAML(typ="rt").load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = str(exc.problem).split('"')[1] if '"' in str(exc.problem) else "a key"
        raise SpecError(
            path, mark.line + 1, mark.column + 1, "", f"the key '{key}' appears twice in the same mapping.",
            "keep one of the two (a variant under 'variants:' is the way to hold a second value).",
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if exc.problem and exc.context and exc.context_mark and exc.context_mark is not mark:
            problem += (
                f" ({' '.join(str(exc.context).split())} that starts at line {exc.context_mark.line + 1},"
                f" column {exc.context_mark.column + 1})"
            )
        tabs = " YAML indents with spaces only: replace the tabs." if "'\\t'" in problem else ""
        raise SpecError(
            path, line, col, "", f"YAML syntax error: {problem}.",
            "correct the YAML at that position (check indentation, colons, quotes and brackets)." + tabs,
        ) from None
    except YAMLError as exc:
        raise SpecError(path, None, None, "", f"YAML error: {exc}.", "correct the YAML.") from None
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
