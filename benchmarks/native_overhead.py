"""How much slower is the harness than the same network written natively, without the harness?

The native side is independent of the harness and its plugins: ``benchmarks/native/<framework>_native.py``
builds LeNet (E3a, ``specs/lenet.yaml``) or the E5a MNIST CNN (``specs/mnist_dropout_heads.yaml``,
variant ``a_baseline``) the way the framework's users write it (a plain ``torch.nn`` loop, a Keras
``Sequential`` + ``fit`` on TensorFlow, PyTorch or JAX (``KERAS_BACKEND``), a Paddle ``nn.Layer``
dygraph loop, a Flax NNX model with an optax optimizer and a ``jax.jit`` step), in a fresh process
where only the thread count is set. ``--mode compiled`` compiles both sides the way the framework's
users switch its compiler on (``torch.compile(model)``, ``jit_compile=True``, ``paddle.jit.to_static``);
a framework without a compiled mode is left out with a note (JAX's step is compiled in every mode).
The harness side is ``harness run`` itself, on the same images. Both train two epochs; the second
is timed (median step time; the first is a warm-up, compilation included), and the two sides run
interleaved, round after round, alternating which goes first, so a busy minute on a shared
machine hits both alike. The ratio shown is the median over rounds of harness / native, and the
verdict on the harness's promise (within 3% of native) is the report's
(:func:`harness.report.native.overhead_verdict`): *holds* when the 95% t interval of the rounds'
geometric mean lies below ``--max-ratio``, *contradicted* when it lies above, else *undecided* with
the rounds that would decide it. Decide with one run of enough rounds, not by adding rounds until
it says what you hoped (every look is another chance of a false verdict).

    python benchmarks/native_overhead.py specs/lenet.yaml --framework all
    python benchmarks/native_overhead.py specs/lenet.yaml --framework all --mode compiled
    python benchmarks/native_overhead.py specs/mnist_dropout_heads.yaml --variant a_baseline
    python benchmarks/native_overhead.py specs/lenet.yaml --framework torch --limit-train 1280 --rounds 1   # a quick look

``--record`` writes the figures into ``harness/report/native_anchors.json``, the committed
measurements the report quotes (:mod:`harness.report.native`). The data set is the spec's (MNIST),
else Fashion-MNIST when MNIST cannot be found (as ``make quickstart`` does), or ``--dataset``.
Prints harness and native step times, their ratio and the verdict; exits 1 when a verdict is
contradicted (the harness is more than ``--max-ratio``, default 1.03, times native), 2 for a spec
that has no native script, 3 when the data cannot be used.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "native"))

from data import KERAS_BACKENDS, SCRIPTS, write_images

NATIVE_MODELS = {"lenet": "lenet", "mnist_dropout_heads:a_baseline": "e5a"}
"""Network key -> the native scripts' model of the same network."""
NATIVE_IDIOMS = {"torch": "plain torch.nn loop", "keras": "Keras Sequential + fit", "paddle": "Paddle nn.Layer dygraph loop",
                 "jax": "Flax NNX + optax, jax.jit step", "keras-torch": "Keras Sequential + fit on PyTorch",
                 "keras-jax": "Keras Sequential + fit on JAX"}
COMPILED_IDIOMS = {"torch": "plain loop, torch.compile(model)", "keras": "Keras fit, jit_compile=True (XLA)",
                   "paddle": "dygraph loop, paddle.jit.to_static"}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS", "CPU_NUM")
XLA_FRAMEWORKS = ("jax", "keras-jax")
"""Frameworks whose ops XLA runs: JAX reads none of :data:`THREAD_VARIABLES`, its CPU thread count is
``NPROC``, and one thread means ``--xla_cpu_multi_thread_eigen=false`` as well (docs/timing.md)."""
EXIT_OVER, EXIT_NO_NATIVE, EXIT_NO_DATA = 1, 2, 3


