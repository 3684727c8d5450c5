"""A new user's first hour: the Makefile with a virtual environment that is not on PATH, a help
that imports nothing heavy, progress lines in a log, and the quick start's wording."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli import COMMANDS, load_command
from harness.commands.params import summary_text
from harness.runner.progress import duration_text, epoch_line
from plugin_support import ROOT, write_plugin

FIXTURES = Path(__file__).parent / "fixtures"
HEAVY_MODULES = ("tensorflow", "keras", "torch", "paddle", "jax", "pandas", "matplotlib", "scipy", "harness.commands")

TINY_SPEC = """\
name: tiny
title: Tiny
source: test
classes: 3
input: [8, 8, 1]
backbone:
  - {type: conv, filters: 2, kernel: 3, activation: relu}
head: {type: flatten}
train:
  optimizer: {name: sgd, lr: 0.1}
  batch_size: 32
  epochs: 3
dataset: {name: synthetic, train_size: 64, test_size: 32}
"""


def plain_environment(*sites: Path) -> dict[str, str]:
    """This environment with ``sites`` first on PYTHONPATH, no terminal width, no colours."""
    env = {key: value for key, value in os.environ.items() if key not in ("COLUMNS", "FORCE_COLOR", "TERM")}
    env["PYTHONPATH"] = os.pathsep.join([str(site) for site in sites] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


@pytest.fixture
def fake_site(tmp_path: Path) -> Path:
    """The fake framework plugin of tests/fixtures, installed through an entry point in a folder."""
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "harness-first-hour-fake", {"run_fake": "run_fake_plugin"}, {})
    return site


def test_help_lists_every_command_with_its_own_summary() -> None:
    """The summaries ``harness --help`` shows without importing the commands are their help's first paragraph."""
    for name, entry in COMMANDS.items():
        command = load_command(name)
        assert entry.summary == inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " "), name


def test_help_imports_no_command_framework_or_heavy_library() -> None:
    probe = ("import sys\nfrom harness.cli import main\nsys.argv = ['harness', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY_MODULES!r} "
             f"or m.startswith('harness.commands')))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "LOADED []" in run.stdout
    for name in COMMANDS:
        assert name in run.stdout


def test_run_into_a_pipe_prints_a_line_per_epoch_of_every_job(tmp_path: Path, fake_site: Path) -> None:
    """``harness run ... | cat``: a line per job started, per epoch and per job ended, each with loss and ETA."""
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(spec), "--framework", "fake", "--seeds", "0,1", "--threads", "1",
         "--no-report", "--warmup-steps", "0", "--latency-repeats", "3", "--out", str(tmp_path / "out")],
        env=plain_environment(fake_site, FIXTURES), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for seed in (0, 1):
        job = f"tiny / fake / seed {seed}"
        epochs = [line for line in lines if line.startswith("epoch ") and job in line]
        assert [line.split()[1] for line in epochs] == ["1/3", "2/3", "3/3"], run.stdout
        assert all(re.search(r"loss [\d.e+-]+, train acc [\d.]+, test acc [\d.]+, [\d.]+ s", line) for line in epochs)
        assert "ETA" in epochs[0] and "ETA" not in epochs[-1]
        started = lines.index(f"started     {job}")
        ended = next(i for i, line in enumerate(lines) if line.startswith("ok") and job in line)
        assert started < lines.index(epochs[0]) < lines.index(epochs[-1]) < ended


def test_quiet_keeps_one_line_per_job(tmp_path: Path, fake_site: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(spec), "--framework", "fake", "--epochs", "2", "--threads", "1",
         "--no-report", "--quiet", "--latency-repeats", "3", "--out", str(tmp_path / "out")],
        env=plain_environment(fake_site, FIXTURES), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not [line for line in run.stdout.splitlines() if line.startswith(("epoch ", "started"))]
    assert len([line for line in run.stdout.splitlines() if line.startswith("ok ")]) == 1


def test_epoch_line_of_a_diverged_epoch_has_no_test_figures() -> None:
    """The epoch event of a diverged epoch carries no test accuracy, epochs or elapsed time."""
    from harness.runner.jobs import RunOptions, plan_jobs
    from harness.spec import load_network

    [job] = plan_jobs([load_network(ROOT / "specs" / "lenet.yaml")], RunOptions(frameworks=["torch"], epochs=4))
    line = epoch_line(job, {"event": "epoch", "epoch": 2, "train_loss": float("nan"), "train_accuracy": 0.1, "seconds": 75.0})
    assert line == "epoch 2/4  lenet / torch / seed 0: loss nan, train acc 0.1000, 1m 15s"


@pytest.mark.parametrize(("seconds", "text"), [(42.13, "42.1 s"), (59.96, "1m 00s"), (185, "3m 05s"), (3725, "1h 02m")])
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_params_summary_counts_networks_in_good_english() -> None:
    def results(*oks: bool) -> list:
        return [SimpleNamespace(network=SimpleNamespace(key=f"net{i}"), ok=ok) for i, ok in enumerate(oks)]

    assert summary_text(results(True), ["torch"]) == "[green]1 network agrees[/] in torch"
    assert summary_text(results(True, True), ["keras", "torch"]) == "[green]all 2 networks agree[/] in keras, torch"
    assert summary_text(results(True, False), ["torch"]) == "[red]1 of 2 networks disagrees:[/] net1"
    assert summary_text(results(False, False), ["torch"]) == "[red]2 of 2 networks disagree:[/] net0, net1"


