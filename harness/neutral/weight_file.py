"""Neutral weight files that users hand to the harness: written reproducibly, read with bounds.

A weight file is an ``.npz`` archive (a zip of ``.npy`` members named ``layer/tensor.npy``) in the
neutral layout of :mod:`harness.neutral.weights`, holding some or all of a network's weighted layers.
:func:`write_weight_file` writes it byte for byte the same for the same weights (members sorted,
stored uncompressed, a fixed time stamp), so its sha256 names its content and can be pinned in a
spec. :func:`read_weight_file` reads one against the network it is meant for, without trusting it:

* the file may not be larger than the network's weights could be (in float64, with headers);
* its sha256 must be the one pinned, when one is;
* every member must name a tensor of the network, with exactly the spec's shape, a float dtype and
  finite values (batch-norm variances not negative), before a byte of its data is read; the data
  is then read to exactly that size, so no allocation is ever larger than what the spec implies;
* ``np.load`` is never given the file (and pickles are never allowed).

Every problem is a :class:`WeightFileError`: one paragraph naming the file, the layer and the fix.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from harness.framework import NeutralWeights
from harness.spec import Network
from harness.neutral.weights import SEPARATOR, weight_shapes

MEMBER_SUFFIX = ".npy"
HEADER_BYTES = 4096
"""The most bytes a member's ``.npy`` magic and header may take (numpy writes 128 or so)."""
MEMBER_OVERHEAD = 512
"""Bytes a zip archive adds per member (local and central headers, name twice), generously."""
FLOAT_DTYPES = (np.dtype("float16"), np.dtype("float32"), np.dtype("float64"))
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
"""The time stamp of every member written, so the same weights give the same bytes."""
CHUNK = 1 << 20


class WeightFileError(ValueError):
    """A weight file that cannot be used, with what is wrong and how to fix it."""

    def __init__(self, path: Path | str, what: str, fix: str) -> None:
        super().__init__(f"weight file {path}: {what} Fix: {fix}")
        self.path = str(path)
        self.what = what
        self.fix = fix


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_weight_file(path: Path, weights: NeutralWeights) -> str:
    """Write ``weights`` as float32 to ``path`` (reproducibly) and return the file's sha256."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for layer in sorted(weights):
            for name in sorted(weights[layer]):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(weights[layer][name], dtype=np.float32),
                                          version=(1, 0), allow_pickle=False)
                info = zipfile.ZipInfo(f"{layer}{SEPARATOR}{name}{MEMBER_SUFFIX}", date_time=FIXED_TIME)
                archive.writestr(info, buffer.getvalue())
    return file_sha256(path)


def largest_size(shapes: Mapping[str, Mapping[str, tuple[int, ...]]]) -> int:
    """The most bytes a weight file for tensors of ``shapes`` can take (float64, headers and zip overhead)."""
    tensors = [shape for layer in shapes.values() for shape in layer.values()]
    data = sum(int(np.prod(shape, dtype=np.int64)) * 8 for shape in tensors)
    return data + len(tensors) * (HEADER_BYTES + MEMBER_OVERHEAD) + HEADER_BYTES


def _read_header(path: Path, member: str, stream: io.BufferedIOBase) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream, max_header_size=HEADER_BYTES)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream, max_header_size=HEADER_BYTES)
    except (ValueError, EOFError) as exc:
        raise WeightFileError(path, f"member '{member}' is not a readable .npy array ({exc}).",
                              "write the file again with `harness weights import` or `harness weights export`.") from None
    raise WeightFileError(path, f"member '{member}' uses .npy format version {version}, which is not read here.",
                          "write the file again with `harness weights import` or `harness weights export`.")


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...]) -> np.ndarray:
    """One member's array, checked against ``shape`` before its data is read."""
    where = info.filename.removesuffix(MEMBER_SUFFIX)
    limit = int(np.prod(shape, dtype=np.int64)) * 8 + HEADER_BYTES
    if info.file_size > limit:
        raise WeightFileError(path, f"'{where}' claims {info.file_size} bytes, more than a {shape} array can take.",
                              "the archive is damaged or forged; import the weights again.")
    with archive.open(info) as stream:
        found, fortran, dtype = _read_header(path, info.filename, stream)  # type: ignore[arg-type]
        if dtype not in FLOAT_DTYPES:
            raise WeightFileError(path, f"'{where}' holds {dtype} values, not floats.",
                                  "store float16, float32 or float64 arrays (`harness weights import` writes float32).")
        if tuple(found) != shape:
            raise WeightFileError(path, f"'{where}' has shape {tuple(found)}, but the spec's layer needs {shape}.",
                                  "import the weights for this spec (`harness weights import ... --spec`), or use "
                                  "the spec the file was made for.")
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        data = stream.read(size)
        if len(data) != size:
            raise WeightFileError(path, f"'{where}' is truncated ({len(data)} of {size} bytes).",
                                  "copy or import the file again.")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.astype(np.float32, order="C")  # a writable copy


