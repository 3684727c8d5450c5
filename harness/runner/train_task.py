"""The worker's ``train`` task: the harness's own training loop, the same for every framework.

The harness, not the framework, decides the batches (from the seed and the epoch) and scores the
test split (softmax cross-entropy and accuracy in numpy, from the logits ``predict`` returns), so
every framework sees the same data in the same order and is scored the same way. The framework
contributes only ``build``, ``prepare_training``, ``train_step`` and ``predict``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from harness.framework import Framework, StepResult
from harness.neutral.oracle import analyse
from harness.neutral.pretrained import apply_init, save_trained
from harness.results import Epoch, Params
from harness.runner import measure, noise
from harness.runner.ceiling import GEMM_REPEATS, GEMM_SIZE, gemm_gflops
from harness.runner.divergence import DivergenceWatch, window_for
from harness.runner.events import emit
from harness.runner.protocol import TrainConfig, TrainRequest, TrainResult
from harness.runner.threads import effective_threads
from harness.runner.train_parity_task import batch_digest
from harness.spec import Network

DETERMINISM_GROUPS = ("runtime", "determinism")
"""Effective-settings groups in which plugins report their seeds and determinism flags."""
FIRST_LOSSES = 10
"""How many first-step losses a result keeps, to compare frameworks started from shared weights."""
PROGRESS_INTERVAL_S = 0.25
"""Least time between two step events, so reporting progress costs nothing measurable."""

DEFINITIONS: dict[str, str] = {
    "train_loss": "mean over the epoch's steps of StepResult.loss (each step's batch-mean loss), weighted by batch size.",
    "train_accuracy": "sum of StepResult.correct over the epoch / images trained.",
    "test_loss": "mean softmax cross-entropy of the logits framework.predict returns, computed by the harness in float64 numpy.",
    "test_accuracy": "share of test images whose largest logit is the label, computed by the harness.",
    "seconds": "wall time of an epoch's training (batches from the harness and train_step calls), evaluation not included.",
    "step_time": "wall time of one framework.train_step (forward, backward, update, loss read back) plus framework.synchronize(), "
                 "for every full batch after the job's first {warmup} steps, leaving out the first step at each input shape "
                 "(compile_seconds): steady state.",
    "images_per_second": "images in the timed steps / sum of their step times.",
    "gflops": "achieved training GFLOP/s = sum over the timed steps of (3 x oracle forward MACs per image x 2 FLOPs per MAC x batch size) "
              "/ sum of their step times / 1e9 (backward counted as twice the forward; convolutions and dense layers only).",
    "latency": "wall time of framework.predict on a fixed test batch (inputs in, logits back as numpy) after one warm-up call, "
               "repeated up to {repeats} times or {budget:g} s per batch size.",
    "build_seconds": "framework.build, plus load_weights with init shared or a weight file, plus prepare_training.",
    "first_step_seconds": "the job's first train_step alone (includes any graph tracing or compilation).",
    "compile_seconds": "per input shape (batch x height x width x channels), the first train_step at that shape: tracing and "
                       "compiling (in compiled mode) or retracing (a last partial batch, a size-agnostic network's new size).",
    "startup_seconds": "worker process start to the framework imported and configured (threads, device, seeds).",
    "peak_rss_mb": "peak resident memory of the worker process (ru_maxrss), in MiB.",
    "rounds": "the timed steps split into up to {rounds} consecutive blocks of at least {round_min} steps; a round is its block's "
              "median. Significance tests (harness compare) use rounds and seeds, never consecutive steps.",
    "noise": "load average before/after the training loop, CPU seconds other processes used during it (all cores' busy time "
             "less this worker's), CPU model and frequency; 'busy' when others used over {busy:.0%} of the cores, 'unstable' "
             "when step p90/median > {p90:g} or slowest/fastest round > {spread:g}.",
    "gemm_gflops": "the machine's ceiling: best of {gemm_repeats} FP32 {gemm_size}x{gemm_size} numpy matrix products in this worker, "
                   "at the job's threads, right after training; gflops is reported as a share of it.",
}


COMPILER_LINES = 12
"""How many lines of a compiler's message a failed compiled job keeps in its reason."""


class Diverged(Exception):
    """A diverged run (see :mod:`harness.runner.divergence`): training stops, the history so far is kept."""

    def __init__(self, reason: str, rule: str) -> None:
        super().__init__(reason)
        self.rule = rule


class CompileFailed(RuntimeError):
    """The framework's compiler could not compile the network (compiled mode only)."""


