"""The conformance kit: the contract tests every framework plugin must pass.

Run it against any installed plugin with one command (the options come from the pytest plugin
:mod:`harness.testing.plugin`, which the harness registers with pytest's ``pytest11`` entry point)::

    pytest --pyargs harness.testing.conformance --harness-framework NAME

The framework class is instantiated in the pytest process, once, on ``--harness-device`` with
:data:`~harness.testing.plugin.KIT_THREADS` threads (the thread variables are set before the
framework is imported). The kit builds small networks that together hold every layer type and
head (:mod:`harness.testing.networks`) and checks, for each: parameters per layer against the
oracle, every layer's output shape against the oracle, the forward pass on neutral weights
against the numpy reference, the exact weight round trip, deterministic inference and the
effective settings, each batch norm's and optimizer hyperparameter's value in the framework's own
convention against what the neutral value implies; then the thread count, the devices, and a few
training steps with every optimizer against the numpy training reference (:mod:`harness.equivalence.reference_train`,
with the departures the framework declares in ``training_conventions``), a few with a frozen
backbone (``train.freeze``: counted non-trainable, left untouched), and a few in float64, in a
worker of its own, unless the plugin says why it cannot (``float64_unavailable``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from harness import plugins
from harness.equivalence import reference
from harness.equivalence.agreement import layer_mismatches
from harness.framework import EffectiveSettings, Framework, NeutralWeights, ParamCount, Setting
from harness.neutral.oracle import analyse
from harness.equivalence.parity import DEFAULT_TOLERANCE, diff
from harness.spec import Network
from harness.spec.network import frozen_layers, with_train
from harness.testing.networks import AGNOSTIC_SIZES, OPTIMIZERS, conformance_networks, training_network
from harness.testing.plugin import KIT_THREADS, device_option, framework_option
from harness.testing.strategies import networks as random_networks
from harness.runner.child import LocalExecutor
from harness.runner.train_parity import check_training, reference_run, training_batches
from harness.runner.train_parity_task import framework_run
from harness.equivalence.train_compare import FLOAT64_TOLERANCES, TOLERANCES, compare_runs
from harness.neutral.weights import check_complete, initial_weights

NETWORKS = conformance_networks()
BATCH = 2
TRAINING_STEPS = 3
"""Steps the kit trains against the reference: the second step is the first that shows gradients
that accumulate (a missing zero_grad), the third a wrong optimizer state."""


def _key(network: Network) -> str:
    return network.key


def _sizes(network: Network) -> list[tuple[int, int]]:
    height, width, _ = network.input_shape
    return list(AGNOSTIC_SIZES) if height is None or width is None else [(height, width)]  # type: ignore[list-item]


def _images(network: Network, size: tuple[int, int], batch: int = BATCH, seed: int = 0) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.random((batch, size[0], size[1], int(network.input_shape[2])), dtype=np.float32)


def _leaf_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaf_values(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaf_values(item)]
    return [value]


def _translation_problem(where: str, setting: Setting) -> str | None:
    """Why ``setting.value`` is not what its neutral value implies in the framework's convention, or None."""
    implied = setting.implied()
    if implied is None or setting.default:
        return None
    reported, expected = _leaf_values(setting.value), _leaf_values(implied)
    if len(reported) != len(expected) or not all(_same(r, e) for r, e in zip(reported, expected, strict=True)):
        return (f"{where}: the framework holds {setting.value!r}, but the neutral value {setting.neutral!r} "
                f"implies {implied!r} (convention '{setting.convention}')")
    return None


def _same(reported: Any, expected: Any) -> bool:
    """Equal values; numbers (not booleans) to float32 precision."""
    if isinstance(expected, bool) or isinstance(reported, bool):
        return reported is expected
    if isinstance(expected, (int, float)) and isinstance(reported, (int, float)):
        return math.isclose(reported, expected, rel_tol=1e-6)
    return bool(reported == expected)


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def framework_class(pytestconfig: pytest.Config) -> type[Framework]:
    """The class registered under ``--harness-framework``."""
    name = framework_option(pytestconfig)
    if not name:
        pytest.skip("the conformance kit runs against one framework: "
                    "pytest --pyargs harness.testing.conformance --harness-framework NAME")
    return plugins.framework_class(name)


