"""The output folder: checked before any work, locked while a run writes it, and every file name
that comes from data made safe and kept inside it.

* :func:`prepare_output` creates the folder and proves it writable (a file in the way, a
  read-only file system or a missing permission is reported before any job trains).
* :func:`lock_output` holds an exclusive ``flock`` on ``<out>/.harness.lock`` for the whole run,
  so a second ``harness run`` on the same folder stops at once with a clear error instead of
  overwriting the first one's results. The kernel releases the lock when the process ends, so a
  crashed run never leaves a stale lock.
* :func:`safe_file_name` and :func:`confined` turn a data-derived name (a network key from a
  results file, say) into one plain file name that cannot leave the folder.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".harness.lock"
TEMPORARY_PATTERN = ".*.tmp"
"""The names :func:`harness.results.write_json_atomic` gives its temporary files."""
MAX_FILE_NAME = 120
"""Longest file name the harness makes from data (file systems allow 255 bytes; temporary
files add a prefix and a suffix)."""
UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class OutputError(Exception):
    """An output folder that cannot be used, explained in one paragraph with the fix."""


def safe_file_name(stem: str, suffix: str = "") -> str:
    """``stem`` as a single, plain file name ending in ``suffix``.

    Letters, digits, ``.``, ``_``, ``+`` and ``-`` are kept; anything else (``/``, ``..`` at the
    start, NUL, spaces, non-ASCII) becomes ``_``. When the name had to change or is too long, a
    short hash of the original is appended, so two different stems never share a file.
    """
    cleaned = UNSAFE.sub("_", stem).lstrip(".") or "_"
    limit = MAX_FILE_NAME - len(suffix)
    if cleaned == stem and len(cleaned) <= limit:
        return cleaned + suffix
    digest = hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned[: limit - len(digest) - 1]}-{digest}{suffix}"


def confined(directory: Path, name: str) -> Path:
    """``directory / name``, refusing any name that would put the file anywhere else."""
    path = Path(directory) / name
    if Path(name).name != name or name in ("", ".", "..") or path.resolve().parent != Path(directory).resolve():
        raise OutputError(f"refused to write {name!r}: the name would place the file outside {directory}.")
    return path


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission is denied"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file (not a folder) is in the way"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long"
    return exc.strerror or str(exc)


def prepare_output(out: Path, option: str = "--out") -> Path:
    """Create ``out`` (and its parents) and prove that files can be written in it."""
    out = Path(out)
    fix = f"choose a writable folder with {option}."
    if out.exists() and not out.is_dir():
        raise OutputError(f"the output folder {out} is a file, not a folder. Fix: {fix}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"the output folder {out} cannot be created: {_reason(exc)}. Fix: {fix}") from None
    probe = out / f".harness-write-test-{os.getpid()}.tmp"
    try:
        with open(probe, "w", encoding="utf-8") as stream:
            stream.write("ok\n")
    except OSError as exc:
        raise OutputError(f"the output folder {out} is not writable: {_reason(exc)}. Fix: {fix}") from None
    finally:
        probe.unlink(missing_ok=True)
    return out


def remove_stale_temporaries(*folders: Path) -> list[Path]:
    """Delete the temporary files an interrupted atomic write left in ``folders``.

    Only call it while holding the output folder's lock: then no other writer's temporary file exists.
    """
    removed = []
    for folder in folders:
        for stale in Path(folder).glob(TEMPORARY_PATTERN):
            if stale.is_file() and not stale.is_symlink():
                stale.unlink(missing_ok=True)
                removed.append(stale)
    return removed


@contextmanager
def lock_output(out: Path) -> Iterator[None]:
    """Hold the run lock of ``out``; :class:`OutputError` at once when another run holds it."""
    path = Path(out) / LOCK_FILE
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"the output folder {out} cannot be locked: {_reason(exc)}. Fix: choose a writable folder with --out.") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise OutputError(
                f"another `harness run` (process {holder}) is writing to {out} now; a second run there would overwrite "
                f"its results. Fix: wait for it to finish, or give this run another folder with --out."
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(handle)