def _check_values(path: Path, layer: str, name: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        raise WeightFileError(path, f"'{layer}{SEPARATOR}{name}' holds NaN or infinite values.",
                              "import the weights from a model that trained without diverging.")
    if name == "moving_variance" and (array < 0).any():
        raise WeightFileError(path, f"'{layer}{SEPARATOR}{name}' holds negative variances.",
                              "check that the batch-norm statistics were imported into the right tensors.")


def _members(path: Path, archive: zipfile.ZipFile, expected: Mapping[str, Mapping[str, tuple[int, ...]]],
             network: Network) -> dict[str, dict[str, zipfile.ZipInfo]]:
    """Every member by layer and tensor, each checked to be a tensor of ``network``."""
    members: dict[str, dict[str, zipfile.ZipInfo]] = {}
    for info in archive.infolist():
        key = info.filename.removesuffix(MEMBER_SUFFIX)
        layer, _, name = key.partition(SEPARATOR)
        if not info.filename.endswith(MEMBER_SUFFIX) or not name:
            raise WeightFileError(path, f"member '{info.filename}' is not named 'layer{SEPARATOR}tensor.npy'.",
                                  "write the file with `harness weights import` or `harness weights export`.")
        if name not in expected.get(layer, {}):
            have = f"layer '{layer}' has no tensor '{name}'" if layer in expected else f"has no layer '{layer}'"
            raise WeightFileError(path, f"it holds '{key}', but {network.key} {have}.",
                                  "import the weights for this spec (`harness weights import ... --spec`), or use "
                                  "the spec the file was made for.")
        if name in members.setdefault(layer, {}):
            raise WeightFileError(path, f"it holds '{key}' twice.", "write the file again; an archive names each tensor once.")
        members[layer][name] = info
    for layer, tensors in members.items():
        missing = sorted(set(expected[layer]) - set(tensors))
        if missing:
            raise WeightFileError(path, f"layer '{layer}' lacks {', '.join(missing)} (a layer is taken whole or not at all).",
                                  "import the layer's every tensor, or leave the layer out of the file.")
    return members


def read_weight_file(path: Path, network: Network, sha256: str | None = None,
                     layers: Iterable[str] | None = None) -> tuple[NeutralWeights, str]:
    """The layers of ``network`` that the file at ``path`` holds (those in ``layers`` alone, when
    given), checked as the module says, and the file's sha256."""
    path = Path(path)
    expected = weight_shapes(network)
    if not path.is_file():
        raise WeightFileError(path, "no such file.", "give the path of a weight file written by `harness weights "
                                                     "import` (relative paths in a spec start at the spec's folder).")
    size, most = path.stat().st_size, largest_size(expected)
    if size > most:
        raise WeightFileError(path, f"it is {size} bytes, more than {network.key}'s weights could take ({most} bytes).",
                              "check that the file is meant for this spec; import it again for this spec.")
    digest = file_sha256(path)
    if sha256 is not None and digest != sha256.lower():
        raise WeightFileError(path, f"its sha256 is {digest}, not the {sha256} pinned for it.",
                              "use the file the spec was written for, or pin the new file's sha256 in train.init.")
    wanted = set(expected) if layers is None else set(layers)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(path, archive, expected, network)
            weights: NeutralWeights = {}
            for layer in (name for name in expected if name in members and name in wanted):
                weights[layer] = {name: _read_member(path, archive, info, expected[layer][name])
                                  for name, info in members[layer].items()}
                for name, array in weights[layer].items():
                    _check_values(path, layer, name, array)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise WeightFileError(path, f"it is not a readable .npz archive ({exc}); it may be truncated or another format.",
                              "copy or import the file again.") from None
    return weights, digest
