"""Why is Paddle slower with more threads, and which setting a Paddle user would apply helps?

Runs the plain Paddle LeNet of ``benchmarks/native/paddle_native.py`` (no harness) in a fresh
process per measurement, under several environments, interleaved: every round runs each
configuration once, in an order that rotates from round to round, so a busy minute on a shared
machine hits every configuration alike. Prints, per configuration, the median over rounds of the
median step time (of the second, timed epoch), its ratio to the first configuration (median of
the per-round ratios, with their range), and the 1-minute load average around each round. It also
lists the OpenMP runtimes a Paddle process has loaded (``/proc/self/maps``).

    python benchmarks/paddle_threads.py --rounds 5 --limit-train 3200
    python benchmarks/paddle_threads.py --configs t1,t2,t2_blocktime0 --rounds 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "native"))

from data import SCRIPTS, write_images

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CPU_NUM", "FLAGS_paddle_num_threads")
CONFIGS: dict[str, tuple[int, dict[str, str]]] = {
    "t1": (1, {}),
    "t1_passive": (1, {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}),
    "t2": (2, {}),
    "t2_blocktime0": (2, {"KMP_BLOCKTIME": "0"}),
    "t2_passive": (2, {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}),
    "t2_onednn": (2, {"FLAGS_use_mkldnn": "1"}),
    "t2_passive_onednn": (2, {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0", "FLAGS_use_mkldnn": "1"}),
    "t1_onednn": (1, {"FLAGS_use_mkldnn": "1"}),
}
"""Name -> (threads, extra variables). ``t2`` is Paddle as it comes with two threads."""

OPENMP_PROBE = """
import re, paddle
x = paddle.randn([8, 1, 28, 28]); paddle.nn.Conv2D(1, 6, 5)(x).sum().backward()
maps = open('/proc/self/maps').read()
print(sorted({m.split('/')[-1] for m in re.findall(r'/\\S*(?:iomp5|gomp|omp)\\S*\\.so\\S*', maps)}))
"""


def environment(threads: int, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMP_", "OMP_", "FLAGS_"))}
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env["GLOG_minloglevel"] = "2"
    env.update(extra)
    return env


def load_average() -> float:
    return os.getloadavg()[0]


def measure(config: str, data: Path, model: str) -> float:
    """The median step time (ms) of the timed (second) epoch, in a fresh process."""
    threads, extra = CONFIGS[config]
    completed = subprocess.run([sys.executable, str(SCRIPTS["paddle"]), model, str(data), "--epochs", "2"],
                               env=environment(threads, extra), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{config}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])["epochs"][-1]["step_ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"names among {', '.join(CONFIGS)}; the first is the base")
    parser.add_argument("--model", default="lenet", choices=["lenet", "e5a"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit-train", type=int, default=3200, help="images per epoch")
    parser.add_argument("--dataset", help="default: MNIST, else Fashion-MNIST")
    args = parser.parse_args()
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    probe = subprocess.run([sys.executable, "-c", OPENMP_PROBE], env=environment(2, {}), capture_output=True, text=True, check=False)
    print(f"OpenMP runtimes in a Paddle process: {probe.stdout.strip() or probe.stderr[-500:]}")
    steps: dict[str, list[float]] = {name: [] for name in names}
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder, "images.npz")
        dataset = write_images(data, args.dataset, args.limit_train)
        print(f"{args.model} on {args.limit_train} {dataset} images, {args.rounds} interleaved rounds; cores: {os.cpu_count()}")
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            loads.append(load_average())
            for name in names[shift:] + names[:shift]:
                steps[name].append(measure(name, data, args.model))
            loads.append(load_average())
            print(f"round {round_number + 1}: " + "  ".join(f"{name} {steps[name][-1]:.1f}" for name in names)
                  + f"  (load {loads[-2]:.1f} -> {loads[-1]:.1f})", flush=True)
    base = names[0]
    print(f"\n| configuration | threads | variables | median step ms | ratio to {base} (median [min, max] of rounds) |")
    print("|---|---|---|---|---|")
    for name in names:
        threads, extra = CONFIGS[name]
        ratios = [value / reference for value, reference in zip(steps[name], steps[base])]
        variables = " ".join(f"{k}={v}" for k, v in extra.items()) or "-"
        print(f"| {name} | {threads} | {variables} | {statistics.median(steps[name]):.1f} | "
              f"{statistics.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}] |")
    print(f"\n1-minute load average during the rounds: median {statistics.median(loads):.1f}, "
          f"range {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