@dataclass
class Comparison:
    """One framework's interleaved rounds: median step time (ms) of each side, per round."""

    framework: str
    mode: str = "eager"
    dataset: str = ""
    harness_ms: list[float] = field(default_factory=list)
    native_ms: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    options: tuple[str, ...] = ()
    """More of the native script's command line (``--native-arg``)."""

    @property
    def ratios(self) -> list[float]:
        return [h / n for h, n in zip(self.harness_ms, self.native_ms)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def idiom(self) -> str:
        """How the native side is written."""
        idiom = (COMPILED_IDIOMS if self.mode == "compiled" else NATIVE_IDIOMS)[self.framework]
        return f"{idiom} ({' '.join(self.options)})" if self.options else idiom


def xla_thread_settings(threads: int) -> dict[str, str]:
    """How a JAX user limits XLA's CPU ops to ``threads`` threads."""
    return {"NPROC": str(threads), **({"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"} if threads == 1 else {})}


def native_environment(threads: int, extra: dict[str, str] | None = None, xla: bool = False) -> dict[str, str]:
    """The caller's environment with only the thread count set (no harness or plugin settings; for
    ``xla``, in XLA's own variables too), plus ``extra`` (``--native-env``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMP_", "OMP_", "FLAGS_", "HARNESS_"))}
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env.update(xla_thread_settings(threads) if xla else {})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra or {})
    return env


def native_step_ms(framework: str, model: str, data: Path, threads: int, seed: int, batch_size: int | None,
                   extra: dict[str, str] | None = None, mode: str = "eager", options: Sequence[str] = ()) -> float:
    """The native script's median step (ms) of its second epoch; ``options``: more of its command line."""
    command = [sys.executable, str(SCRIPTS[framework]), model, str(data), "--epochs", "2", "--seed", str(seed)]
    command += ["--batch-size", str(batch_size)] if batch_size else []
    command += ["--compiled"] if mode == "compiled" else []
    command += list(options)
    backend = {"KERAS_BACKEND": KERAS_BACKENDS[framework]} if framework in KERAS_BACKENDS else {}
    env = native_environment(threads, backend | (extra or {}), xla=framework in XLA_FRAMEWORKS)
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"native {framework} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])["epochs"][-1]["step_ms"]


def harness_step_ms(framework: str, args: argparse.Namespace, dataset: str, steps_per_epoch: int, out: Path) -> float:
    """``harness run`` for two epochs, the first left out of the step-time statistics."""
    command = [sys.executable, "-m", "harness", "run", str(args.spec), "--framework", framework, "--epochs", "2",
               "--limit-train", str(args.limit_train), "--limit-test", "64", "--threads", str(args.threads),
               "--seed", str(args.seed), "--warmup-steps", str(steps_per_epoch), "--latency-repeats", "1",
               "--mode", getattr(args, "mode", "eager"), "--no-parity", "--no-report", "--quiet", "--out", str(out)]
    command += ["--dataset", dataset] if dataset != "mnist" else []  # the spec's own data set otherwise
    for option in ("variant", "data_dir", "batch_size"):
        if getattr(args, option) is not None:
            command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    jobs = list((out / "jobs").glob("*.json"))
    if completed.returncode != 0 or len(jobs) != 1:
        raise RuntimeError(f"harness run ({framework}) failed:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    return json.loads((out / "results.json").read_text())["jobs"][0]["step_time"]["median_ms"]


def compare(frameworks: list[str], args: argparse.Namespace, model: str, batch_size: int,
            report: bool = True) -> list[Comparison]:
    """Interleaved rounds of both sides for every framework, on the same images."""
    from harness.data import DataError

    mode = getattr(args, "mode", "eager")
    steps_per_epoch = args.limit_train // batch_size
    with tempfile.TemporaryDirectory(prefix="native-overhead-") as folder:
        data = Path(folder, "images.npz")
        try:
            dataset = write_images(data, args.dataset, args.limit_train, args.data_dir)
        except DataError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            raise SystemExit(EXIT_NO_DATA) from None
        options = tuple(getattr(args, "native_arg", None) or ())
        results = {name: Comparison(name, mode, dataset, options=options) for name in frameworks}
        if report and args.dataset is None and dataset != "mnist":
            print(f"MNIST cannot be found or downloaded here: running on {dataset} instead (--dataset {dataset}).")
        if report:
            print(f"{model}: {args.limit_train} {dataset} images, batch {batch_size}, {args.threads} threads, "
                  f"{args.rounds} interleaved rounds", flush=True)
        for round_number in range(args.rounds):
            for name in frameworks:
                result = results[name]
                result.loads.append(os.getloadavg()[0])
                sides = ["harness", "native"] if round_number % 2 == 0 else ["native", "harness"]
                for side in sides:
                    if side == "harness":
                        out = Path(folder, f"run-{name}-{round_number}")
                        result.harness_ms.append(harness_step_ms(name, args, dataset, steps_per_epoch, out))
                    else:
                        result.native_ms.append(native_step_ms(name, model, data, args.threads, args.seed, args.batch_size,
                                                               native_variables(getattr(args, "native_env", None)), mode,
                                                               options))
                if report:
                    print(f"  round {round_number + 1} {name:<11} harness {result.harness_ms[-1]:8.2f} ms  native "
                          f"{result.native_ms[-1]:8.2f} ms  ratio {result.ratios[-1]:.3f}  (load {result.loads[-1]:.1f})",
                          flush=True)
    return list(results.values())


def native_variables(pairs: list[str] | None) -> dict[str, str]:
    """``--native-env NAME=VALUE`` options as a mapping."""
    variables = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --native-env takes NAME=VALUE, not '{pair}'")
        variables[name] = value
    return variables


def native_model(spec: Path, variant: str | None) -> tuple[str, int, str | None, str]:
    """The native model of the spec's network, its batch size, the variant to run and the network's key."""
    from harness.spec import load_network, load_networks

    if variant is None:
        keys = {network.key: network for network in load_networks(spec)}
        variant = "a_baseline" if "mnist_dropout_heads:a_baseline" in keys else None
    network = load_network(spec, variant)
    if network.key not in NATIVE_MODELS:
        print(f"error: no native script for {network.key}; benchmarks/native/ has LeNet (specs/lenet.yaml) and E5a "
              "(specs/mnist_dropout_heads.yaml, variant a_baseline).", file=sys.stderr)
        raise SystemExit(EXIT_NO_NATIVE)
    return NATIVE_MODELS[network.key], network.spec.train.batch_size, variant, network.key


def with_compiled_mode(names: list[str], mode: str) -> list[str]:
    """``names`` that can run ``mode``; in compiled mode the others are named with why they are left out."""
    from harness.plugins import framework_class

    if mode == "eager":
        return names
    offered = [name for name in names if framework_class(name).compiled_mode is not None and name in COMPILED_IDIOMS]
    for name in sorted(set(names) - set(offered)):
        already = framework_class(name).eager_compiled_by
        print(f"note: {name} left out: no compiled mode" + (f" (its step is always compiled by {already})" if already else ""))
    return offered


def record(results: list[Comparison], network: str, args: argparse.Namespace) -> None:
    """Write the figures into the committed measurements the report quotes."""
    from harness.report.native import ANCHORS, Anchor, write_anchors

    measured = f"{time.strftime('%Y-%m-%d')}, {args.limit_train} {results[0].dataset} images, {args.threads} thread(s)"
    write_anchors([Anchor(network=network, framework=result.framework, mode=result.mode, native=result.idiom,
                          harness_ms=round(statistics.median(result.harness_ms), 3),
                          native_ms=round(statistics.median(result.native_ms), 3), ratio=round(result.ratio, 4),
                          rounds=[round(r, 4) for r in result.ratios], load=[min(result.loads), max(result.loads)],
                          measured=measured) for result in results])
    print(f"Recorded in {ANCHORS}.")


def main() -> int:
    from harness.findings.power import CONTRADICTED
    from harness.report.native import overhead_verdict
    from harness.runner.threads import RUN_THREADS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", type=Path)
    parser.add_argument("--variant")
    parser.add_argument("--framework", default="all", help="all, or names separated by commas")
    parser.add_argument("--mode", choices=["eager", "compiled"], default="eager",
                        help="compiled: both sides compiled (frameworks without a compiled mode are left out)")
    parser.add_argument("--dataset", help="a data set standing in for the spec's (default: MNIST, else Fashion-MNIST)")
    parser.add_argument("--data-dir")
    parser.add_argument("--limit-train", type=int, default=6400, help="images per epoch (default 6400)")
    parser.add_argument("--batch-size", type=int, help="default: the spec's")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each side: one process, two epochs)")
    parser.add_argument("--threads", type=int, default=RUN_THREADS, help="default: harness run's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-ratio", type=float, default=1.03, help="the promise: harness / native at most this")
    parser.add_argument("--native-env", action="append", metavar="NAME=VALUE",
                        help="a variable for the native side too (repeatable), e.g. the plugin's OMP_WAIT_POLICY=PASSIVE, "
                             "to compare like with like")
    parser.add_argument("--native-arg", action="append", metavar="ARG",
                        help="an option for the native script too (repeatable), e.g. --native-arg=--accuracy: Keras' "
                             "fit counts each batch's training accuracy, as the harness does")
    parser.add_argument("--record", action="store_true",
                        help="write the figures into harness/report/native_anchors.json (what the report quotes)")
    args = parser.parse_args()
    from harness.plugins import PluginError, discover, select_frameworks

    try:
        names = [name for name in select_frameworks(args.framework, discover()).names if name in SCRIPTS]
    except PluginError as exc:
        raise SystemExit(f"error: {exc}") from None
    names = with_compiled_mode(names, args.mode)
    if not names:
        raise SystemExit(f"error: none of {args.framework} has a native script in {args.mode} mode")
    model, spec_batch, args.variant, network = native_model(args.spec, args.variant)
    batch_size = args.batch_size or spec_batch
    results = compare(names, args, model, batch_size)
    width = max(len(result.idiom) for result in results)
    print(f"\n{'framework':<11} {'mode':<8} {'native path':<{width}} {'harness ms':>10} {'native ms':>10} {'ratio':>7}  "
          f"at most {args.max_ratio} (95% t interval of the geometric mean)")
    verdicts = [overhead_verdict(result.ratios, args.max_ratio) for result in results]
    for result, verdict in zip(results, verdicts):
        print(f"{result.framework:<11} {result.mode:<8} {result.idiom:<{width}} {statistics.median(result.harness_ms):>10.2f} "
              f"{statistics.median(result.native_ms):>10.2f} {result.ratio:>7.3f}  {verdict}")
        print(f"{'':<11} rounds' ratios: {', '.join(f'{r:.2f}' for r in result.ratios)}")
    loads = [load for result in results for load in result.loads]
    print(f"1-minute load average during the rounds: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores.")
    if args.record:
        record(results, network, args)
    return EXIT_OVER if any(verdict.verdict == CONTRADICTED for verdict in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
