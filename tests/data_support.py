"""Shared by the tests of harness.data: an isolated environment and a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SHARED_MNIST_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
ENVIRONMENT = ("HARNESS_DATA_DIR", "HARNESS_DATA_PATH", "HARNESS_DATA_MIRRORS", "HARNESS_OFFLINE")

needs_shared_mnist = pytest.mark.skipif(
    not (SHARED_MNIST_TEST / "t10k-images-idx3-ubyte.gz").is_file(), reason=f"the MNIST test set is not in {SHARED_MNIST_TEST}"
)
needs_fashion = pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data environment variables, and the cache and Keras' folder inside ``tmp_path``."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) for the ``with`` block; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
