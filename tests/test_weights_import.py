"""``harness weights import``: a trained Keras model (a ``keras.applications.MobileNetV2``) and a
PyTorch ``state_dict`` (the plain ``torch.nn`` LeNet of benchmarks/native) become neutral weight
files that give the source model's own logits in every framework; a weight perturbed in the file
is caught by the same comparison; a model that does not fit the spec is refused with both layers
named. The models are made in subprocesses, so this process imports no framework."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from harness.plugins import discover
from harness.runner.child import LocalExecutor
from harness.runner.executor import run_all
from harness.runner.protocol import ParityRequest, ParityResult, ResolvedNetwork
from harness.spec import Network, load_network
from harness.neutral.weight_file import read_weight_file, write_weight_file
from plugin_support import run_harness

ROOT = Path(__file__).resolve().parents[1]
DISCOVERY = discover()
AVAILABLE = [name for name, registered in DISCOVERY.frameworks.items() if registered.unavailable_reason() is None]
HAS_KERAS = "keras" in AVAILABLE
HAS_TORCH = "torch" in AVAILABLE
FLOAT32_ROUNDING = 1e-4
"""Largest logit difference, relative to the logits' scale, that float32 rounding explains on these networks."""
PERTURBATION = 0.05

KERAS_MODEL = """
import sys
import numpy as np
import keras

path, images = sys.argv[1], np.load(sys.argv[2])
base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=images.shape[1:])
model = keras.Model(base.input, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(base.output)))
rng = np.random.default_rng(0)
for layer in model.layers:
    for variable in layer.weights:
        shape, name = tuple(variable.shape), variable.path.rsplit("/", 1)[-1]
        if name == "kernel":  # He-scaled: std sqrt(2 / fan_in), a depthwise kernel's fan-in being kh * kw
            fan_in = int(np.prod(shape[:2] if isinstance(layer, keras.layers.DepthwiseConv2D) else shape[:-1]))
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif name in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.uniform(-0.1, 0.1, shape)
        variable.assign(value.astype("float32"))
model.save(path)
np.save(sys.argv[3], keras.ops.convert_to_numpy(model(images, training=False)))
"""

TORCH_MODEL = f"""
import sys
import numpy as np
import torch
sys.path.insert(0, {str(ROOT / "benchmarks" / "native")!r})
from torch_native import lenet

torch.manual_seed(0)
model = lenet().eval()
torch.save(model.state_dict(), sys.argv[1])
images = torch.from_numpy(np.load(sys.argv[2]).transpose(0, 3, 1, 2).copy())
with torch.no_grad():
    np.save(sys.argv[3], model(images).numpy())
"""


def _python(script: str, *args: object) -> None:
    result = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def _images(network: Network, path: Path) -> np.ndarray:
    height, width, channels = network.input_shape
    images = np.random.default_rng(1).random((2, height, width, channels), dtype=np.float32)
    np.save(path, images)
    return images


