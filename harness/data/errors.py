"""The error a user sees when data cannot be used: what is wrong, where, and the fix."""

from __future__ import annotations


class DataError(Exception):
    """A data set that cannot be used, explained in one paragraph that ends with the fix."""

    def __init__(self, what: str, fix: str) -> None:
        self.what = what
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.what} Fix: {self.fix}"


class DataNotFoundError(DataError):
    """The data (or one split of it) is in none of the places searched and could not be downloaded."""


class CorruptDataError(DataError):
    """A file that is truncated, malformed or fails its checksum; it is never used."""
