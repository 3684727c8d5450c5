"""The one error type a user sees for a bad spec: file, line, column, what is wrong, the fix."""

from __future__ import annotations

from pathlib import Path

LocPath = tuple[str | int, ...]
"""Where a value sits in a spec: its keys and list indexes from the top."""
SHOWN_CHARS = 60
LONG_INT_DIGITS = 20


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (a long integer by its digit count), for messages."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**LONG_INT_DIGITS:
        return f"an integer of {int(abs(value).bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(loc: LocPath) -> str:
    """``('backbone', 3, 'filters')`` -> ``backbone[3].filters``."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


class SpecError(Exception):
    """An invalid spec, explained in one paragraph that names the file, the line and the fix."""

    def __init__(
        self,
        path: Path | str,
        line: int | None,
        column: int | None,
        where: str,
        what: str,
        fix: str,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.where = where
        self.what = what
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        position = str(self.path)
        if self.line is not None:
            position += f":{self.line}"
            if self.column is not None:
                position += f":{self.column}"
        where = f" at {self.where}" if self.where else ""
        return f"{position}: error{where}: {self.what} Fix: {self.fix}"


class SpecErrors(Exception):
    """Several independent problems found in one file, each a :class:`SpecError`."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n\n".join(e.message for e in errors))