def _import(source: Path, spec: Path, output: Path, *extra: str) -> None:
    result = run_harness(["weights", "import", str(source), "--spec", str(spec), "-o", str(output), *extra], dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sha256" in result.stdout


def logits_of(runs: list[tuple[str, Path]], network: Network, images: Path, folder: Path) -> list[np.ndarray]:
    """The logits each (framework, weight file) computes for ``images``, in one local executor: a
    framework's runs share its warm worker (imported and built once), two workers at a time."""
    outputs = [folder / f"{framework}-{weights.stem}.npz" for framework, weights in runs]
    requests = [ParityRequest(framework=framework, threads=1, network=ResolvedNetwork.of(network), weights=str(weights),
                              inputs=[str(images)], outputs=[str(output)])
                for (framework, weights), output in zip(runs, outputs, strict=True)]
    logits = []
    for (framework, _), outcome, output in zip(runs, run_all(LocalExecutor(DISCOVERY, warm_workers=2), requests, timeout=600),
                                               outputs, strict=True):
        assert isinstance(outcome.result, ParityResult), f"{framework}: {outcome.error or outcome.output_tail[-2000:]}"
        with np.load(output) as layers:
            logits.append(layers[list(network.walk())[-1].name])
    return logits


def check_everywhere(source: np.ndarray, network: Network, weights: Path, images: Path, folder: Path, layer: str,
                     framework: str) -> None:
    """Every available framework gives ``source`` from ``weights``, and ``framework`` does not once a
    weight of ``layer`` is moved (the comparison can fail): all in one executor."""
    wrong = perturbed(weights, network, layer, folder)
    *everywhere, moved = logits_of([(name, weights) for name in AVAILABLE] + [(framework, wrong)], network, images, folder)
    assert_same_logits(source, dict(zip(AVAILABLE, everywhere, strict=True)))
    with pytest.raises(AssertionError, match="logits differ"):
        assert_same_logits(source, {framework: moved})


def perturbed(path: Path, network: Network, layer: str, folder: Path) -> Path:
    """A copy of the weight file with one weight of ``layer``'s kernel moved by :data:`PERTURBATION`."""
    weights, _ = read_weight_file(path, network)
    kernel = weights[layer]["kernel"]
    kernel.flat[kernel.size // 2] += PERTURBATION
    target = folder / f"perturbed-{path.name}"
    write_weight_file(target, weights)
    return target


def assert_same_logits(source: np.ndarray, frameworks: dict[str, np.ndarray]) -> None:
    scale = max(1.0, float(np.abs(source).max()))
    for name, logits in frameworks.items():
        difference = float(np.abs(logits - source).max())
        assert difference <= FLOAT32_ROUNDING * scale, f"{name}: logits differ from the source model's by {difference:.3g}"


@pytest.fixture(scope="module")
def small_mobilenet_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specs/mobilenetv2_heads.yaml's GAP variant at 32 x 32 (the smallest input MobileNetV2's five
    stride-2 stages allow: a 1 x 1 feature map), so every framework runs it in seconds."""
    yaml = YAML()
    data = yaml.load((ROOT / "specs" / "mobilenetv2_heads.yaml").read_text())
    data["input"] = [32, 32, 3]
    data.pop("expect", None)
    data["variants"] = {"gap": {"head": {"type": "global_avg"}}}
    path = tmp_path_factory.mktemp("mobilenet") / "mobilenetv2_32.yaml"
    with path.open("w") as handle:
        yaml.dump(data, handle)
    return path


@pytest.mark.slow
@pytest.mark.skipif(not HAS_KERAS, reason="Keras (TensorFlow) is not installed")
def test_a_keras_mobilenetv2_gives_its_own_logits_in_every_framework(small_mobilenet_spec: Path, tmp_path: Path) -> None:
    network = load_network(small_mobilenet_spec, "gap")
    _images(network, tmp_path / "images.npy")
    _python(KERAS_MODEL, tmp_path / "mobilenetv2.keras", tmp_path / "images.npy", tmp_path / "keras_logits.npy")
    _import(tmp_path / "mobilenetv2.keras", small_mobilenet_spec, tmp_path / "mobilenetv2.npz", "--variant", "gap")
    check_everywhere(np.load(tmp_path / "keras_logits.npy"), network, tmp_path / "mobilenetv2.npz", tmp_path / "images.npy",
                     tmp_path, "conv_10", "torch" if HAS_TORCH else "keras")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_a_torch_lenet_state_dict_gives_its_own_logits_in_every_framework(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "lenet.yaml"
    network = load_network(spec)
    _images(network, tmp_path / "images.npy")
    _python(TORCH_MODEL, tmp_path / "lenet.pt", tmp_path / "images.npy", tmp_path / "torch_logits.npy")
    _import(tmp_path / "lenet.pt", spec, tmp_path / "lenet.npz")
    # The first dense layer reads the flatten: a weight moved there shows that its rows were reordered right.
    check_everywhere(np.load(tmp_path / "torch_logits.npy"), network, tmp_path / "lenet.npz", tmp_path / "images.npy",
                     tmp_path, "head_dense_1", "torch")


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_a_state_dict_that_does_not_fit_the_spec_is_refused_naming_both_layers(tmp_path: Path) -> None:
    _images(load_network(ROOT / "specs" / "lenet.yaml"), tmp_path / "images.npy")
    _python(TORCH_MODEL, tmp_path / "lenet.pt", tmp_path / "images.npy", tmp_path / "logits.npy")
    result = run_harness(["weights", "import", str(tmp_path / "lenet.pt"), "--spec", str(ROOT / "specs" / "lenet_stride2.yaml"),
                          "-o", str(tmp_path / "out.npz")], dict(os.environ))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "spec layer 'conv_3' (conv) and model layer '7' (Linear)" in message and "Fix:" in message, message
    assert "Traceback" not in result.stderr and not (tmp_path / "out.npz").exists()