def compiler_message(framework: Framework, exc: Exception, where: str) -> str:
    """Why compiling failed: the compiled mode, where, and the first lines of the compiler's message."""
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    more = f"\n[{len(lines) - COMPILER_LINES} more lines in the log]" if len(lines) > COMPILER_LINES else ""
    head = "\n".join(lines[:COMPILER_LINES])
    return f"{framework.compiled_mode} could not compile the network ({where}): {head}{more}"


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-image cross-entropy of ``logits`` against integer ``labels`` (stable, float64)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_normaliser = np.log(np.exp(shifted).sum(axis=1))
    return log_normaliser - shifted[np.arange(len(labels)), labels]


@dataclass(frozen=True)
class Scores:
    """What one evaluation measured, and on which images: their number and a digest of them (the
    images as the framework received them, and their labels, in order)."""

    loss: float
    accuracy: float
    images: int
    digest: str


def evaluate(framework: Framework, model: Any, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> Scores:
    """Test loss and accuracy of ``model`` over ``batches``, scored by the harness."""
    loss_sum, correct, count = 0.0, 0, 0
    digest = hashlib.blake2b(digest_size=8)
    for images, labels in batches:
        digest.update(batch_digest(images, labels).encode())
        logits = np.asarray(framework.predict(model, images))
        loss_sum += float(softmax_cross_entropy(logits, labels).sum())
        correct += int((logits.argmax(axis=1) == labels).sum())
        count += len(labels)
    return Scores(loss_sum / max(count, 1), correct / max(count, 1), count, digest.hexdigest())


def time_calls(call: Callable[[], object], synchronize: Callable[[], None], repeats: int, budget_s: float) -> list[float]:
    """Seconds of each call of ``call`` after one warm-up call: ``repeats`` calls, or fewer once
    ``budget_s`` is spent (at least three)."""
    call()
    synchronize()
    samples: list[float] = []
    spent = 0.0
    while len(samples) < repeats and (len(samples) < 3 or spent < budget_s):
        start = time.perf_counter()
        call()
        synchronize()
        samples.append(time.perf_counter() - start)
        spent += samples[-1]
    return samples


def shape_key(images: np.ndarray) -> str:
    """An input shape as ``compile_seconds`` keys it: ``64x28x28x1``."""
    return "x".join(str(size) for size in images.shape)


class MacCounter:
    """Forward MACs per image from the oracle, per input size (size-agnostic networks vary)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.cache: dict[tuple[int, int], int | None] = {}

    def per_image(self, images: np.ndarray) -> int | None:
        size = (int(images.shape[1]), int(images.shape[2]))
        if size not in self.cache:
            fixed = self.network.input_shape[0] is not None
            self.cache[size] = analyse(self.network, None if fixed else size).macs
        return self.cache[size]


class Loop:
    """One job's training: epochs of harness-chosen batches, timed steps, evaluation, events."""

    def __init__(self, framework: Framework, config: TrainConfig, network: Network, data: Any, model: Any, trainer: Any) -> None:
        self.framework, self.config, self.network = framework, config, network
        self.data, self.model, self.trainer = data, model, trainer
        self.macs = MacCounter(network)
        self.history: list[Epoch] = []
        self.step_seconds: list[float] = []
        self.timed_images = 0
        self.timed_flops = 0.0
        self.flops_known = True
        self.first_losses: list[float] = []
        self.first_batches: list[str] = []
        self.batch_order = hashlib.blake2b(digest_size=8)
        self.first_step_seconds: float | None = None
        self.compile_seconds: dict[str, float] = {}
        self.scored: Scores | None = None
        self.steps_done = 0
        self.started = time.perf_counter()
        self.last_event = 0.0
        self.divergence = DivergenceWatch(network.spec.classes, window=window_for(data.train.num_batches(config.batch_size)))

    def run(self) -> None:
        """Train every epoch; raises :class:`Diverged` with the partial epoch recorded."""
        for epoch in range(1, self.config.epochs + 1):
            self.train_epoch(epoch)

    def train_epoch(self, epoch: int) -> None:
        batch_size = self.config.batch_size
        loss_sum, correct, images_seen, steps = 0.0, 0, 0, 0
        total_steps = self.data.train.num_batches(batch_size)
        shapes_before = len(self.compile_seconds)
        start = time.perf_counter()
        for images, labels in self.data.train.batches(batch_size, self.config.seed, epoch, shuffle=True):
            step_start = time.perf_counter()
            result = self.train_step(images, labels)
            self.framework.synchronize()
            elapsed = time.perf_counter() - step_start
            steps += 1
            self.steps_done += 1
            self.record_step(elapsed, images, labels, result.loss)
            loss_sum += result.loss * len(labels)
            correct += result.correct
            images_seen += len(labels)
            diverged = self.divergence.update(result.loss)
            if diverged:
                self.history.append(Epoch(epoch=epoch, train_loss=loss_sum / images_seen, train_accuracy=correct / images_seen,
                                          seconds=time.perf_counter() - start, steps=steps))
                emit("epoch", **self.history[-1].model_dump(mode="json"))
                raise Diverged(f"{diverged.reason} at epoch {epoch}, step {steps} of {total_steps}; "
                               "training stopped (the epochs before it are kept)", diverged.rule)
            if step_start - self.last_event >= PROGRESS_INTERVAL_S:
                self.last_event = step_start
                emit("step", epoch=epoch, step=steps, steps=total_steps, loss=result.loss, elapsed=step_start - self.started)
        seconds = time.perf_counter() - start
        eval_start = time.perf_counter()
        try:
            self.scored = evaluate(
                self.framework, self.model, self.data.test.batches(batch_size, self.config.seed, epoch, shuffle=False)
            )
        except Exception as exc:
            if self.framework.mode == "eager" or epoch > 1 or isinstance(exc, MemoryError):
                raise
            raise CompileFailed(compiler_message(self.framework, exc, "predict")) from exc
        record = Epoch(
            epoch=epoch, train_loss=loss_sum / max(images_seen, 1), train_accuracy=correct / max(images_seen, 1),
            test_loss=self.scored.loss, test_accuracy=self.scored.accuracy, seconds=seconds, steps=steps,
            eval_seconds=time.perf_counter() - eval_start,
        )
        self.history.append(record)
        first_steps = list(self.compile_seconds.values())[shapes_before:]  # each new shape's first step (compilation)
        emit("epoch", **record.model_dump(mode="json"), epochs=self.config.epochs, elapsed=time.perf_counter() - self.started,
             first_steps=len(first_steps), first_steps_seconds=sum(first_steps))

    def train_step(self, images: np.ndarray, labels: np.ndarray) -> StepResult:
        """One ``train_step``; in compiled mode a failure at a new input shape is the compiler's."""
        try:
            return self.framework.train_step(self.trainer, images, labels)
        except Exception as exc:
            shape = shape_key(images)
            if self.framework.mode == "eager" or shape in self.compile_seconds or isinstance(exc, MemoryError):
                raise
            raise CompileFailed(compiler_message(self.framework, exc, f"training step at {shape}")) from exc

    def record_step(self, seconds: float, images: np.ndarray, labels: np.ndarray, loss: float) -> None:
        if self.first_step_seconds is None:
            self.first_step_seconds = seconds
        digest = batch_digest(images, labels)
        self.batch_order.update(digest.encode())
        if len(self.first_losses) < FIRST_LOSSES:
            self.first_losses.append(float(loss))
            self.first_batches.append(digest)
        shape = shape_key(images)
        if shape not in self.compile_seconds:
            self.compile_seconds[shape] = seconds
            return
        if self.steps_done <= self.config.warmup_steps or len(images) != self.config.batch_size:
            return
        self.step_seconds.append(seconds)
        self.timed_images += len(images)
        macs = self.macs.per_image(images)
        if macs is None:
            self.flops_known = False
        else:
            self.timed_flops += 3 * 2 * macs * len(images)

    def summary(self) -> dict[str, Any]:
        """The step-time figures, as :class:`harness.results.JobResult` fields."""
        total = sum(self.step_seconds)
        timing = measure.summarize(self.step_seconds)
        return {
            "history": [e.model_dump(mode="json") for e in self.history],
            "step_time": timing.model_dump(mode="json") if timing else None,
            "images_per_second": self.timed_images / total if total > 0 else None,
            "gflops": self.timed_flops / total / 1e9 if total > 0 and self.flops_known else None,
            "first_step_seconds": self.first_step_seconds,
            "compile_seconds": self.compile_seconds,
            "first_step_losses": self.first_losses,
            "first_step_batches": self.first_batches,
            "batch_order": self.batch_order.hexdigest(),
            "test_images_scored": self.scored.images if self.scored else None,
            "test_images_digest": self.scored.digest if self.scored else None,
        }


def latency(framework: Framework, model: Any, data: Any, config: TrainConfig) -> dict[str, Any]:
    """Inference latency at batch 1 and at the training batch size, on fixed test images."""
    results: dict[str, Any] = {}
    for field, size in (("latency_batch_1", 1), ("latency_batch", config.batch_size)):
        images = data.fixed_batch(size)
        samples = time_calls(lambda: framework.predict(model, images), framework.synchronize,
                             config.latency_repeats, config.latency_budget_s)
        timing = measure.summarize(samples)
        results[field] = timing.model_dump(mode="json") if timing else None
        results["latency_batch_size"] = len(images)
    return results


def parameter_counts(framework: Framework, model: Any) -> dict[str, Any]:
    """The framework's parameter counts, in total and per neutral layer."""
    counts = framework.count_params(model)
    total = Params(
        trainable=sum(c.trainable for c in counts.values()),
        non_trainable=sum(c.non_trainable for c in counts.values()),
        total=sum(c.total for c in counts.values()),
    )
    layers = {name: {"trainable": c.trainable, "non_trainable": c.non_trainable} for name, c in counts.items()}
    return {"params": total.model_dump(), "layer_params": layers}


def job_environment(framework: Framework, config: TrainConfig, settings: dict[str, Any]) -> dict[str, Any]:
    """The environment with the thread pools and determinism settings as read back in this worker."""
    env = measure.environment(framework.name, type(framework).version(), config.device, config.threads)
    env.thread_pools = {"framework": framework.thread_settings(), **effective_threads()}
    runtime = {
        name: entry.get("value") for group in DETERMINISM_GROUPS for name, entry in settings.get(group, {}).items()
    }
    env.determinism = {
        "seed": config.seed,
        "data_order": "chosen by the harness from (seed, epoch); the same for every framework",
        "init": config.init if isinstance(config.init, str) else config.init.model_dump(),
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
        "framework": runtime,
    }
    return env.model_dump(mode="json")


def definitions(config: TrainConfig) -> dict[str, str]:
    """How each measured figure is defined, with this job's settings filled in."""
    values = {"warmup": config.warmup_steps, "repeats": config.latency_repeats, "budget": config.latency_budget_s,
              "rounds": measure.ROUNDS, "round_min": measure.ROUND_MIN_SAMPLES, "busy": noise.BUSY_SHARE,
              "p90": noise.UNSTABLE_P90_OVER_MEDIAN, "spread": noise.UNSTABLE_ROUND_SPREAD,
              "gemm_repeats": GEMM_REPEATS, "gemm_size": GEMM_SIZE}
    return {name: text.format(**values) for name, text in DEFINITIONS.items()}


def train_task(framework: Framework, request: TrainRequest) -> TrainResult:
    """Train one job and measure it; a diverged run returns status ``diverged`` with its history.

    The request's network already holds the job's training settings, so ``prepare_training`` and
    ``effective_settings`` see the same resolved ``train``.
    """
    from harness.data import load_data

    config = request.config
    startup = time.time() - psutil.Process().create_time()
    network = request.network.network()
    emit("phase", phase="data")
    data_start = time.perf_counter()
    data = load_data(
        network.spec.dataset, network.input_shape, classes=network.spec.classes, data_dir=config.data_dir,
        seed=config.seed, limit_train=config.limit_train, limit_test=config.limit_test, name_override=config.dataset,
    )
    data_seconds = time.perf_counter() - data_start
    emit("start", epochs=config.epochs, steps=data.train.num_batches(config.batch_size), data=data.info.name)
    emit("phase", phase="build")
    build_start = time.perf_counter()
    model = framework.build(network)
    sources = apply_init(framework, model, network, config.seed)
    trainer = framework.prepare_training(model, network.spec.train)
    build_seconds = time.perf_counter() - build_start
    settings = framework.effective_settings(model, network).as_dict()
    result: dict[str, Any] = {
        "status": "ok", "build_seconds": build_seconds, "startup_seconds": startup, "data_seconds": data_seconds,
        "effective_settings": settings, "data": data.info.model_dump(mode="json"),
        "definitions": definitions(config), "weight_sources": sources,
        **parameter_counts(framework, model),
    }
    emit("phase", phase="train")
    loop = Loop(framework, config, network, data, model, trainer)
    probe = noise.NoiseProbe().start()
    try:
        loop.run()
    except Diverged as exc:
        result.update(status="diverged", reason=str(exc), diverged_rule=exc.rule)
    result.update(loop.summary())
    result["noise"] = probe.stop(measure.summarize(loop.step_seconds), measure.cpu_model()).model_dump()
    result["gemm_gflops"] = gemm_gflops()
    if result["status"] == "ok":
        emit("phase", phase="latency")
        result.update(latency(framework, model, data, config))
        if config.save_weights:
            result["saved_weights"] = save_trained(framework, model, Path(config.save_weights))
    result["environment"] = job_environment(framework, config, settings)
    result["peak_rss_mb"] = measure.peak_rss_mb()
    return TrainResult.model_validate(result)
