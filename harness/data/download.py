"""Downloading official files into the cache: a temporary file, verified, then renamed.

The mirrors are the data set's official ones unless the ``mirrors`` argument or
``HARNESS_DATA_MIRRORS`` (base URLs separated by spaces or commas) says otherwise;
``HARNESS_OFFLINE=1`` (or ``download=False``) forbids downloading. Only the standard library's
urllib is used, with a timeout on every connection and a cap of the official size on every file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from harness import __version__
from harness.data.errors import CorruptDataError
from harness.data.official import OfficialFile, OfficialSet

MIRRORS_ENV = "HARNESS_DATA_MIRRORS"
OFFLINE_ENV = "HARNESS_OFFLINE"
DEFAULT_TIMEOUT = 30.0
CHUNK = 1 << 16


def mirror_list(data_set: OfficialSet, mirrors: Sequence[str] | None = None) -> list[str]:
    """The base URLs to try, in order: the argument, else the environment, else the official mirrors."""
    if mirrors is not None:
        return list(mirrors)
    configured = os.environ.get(MIRRORS_ENV, "").replace(",", " ").split()
    return configured or list(data_set.mirrors)


def downloads_allowed(download: bool | None = None) -> bool:
    """Whether downloading is allowed: the argument, else not when ``HARNESS_OFFLINE`` is set to a true value."""
    if download is not None:
        return download
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def file_url(base: str, file: OfficialFile) -> str:
    return base.rstrip("/") + "/" + file.name


def fetch_verified(url: str, file: OfficialFile, destination: Path, timeout: float) -> None:
    """Download ``url`` to ``destination`` through a temporary file that must match the official checksums."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    try:
        with os.fdopen(handle, "wb") as stream:
            request = urllib.request.Request(url, headers={"User-Agent": f"harness/{__version__}"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > file.size:
                        break
                    sha256.update(chunk)
                    md5.update(chunk)
                    stream.write(chunk)
        if size != file.size or sha256.hexdigest() != file.sha256 or md5.hexdigest() != file.md5:
            received = f"more than {file.size} bytes" if size > file.size else f"{size} bytes, sha256 {sha256.hexdigest()}, md5 {md5.hexdigest()}"
            raise CorruptDataError(
                f"{url} served a file that failed its checksum ({received}; the official {file.name} has "
                f"{file.size} bytes, sha256 {file.sha256}, md5 {file.md5}); it was discarded.",
                "try another mirror (HARNESS_DATA_MIRRORS), or check that nothing between you and the mirror alters downloads.",
            )
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)


def download_file(
    file: OfficialFile, folder: Path, mirrors: Sequence[str], timeout: float = DEFAULT_TIMEOUT
) -> tuple[Path | None, list[str]]:
    """Fetch ``file`` from the first mirror that serves the official bytes; returns its path (or
    None) and one line per mirror that failed."""
    failures: list[str] = []
    for base in mirrors:
        url = file_url(base, file)
        try:
            fetch_verified(url, file, folder / file.name, timeout)
            return folder / file.name, failures
        except CorruptDataError as exc:
            failures.append(exc.what)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            failures.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
    return None, failures
