"""Downloading into the cache from a local HTTP server, and what happens offline."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from data_support import SHARED_MNIST_TEST, isolated, needs_shared_mnist, serve_directory  # noqa: F401

from harness.data import DataNotFoundError, load_data
from harness.data.download import mirror_list
from harness.data.official import FASHION_MNIST, MNIST
from harness.spec.schema import Dataset

MNIST_SPEC = Dataset(name="mnist")


def cached_files(root: Path) -> list[str]:
    folder = root / "cache" / "harness" / "datasets" / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_shared_mnist
def test_download_from_a_local_mirror_is_verified_and_cached(isolated: Path) -> None:
    served = isolated / "served"
    shutil.copytree(SHARED_MNIST_TEST, served / "good")
    (served / "empty").mkdir()
    with serve_directory(served) as base:
        data = load_data(MNIST_SPEC, (28, 28, 1), splits=("test",), search_path=[], mirrors=[base + "empty/", base + "good/"], timeout=5)
    assert cached_files(isolated) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert data.info.test_size == 10000
    assert data.info.source == f"{isolated / 'cache' / 'harness' / 'datasets' / 'mnist'} (downloaded into the harness cache)"
    again = load_data(MNIST_SPEC, (28, 28, 1), splits=("test",), search_path=[], download=False)
    assert again.info.checksum == data.info.checksum and again.info.source.endswith("(the harness cache)")


@needs_shared_mnist
@pytest.mark.parametrize("damage", ["corrupted", "truncated"])
def test_a_damaged_download_is_refused_and_not_kept(isolated: Path, damage: str) -> None:
    served = isolated / "served"
    shutil.copytree(SHARED_MNIST_TEST, served)
    images = bytearray((served / "t10k-images-idx3-ubyte.gz").read_bytes())
    if damage == "corrupted":
        images[5000] ^= 0xFF
    else:
        del images[-5000:]
    (served / "t10k-images-idx3-ubyte.gz").write_bytes(bytes(images))
    with serve_directory(served) as base, pytest.raises(DataNotFoundError) as caught:
        load_data(MNIST_SPEC, (28, 28, 1), splits=("test",), search_path=[], mirrors=[base], timeout=5)
    message = str(caught.value)
    assert f"{base}t10k-images-idx3-ubyte.gz served a file that failed its checksum" in message
    assert MNIST.test[0].sha256 in message
    assert cached_files(isolated) == []


def test_offline_and_missing_lists_every_place_and_how_to_get_the_data(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    elsewhere = isolated / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(DataNotFoundError) as caught:
        load_data(MNIST_SPEC, (28, 28, 1), data_dir=isolated, search_path=[elsewhere, isolated / "absent"])
    message = str(caught.value)
    for place in (f"{isolated} (--data-dir)", "(the harness cache)", f"{elsewhere} (search path)", f"{isolated / 'absent'} (search path)"):
        assert place in message
    assert "download: not tried" in message
    assert "train split was not found" in message and "test split was not found" in message
    for way in (*MNIST.mirrors, "--data-dir", "--dataset fashion-mnist", "apt-get install dataset-fashion-mnist"):
        assert way in message
    with pytest.raises(DataNotFoundError) as caught:
        load_data(Dataset(name="fashion-mnist"), (28, 28, 1), search_path=[])
    assert "apt-get install dataset-fashion-mnist" in str(caught.value) and FASHION_MNIST.mirrors[0] in str(caught.value)


def test_an_unreachable_mirror_is_reported(isolated: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}/"
    with pytest.raises(DataNotFoundError, match=f"download: {url}t10k-images-idx3-ubyte.gz: "):
        load_data(MNIST_SPEC, (28, 28, 1), splits=("test",), search_path=[], mirrors=[url], timeout=2)
    assert cached_files(isolated) == []


def test_the_mirror_list_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_DATA_MIRRORS", raising=False)
    assert mirror_list(MNIST) == list(MNIST.mirrors)
    monkeypatch.setenv("HARNESS_DATA_MIRRORS", "http://a/, http://b/")
    assert mirror_list(MNIST) == ["http://a/", "http://b/"]
    assert mirror_list(MNIST, ["http://c/"]) == ["http://c/"]