@pytest.fixture(scope="session")
def framework(framework_class: type[Framework], pytestconfig: pytest.Config) -> Framework:
    """The one framework instance of the session (threads and seeds applied)."""
    return framework_class(device=device_option(pytestconfig), threads=KIT_THREADS, seed=0)


@pytest.fixture(scope="session")
def build(framework: Framework) -> Callable[[Network], Any]:
    """Build a network once per session; tests that change weights load their own first."""
    models: dict[str, Any] = {}

    def get(network: Network) -> Any:
        if network.key not in models:
            models[network.key] = framework.build(network)
        return models[network.key]

    return get


# ------------------------------------------------------------------------------------- the class


def test_class_describes_itself(framework_class: type[Framework]) -> None:
    """Name, display name, module, distribution and install hint are set; the version is found."""
    for attribute in ("name", "display_name", "module", "distribution", "install_hint"):
        value = getattr(framework_class, attribute, None)
        assert isinstance(value, str) and value, f"{framework_class.__qualname__}.{attribute} must be a non-empty string"
    assert framework_class.unavailable_reason() is None
    assert framework_class.version(), f"no version found for the distribution '{framework_class.distribution}'"


def test_devices_include_cpu(framework: Framework) -> None:
    devices = framework.devices()
    assert "cpu" in devices, f"devices() must list 'cpu', got {devices!r}"
    assert all(isinstance(device, str) for device in devices)


def test_thread_count_respected(framework: Framework) -> None:
    """Every thread count the framework reports equals the one requested."""
    settings = framework.thread_settings()
    counts = [value for value in _leaf_values(settings) if isinstance(value, int) and not isinstance(value, bool)]
    assert counts, f"thread_settings() must report the framework's thread counts, got {settings!r}"
    assert all(count == KIT_THREADS for count in counts), (
        f"{KIT_THREADS} thread(s) were requested, but the framework reports {settings!r}"
    )