def test_the_stand_in_note_is_one_line_in_a_log(tmp_path: Path, fake_site: Path) -> None:
    """The note saying Fashion-MNIST stands in for MNIST is not wrapped at 80 columns outside a terminal."""
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(ROOT / "specs" / "lenet_stride2.yaml"), "--framework", "fake",
         "--dataset", "fashion-mnist", "--dry-run", "--out", str(tmp_path / "out")],
        env=plain_environment(fake_site, FIXTURES), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    if run.returncode == 3:
        pytest.skip("Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist)")
    assert run.returncode == 0, run.stdout + run.stderr
    [note] = [line for line in run.stdout.splitlines() if line.startswith("note:")]
    assert "stands in for the spec's mnist (--dataset fashion-mnist); checksum" in note and len(note) > 80


def venv_with_these_packages(venv: Path) -> Path:
    """A virtual environment (no pip) that sees the packages of the Python running the tests: what
    `make setup` installs (the harness, its plugins, their dependencies), wherever the tests run
    (a `make setup` venv, a conda or pyenv Python, a system one). ``--system-site-packages`` alone
    is not enough: from inside a venv it reaches the base Python's packages, not the venv's."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    sites = [path for path in sys.path if Path(path).name in ("site-packages", "dist-packages") and Path(path).is_dir()]
    inner = subprocess.run([venv / "bin" / "python", "-c", "import site; print(site.getsitepackages()[0])"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    (Path(inner) / "tests-python.pth").write_text("".join(f"import site; site.addsitedir({path!r})\n" for path in sites))
    return venv


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_targets_run_with_a_virtual_environment_not_on_path(tmp_path: Path) -> None:
    """``make check`` and ``make quickstart`` (a dry run) with ``PYTHON`` a venv's python, the venv
    not on PATH, and a ``harness`` on PATH that fails: the Makefile must run ``$(PYTHON) -m harness``,
    and must not reinstall what is installed."""
    venv = venv_with_these_packages(tmp_path / "venv")
    decoy = tmp_path / "bin"
    decoy.mkdir()
    (decoy / "harness").write_text("#!/bin/sh\necho 'a bare harness was called' >&2\nexit 99\n")
    (decoy / "harness").chmod(0o755)
    env = plain_environment()
    env["PATH"] = os.pathsep.join([str(decoy), env["PATH"]])
    python = f"PYTHON={venv / 'bin' / 'python'}"

    check = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "check", python],
                           env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "-m harness check" in check.stdout and "lenet_stride2" in check.stdout

    quickstart = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", "quickstart", python, "JOB_OPTIONS=--dry-run --framework torch"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    output = quickstart.stdout + quickstart.stderr
    if "Fashion-MNIST instead" in output and "cannot be used" in output:
        pytest.skip("neither MNIST nor Fashion-MNIST is here")
    assert quickstart.returncode == 0, output
    assert "bare harness" not in output and "pip install" not in output
    assert f"{venv / 'bin' / 'python'} -m harness run specs/lenet_stride2.yaml" in quickstart.stdout
    assert "job lenet_stride2 / torch / seed 0" in quickstart.stdout


FAKE_PYTHON = """\
#!/bin/sh
# Logs how it was called; answers the Makefile's "is everything installed" check with $INSTALLED_EXIT,
# makes a virtual environment (a copy of itself) for `-m venv DIR`, and succeeds at everything else.
echo "$0 $*" >> "$CALLS"
case "$1" in
  -c) exit "$INSTALLED_EXIT" ;;
  -m) if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi ;;
esac
exit 0
"""


def make_test(tmp_path: Path, installed: bool, *arguments: str) -> tuple[list[str], Path]:
    """``make test`` on a copy of the Makefile in a fresh folder, with a logging stand-in for
    ``python3`` (and for apt-get, so nothing is installed); the calls the stand-ins got."""
    project, bin_folder = tmp_path / "clone", tmp_path / "bin"
    project.mkdir(parents=True)
    bin_folder.mkdir()
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    for name, text in (("python3", FAKE_PYTHON), ("apt-get", '#!/bin/sh\necho "apt-get $*" >> "$CALLS"\n')):
        (bin_folder / name).write_text(text)
        (bin_folder / name).chmod(0o755)
    calls = tmp_path / "calls.log"
    env = {"PATH": os.pathsep.join([str(bin_folder), "/usr/bin", "/bin"]), "CALLS": str(calls),
           "INSTALLED_EXIT": "0" if installed else "1", "HOME": str(tmp_path)}
    done = subprocess.run(["make", "-C", str(project), "--no-print-directory", "test", *arguments], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.replace(str(bin_folder) + "/", "").replace(str(project) + "/", "") for line in calls.read_text().splitlines()], project


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_sets_up_a_fresh_clone_and_reuses_an_installed_python(tmp_path: Path) -> None:
    """A fresh clone: `make test` runs `make setup` (a .venv, the installs) and the suite in .venv. CI, which
    installs into python3 first and gives no PYTHON: the suite runs in python3, no .venv, nothing installed."""
    fresh, project = make_test(tmp_path / "fresh", installed=False)
    assert "python3 -m venv .venv" in fresh and (project / ".venv").is_dir()
    assert any(".venv/bin/python -m pip install" in call for call in fresh)
    assert fresh[-1] == ".venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadgroup --durations=30"

    ci, project = make_test(tmp_path / "ci", installed=True)
    assert ci[-1] == "python3 -m pytest -n auto --maxprocesses 4 --dist loadgroup --durations=30" and not (project / ".venv").exists()
    assert not any("pip install" in call or "venv" in call or "apt-get" in call for call in ci)

    given, project = make_test(tmp_path / "given", False, f"PYTHON={tmp_path / 'given' / 'bin' / 'python3'}")
    assert given[-1] == "python3 -m pytest -n auto --maxprocesses 4 --dist loadgroup --durations=30" and any(call.startswith("python3 -m pip install") for call in given)
    assert not (project / ".venv").exists()
