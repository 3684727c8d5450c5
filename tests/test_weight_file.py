"""Neutral weight files as users hand them over: written reproducibly, read with bounds, and every
bad file refused with one paragraph naming the file, the layer and the fix; ``train.init`` from a
file (pinned in the parent, applied over the spec's initialisation, recorded)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness.neutral.pretrained import part_layers, pin_init, start_weights
from harness.spec import load_network
from harness.spec.network import Network
from harness.neutral.weight_file import WeightFileError, file_sha256, largest_size, read_weight_file, write_weight_file
from harness.neutral.weights import initial_weights, weight_shapes
from plugin_support import run_harness

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / "specs" / "lenet.yaml"


@pytest.fixture
def network() -> Network:
    return load_network(LENET)


def _member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    archive.writestr(name, buffer.getvalue())


def _archive(path: Path, members: dict[str, np.ndarray]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            _member(archive, name, array)
    return path


def _refused(path: Path, network: Network, *words: str, **options: object) -> WeightFileError:
    with pytest.raises(WeightFileError) as caught:
        read_weight_file(path, network, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert str(path) in message and "Fix:" in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return caught.value


def test_a_file_is_written_reproducibly_and_read_back_exactly(network: Network, tmp_path: Path) -> None:
    weights = initial_weights(network, seed=4)
    first, second = write_weight_file(tmp_path / "a.npz", weights), write_weight_file(tmp_path / "b.npz", weights)
    assert first == second == file_sha256(tmp_path / "a.npz")
    loaded, digest = read_weight_file(tmp_path / "a.npz", network, sha256=first.upper())
    assert digest == first and loaded.keys() == weights.keys()
    for layer, tensors in weights.items():
        for name, array in tensors.items():
            np.testing.assert_array_equal(loaded[layer][name], array)
            assert loaded[layer][name].flags.writeable
    backbone, _ = read_weight_file(tmp_path / "a.npz", network, layers=part_layers(network, "backbone"))
    assert list(backbone) == ["conv_1", "conv_2"]


def test_a_file_larger_than_the_network_could_need_is_refused_before_reading(network: Network, tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    path.write_bytes(b"\0" * (largest_size(weight_shapes(network)) + 1))
    _refused(path, network, "more than lenet's weights could take")


def test_bad_files_are_refused_naming_the_layer_and_the_fix(network: Network, tmp_path: Path) -> None:
    weights = initial_weights(network, seed=0)
    good = tmp_path / "good.npz"
    digest = write_weight_file(good, weights)
    _refused(tmp_path / "absent.npz", network, "no such file")
    _refused(good, network, "not the", sha256="0" * 64)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _refused(truncated, network, "not a readable .npz")
    cut = tmp_path / "cut.npz"  # a well-formed archive whose member holds fewer bytes than its header promises
    with zipfile.ZipFile(cut, "w") as archive:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, weights["conv_1"]["kernel"])
        archive.writestr("conv_1/kernel.npy", buffer.getvalue()[:-40])
        _member(archive, "conv_1/bias.npy", weights["conv_1"]["bias"])
    _refused(cut, network, "'conv_1/kernel' is truncated")
    _refused(_archive(tmp_path / "shape.npz", {"conv_1/kernel.npy": np.zeros((3, 3, 1, 6), np.float32),
                                               "conv_1/bias.npy": np.zeros(6, np.float32)}),
             network, "'conv_1/kernel' has shape (3, 3, 1, 6)", "(5, 5, 1, 6)")
    _refused(_archive(tmp_path / "layer.npz", {"conv_9/kernel.npy": np.zeros(1, np.float32)}), network, "no layer 'conv_9'")
    _refused(_archive(tmp_path / "half.npz", {"conv_1/kernel.npy": weights["conv_1"]["kernel"]}), network,
             "layer 'conv_1' lacks bias")
    _refused(_archive(tmp_path / "pickle.npz", {"conv_1/kernel.npy": np.empty((5, 5, 1, 6), dtype=object),
                                                "conv_1/bias.npy": np.zeros(6, np.float32)}), network, "not floats")
    nan = {**weights["conv_1"], "bias": np.full(6, np.nan, np.float32)}
    _refused(_archive(tmp_path / "nan.npz", {f"conv_1/{k}.npy": v for k, v in nan.items()}), network, "NaN")
    assert digest  # the good file itself reads


def test_a_header_claiming_a_huge_array_allocates_nothing_of_that_size(network: Network, tmp_path: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("conv_1/kernel.npy", header.getvalue())
        _member(archive, "conv_1/bias.npy", np.zeros(6, np.float32))
    _refused(tmp_path / "huge.npz", network, "has shape (1000000, 1000000)")


def _with_init(tmp_path: Path, init: str) -> Path:
    spec = tmp_path / "lenet_init.yaml"
    spec.write_text(LENET.read_text().replace("  seed: 0\n", f"  seed: 0\n  init: {init}\n"))
    return spec


def test_init_from_a_file_takes_its_part_and_keeps_the_rest(tmp_path: Path) -> None:
    network = load_network(LENET)
    donor = initial_weights(network, seed=9)
    write_weight_file(tmp_path / "donor.npz", donor)
    spec = _with_init(tmp_path, "{weights: donor.npz, layers: backbone, others: shared}")
    pinned = pin_init(load_network(spec))  # a relative path starts at the spec's folder
    init = pinned.spec.train.init
    assert init.weights == str((tmp_path / "donor.npz").resolve()) and init.sha256 == file_sha256(tmp_path / "donor.npz")
    start, sources = start_weights(pinned, seed=2, own=None)
    shared = initial_weights(network, seed=2)
    np.testing.assert_array_equal(start["conv_2"]["kernel"], donor["conv_2"]["kernel"])
    np.testing.assert_array_equal(start["logits"]["kernel"], shared["logits"]["kernel"])
    assert sources.from_file == ["conv_1", "conv_2"] and sources.from_others == ["head_dense_1", "head_dense_2", "logits"]
    assert sources.sha256 == init.sha256 and "donor.npz" in sources.summary() and "logits" in sources.summary()


def test_an_absent_optional_file_is_recorded_and_an_absent_required_one_refused(tmp_path: Path) -> None:
    optional = load_network(_with_init(tmp_path, "{weights: absent.npz, missing: others}"))
    assert pin_init(optional) is optional
    start, sources = start_weights(optional, seed=0, own=None)
    assert start is None and sources.file is None and "absent.npz does not exist" in sources.summary()
    result = run_harness(["run", str(tmp_path / "lenet_init.yaml"), "--framework", "all", "--dataset", "synthetic", "--dry-run"],
                         dict(os.environ))
    assert result.returncode == 0 and "the weight file is not available" in " ".join(result.stdout.split())
    required = _with_init(tmp_path, "{weights: absent.npz}")
    with pytest.raises(WeightFileError, match="no such file"):
        pin_init(load_network(required))
    result = run_harness(["run", str(required), "--framework", "all", "--dry-run"], dict(os.environ))
    assert result.returncode == 2 and "absent.npz: no such file" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