# ------------------------------------------------------------------------------------- per network


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_param_counts_per_layer(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """Every layer holds the oracle's trainable and non-trainable parameters, no more, no less."""
    counts = framework.count_params(build(network))
    assert all(isinstance(count, ParamCount) for count in counts.values())
    names = {node.name for node in network.walk()}
    unknown = sorted(set(counts) - names)
    assert not unknown, f"count_params() reports layers the network does not have: {unknown}"
    reported = {name: (count.trainable, count.non_trainable) for name, count in counts.items()}
    mismatches = layer_mismatches(analyse(network), reported)
    assert not mismatches, "first layer that differs: " + mismatches[0].describe(framework.name)


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_structure_build_reads_as_the_real_one(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """``build_structure()``, which ``harness params`` counts, gives the real build's counts and effective settings."""
    structure, real = framework.build_structure(network), build(network)
    assert framework.count_params(structure) == framework.count_params(real)
    settings, real_settings = framework.effective_settings(structure, network), framework.effective_settings(real, network)
    assert settings.as_dict() == real_settings.as_dict()


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_output_shapes(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """Every layer's output (channels-last) has the oracle's shape; logits are float32 (N, classes)."""
    model = build(network)
    for size in _sizes(network):
        images = _images(network, size)
        outputs = framework.layer_outputs(model, images)
        expected = {layer.name: (BATCH, *layer.output_shape) for layer in analyse(network, size).layers}
        assert list(outputs) == list(expected), "layer_outputs() must give every layer, in the network's order"
        for name, shape in expected.items():
            assert tuple(np.shape(outputs[name])) == shape, f"layer '{name}' at input {size}: {np.shape(outputs[name])} != {shape}"
        logits = framework.predict(model, images)
        assert isinstance(logits, np.ndarray) and logits.dtype == np.float32, "predict() must return a float32 numpy array"
        assert logits.shape == (BATCH, network.spec.classes)
        assert np.isfinite(logits).all()


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_forward_matches_reference(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """On the same neutral weights, every layer's output agrees with the numpy reference."""
    model = build(network)
    weights = initial_weights(network, seed=3)
    framework.load_weights(model, weights)
    logits_layer = list(network.walk())[-1].name
    for size in _sizes(network):
        images = _images(network, size, seed=1)
        expected = reference.layer_outputs(network, weights, images)
        actual = framework.layer_outputs(model, images)
        for name, value in expected.items():
            layer = diff(name, np.asarray(actual[name]), value, DEFAULT_TOLERANCE)
            assert not layer.diverged, (
                f"at input {size}, layer '{name}' is the first to differ from the reference: "
                f"max abs diff {layer.max_abs:.3g} (tolerance {DEFAULT_TOLERANCE:g} x {layer.scale:.3g})"
            )
        logits = diff(logits_layer, framework.predict(model, images), expected[logits_layer], DEFAULT_TOLERANCE, scale=1.0)
        assert not logits.diverged, f"predict() differs from the reference by {logits.max_abs:.3g} at input {size}"


def _assert_weights_equal(actual: NeutralWeights, expected: NeutralWeights, what: str) -> None:
    assert sorted(actual) == sorted(expected), f"{what}: layers {sorted(actual)} != {sorted(expected)}"
    for layer, tensors in expected.items():
        assert sorted(actual[layer]) == sorted(tensors), f"{what}: {layer} holds {sorted(actual[layer])}, not {sorted(tensors)}"
        for name, array in tensors.items():
            got = np.asarray(actual[layer][name])
            assert got.dtype == np.float32, f"{what}: {layer}/{name} is {got.dtype}, not float32"
            assert np.array_equal(got, array), f"{what}: {layer}/{name} changed (max abs diff {np.abs(got - array).max():.3g})"


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_weights_round_trip_exact(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """Export gives the neutral layout; load then export gives back exactly what was loaded."""
    model = build(network)
    own = framework.export_weights(model)
    check_complete(network, own)
    neutral = initial_weights(network, seed=5)
    framework.load_weights(model, neutral)
    _assert_weights_equal(framework.export_weights(model), neutral, "neutral weights loaded then exported")
    framework.load_weights(model, own)
    _assert_weights_equal(framework.export_weights(model), own, "the framework's own weights exported, loaded, exported")


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_predict_deterministic(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """Inference mode: the same batch gives the same logits twice, and the same as layer_outputs."""
    model = build(network)
    images = _images(network, _sizes(network)[0], batch=4, seed=2)
    first, second = framework.predict(model, images), framework.predict(model, images)
    assert np.array_equal(first, second), "predict() gave different logits for the same batch (dropout or BN in training mode?)"
    logits_layer = list(network.walk())[-1].name
    agreement = diff(logits_layer, first, np.asarray(framework.layer_outputs(model, images)[logits_layer]), DEFAULT_TOLERANCE)
    assert not agreement.diverged, f"predict() and layer_outputs() disagree on the logits by {agreement.max_abs:.3g}"


@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_effective_settings_batch_norm(framework: Framework, build: Callable[[Network], Any], network: Network) -> None:
    """Every batch norm's momentum and epsilon are reported with the spec's values, not left to a default."""
    settings = framework.effective_settings(build(network), network)
    assert isinstance(settings, EffectiveSettings)
    for node in network.walk():
        if node.type != "batch_norm":
            continue
        group = settings.groups.get(node.name, {})
        for name in ("momentum", "epsilon"):
            assert name in group, f"effective settings of '{node.name}' lack '{name}' (group {node.name!r})"
            setting = group[name]
            assert not setting.default, f"'{node.name}' {name} was left to the framework's default"
            assert _same(setting.neutral, getattr(node.layer, name)), (
                f"'{node.name}' {name}: neutral value {setting.neutral!r}, the spec says {getattr(node.layer, name)!r}"
            )
            problem = _translation_problem(f"'{node.name}' {name}", setting)
            assert problem is None, problem


INITIALISED_LAYERS = ("conv", "depthwise_conv", "dense", "batch_norm")


@pytest.mark.parametrize("init", ["framework", "shared"])
@pytest.mark.parametrize("network", NETWORKS, ids=_key)
def test_effective_settings_initialisation(framework: Framework, build: Callable[[Network], Any], network: Network,
                                           init: str) -> None:
    """Every layer with weights reports how they were initialised, truthfully for ``train.init``:
    the neutral weights with ``shared``, the framework's default otherwise."""
    network = with_train(network, init=init)
    settings = framework.effective_settings(build(network), network)
    for node in network.walk():
        if node.type not in INITIALISED_LAYERS:
            continue
        group = settings.groups.get(node.name, {})
        initialisers = {name: setting for name, setting in group.items() if name.endswith("_initializer")}
        assert initialisers, f"effective settings of '{node.name}' name no '<tensor>_initializer' setting"
        for name, setting in initialisers.items():
            if init == "shared":
                assert setting.neutral == "shared" and not setting.default, (
                    f"'{node.name}' {name} reports {setting.value!r} (default={setting.default}) although train.init is "
                    "shared: the weights come from harness.neutral.weights (see harness.framework.initializer_setting)"
                )
            else:
                assert setting.neutral == "framework" and setting.default, (
                    f"'{node.name}' {name} reports {setting.value!r} as if shared weights were loaded, with train.init: framework"
                )


def _oracle_mismatch(framework: Framework, model: Any, network: Network) -> str | None:
    """The first layer whose parameter counts differ from the oracle's, described; None when all agree."""
    counts = {name: (count.trainable, count.non_trainable) for name, count in framework.count_params(model).items()}
    mismatches = layer_mismatches(analyse(network), counts)
    return mismatches[0].describe(framework.name) if mismatches else None


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(network=random_networks())
def test_random_specs_agree_with_oracle_and_reference(framework: Framework, network: Network) -> None:
    """Random valid specs (every layer type, strides, paddings, heads): per-layer parameter
    counts equal the oracle's, and on neutral weights every layer equals the numpy reference."""
    model = framework.build(network)
    mismatch = _oracle_mismatch(framework, model, network)
    assert mismatch is None, f"first layer that differs: {mismatch}"
    weights = initial_weights(network, seed=11)
    framework.load_weights(model, weights)
    images = _images(network, _sizes(network)[0], seed=6)
    actual = framework.layer_outputs(model, images)
    for name, value in reference.layer_outputs(network, weights, images).items():
        layer = diff(name, np.asarray(actual[name]), value, DEFAULT_TOLERANCE)
        assert not layer.diverged, f"layer '{name}' is the first to differ from the reference by {layer.max_abs:.3g}"


# ------------------------------------------------------------------------------------- training


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_train_step(framework: Framework, optimizer: str) -> None:
    """Two steps give finite losses and change the weights, the classifier's above all."""
    network = training_network(optimizer)
    model = framework.build(network)
    framework.load_weights(model, initial_weights(network, seed=7))
    before = framework.export_weights(model)
    trainer = framework.prepare_training(model, network.spec.train)
    batch = network.spec.train.batch_size
    images = _images(network, _sizes(network)[0], batch=batch, seed=4)
    labels = np.random.Generator(np.random.PCG64(4)).integers(0, network.spec.classes, batch).astype(np.int64)
    for _ in range(2):
        result = framework.train_step(trainer, images, labels)
        assert isinstance(result.loss, float) and math.isfinite(result.loss), f"loss {result.loss!r} is not a finite float"
        assert 0 <= result.correct <= batch
    after = framework.export_weights(model)
    logits_layer = list(network.walk())[-1].name
    for name, array in before[logits_layer].items():
        assert not np.array_equal(after[logits_layer][name], array), f"{optimizer}: the classifier's {name} did not change"


def test_frozen_backbone(framework: Framework) -> None:
    """With ``train.freeze: backbone`` the backbone counts as non-trainable (as the oracle says) and
    two training steps leave its weights and batch-norm statistics exactly as loaded, while the head trains."""
    network = with_train(training_network("adam"), freeze="backbone")
    model = framework.build(network)
    mismatch = _oracle_mismatch(framework, model, network)
    assert mismatch is None, f"with a frozen backbone, first layer that differs: {mismatch}"
    start = initial_weights(network, seed=7)
    framework.load_weights(model, start)
    trainer = framework.prepare_training(model, network.spec.train)
    for images, labels in training_batches(network, 2, network.spec.train.batch_size, seed=4):
        framework.train_step(trainer, images, labels)
    after = framework.export_weights(model)
    for layer in frozen_layers(network) & set(start):
        for name, array in start[layer].items():
            assert np.array_equal(after[layer][name], array), f"the frozen layer '{layer}' {name} changed in training"
    logits = list(network.walk())[-1].name
    assert not np.array_equal(after[logits]["kernel"], start[logits]["kernel"]), "the head did not train"


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_effective_settings_optimizer(framework: Framework, optimizer: str) -> None:
    """Every hyperparameter of the spec's optimizer is reported with its neutral value, none left to a default."""
    network = training_network(optimizer)
    settings = framework.effective_settings(framework.build(network), network)
    group = settings.groups.get("optimizer", {})
    assert group, "effective settings need an 'optimizer' group"
    neutral = [value for setting in group.values() if not setting.default for value in _leaf_values(setting.neutral)]
    for name, value in network.spec.train.optimizer.model_dump().items():
        if name == "name":
            continue
        assert any(_same(v, value) for v in neutral), (
            f"the optimizer's {name}={value!r} is not among the effective settings' neutral values {neutral!r}"
        )
    for name, setting in group.items():
        problem = None if name == "class" else _translation_problem(f"optimizer {name}", setting)
        assert problem is None, problem


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_training_steps_match_reference(framework: Framework, optimizer: str) -> None:
    """A few steps from neutral weights on seeded batches give the numpy reference's losses, weight
    changes and final weights (BN moving statistics included), with the framework's declared departures."""
    network = training_network(optimizer)
    start = initial_weights(network, seed=7)
    batches = training_batches(network, TRAINING_STEPS, network.spec.train.batch_size, seed=4)
    run = framework_run(framework, network, start, batches)
    expected = reference_run(network, start, batches, type(framework).training_conventions)
    pair = compare_runs(network.key, run, expected, start, expected)
    assert pair.passed, (
        f"{optimizer}: training departs from the numpy reference at {pair.first_divergence.describe()}; "  # type: ignore[union-attr]
        f"tolerances: {TOLERANCES.describe()}; declared departures: {run.conventions or 'none'}"
    )


def test_a_partial_last_batch_trains_like_the_reference(framework: Framework) -> None:
    """An epoch's last batch is most often smaller than the others: the framework trains on it like
    on any other (skipping or padding it leaves the weights, or the loss, of another step)."""
    network = training_network("adam")
    start = initial_weights(network, seed=7)
    batch = network.spec.train.batch_size
    batches = training_batches(network, TRAINING_STEPS, batch, seed=5)
    images, labels = batches[-1]
    batches[-1] = (images[: batch // 2 + 1], labels[: batch // 2 + 1])
    run = framework_run(framework, network, start, batches)
    expected = reference_run(network, start, batches, type(framework).training_conventions)
    pair = compare_runs(network.key, run, expected, start, expected)
    assert pair.passed, (
        f"a last batch of {batch // 2 + 1} images (of {batch}) departs from the numpy reference at "
        f"{pair.first_divergence.describe()}; tolerances: {TOLERANCES.describe()}"  # type: ignore[union-attr]
    )


def test_float64_training_matches_reference(framework: Framework, pytestconfig: pytest.Config) -> None:
    """A plugin that trains in float64 (``float64_unavailable`` None) matches the float64 reference on a
    few Adam steps, in a worker of its own (float64 is process-wide in most frameworks), at the float64
    tolerances (and in float32 on the steps rounding leaves predictable); one that does not says why."""
    reason = type(framework).float64_unavailable
    if reason is not None:
        assert reason.strip(), "float64_unavailable must say why the framework cannot train in float64"
        return
    network = training_network("adam")
    result = check_training(network, {framework.name: type(framework)}, LocalExecutor(plugins.discover()), steps=TRAINING_STEPS,
                            batch=network.spec.train.batch_size, threads=KIT_THREADS, device=device_option(pytestconfig))
    assert not result.failures, result.failures
    exact = [pair for pair in result.pairs if pair.dtype == "float64"]
    assert exact, "no float64 run was compared"
    failing = [f"{pair.dtype} {pair.a} vs {pair.b}: {pair.first_divergence.describe()}" for pair in result.pairs
               if pair.first_divergence is not None]
    assert not failing, f"training departs from the numpy reference: {failing}; tolerances: float64 {FLOAT64_TOLERANCES.describe()}"
