"""The one error type a user sees for a bad spec: file, line, column, what is wrong, the fix."""

from __future__ import annotations

from pathlib import Path

LocPath = tuple[str | int, ...]
"""Where a value sits in a spec: its keys and list indexes from the top."""


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
