"""The typed boundary between the harness and its workers (harness.runner.protocol)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.plugins import discover
from harness.runner.child import LocalExecutor
from harness.runner.executor import run_all
from harness.runner.jobs import RunOptions, plan_jobs
from harness.runner.protocol import REQUEST, TrainConfig, TrainRequest, TrainResult, resolve_train
from harness.runner.worker import reply_to
from harness.spec import load_network
from run_support import write_spec

ROOT = Path(__file__).resolve().parent.parent
YAML_MODULES = ("harness.spec.loader", "harness.spec.source", "ruamel.yaml")


def test_a_request_with_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="threds"):
        REQUEST.validate_python({"task": "info", "framework": "torch", "threds": 2})
    reply = reply_to(json.dumps({"task": "info", "framework": "torch", "threds": 2}))
    assert reply.status == "failed" and "threds" in (reply.error or "") and "Extra inputs are not permitted" in reply.error


def test_a_result_with_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="step_tme"):
        TrainResult.model_validate({"step_tme": 1.0})


def test_a_job_request_carries_the_spec_resolved_once_with_the_overrides(tmp_path: Path) -> None:
    network = load_network(write_spec(tmp_path))
    [job] = plan_jobs([network], RunOptions(frameworks=["fake"], seeds=[7], epochs=1, batch_size=16, init="shared"))
    request = job.request()
    train = request.network.spec.train
    assert (train.batch_size, train.epochs, train.seed, train.init) == (16, 1, 7, "shared")
    assert request.network.network().nodes == network.nodes
    with pytest.raises(ValidationError, match="resolve them once"):
        TrainRequest(config=job.config, network=resolve_train(network, job.config.model_copy(update={"batch_size": 8})))


def test_measurement_defaults_are_declared_once() -> None:
    options = RunOptions(frameworks=["fake"])
    for name in ("device", "warmup_steps", "latency_repeats"):
        assert getattr(options, name) == TrainConfig.model_fields[name].default
    assert options.threads == [TrainConfig.model_fields["threads"].default]


def test_the_worker_trains_from_the_resolved_spec_and_never_reads_yaml(tmp_path: Path, fake_plugin: None) -> None:
    """The spec file is gone before the worker starts: it can only use the resolved spec, whose
    batch size (16, not the file's 32) decides the number of steps."""
    spec = write_spec(tmp_path)
    network = load_network(spec)
    spec.unlink()
    [job] = plan_jobs([network], RunOptions(frameworks=["fake"], epochs=1, batch_size=16, warmup_steps=0, latency_repeats=3))
    [outcome] = run_all(LocalExecutor(discover()), [job.request()], timeout=120)
    assert outcome.status == "ok", outcome.error or outcome.output_tail
    assert isinstance(outcome.result, TrainResult)
    assert outcome.result.history[0].steps == 64 // 16


def test_the_worker_side_imports_no_yaml_loader(fake_plugin: None) -> None:
    """Run a whole worker task in a fresh interpreter and list the YAML modules it loaded."""
    script = (
        "import sys\n"
        "from harness.runner.worker import reply_to\n"
        f"reply = reply_to({json.dumps(json.dumps({'task': 'info', 'framework': 'fake'}))})\n"
        "assert reply.status == 'ok', reply.error\n"
        f"print([name for name in {YAML_MODULES!r} if name in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _module_imports(path: Path, package_root: Path, everywhere: bool = False) -> set[str]:
    """The harness modules ``path`` imports at module level (``everywhere``: inside functions and
    ``if TYPE_CHECKING`` blocks too); ``from package import module`` counts as importing that
    module (as import-linter counts it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = ".".join(path.relative_to(package_root.parent).with_suffix("").parts).removesuffix(".__init__")
    imported: set[str] = set()
    for node in ast.walk(tree) if everywhere else tree.body:
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            known = {name for name in submodules if _is_module(package_root, name)}
            imported.update(known or {base})
            if len(known) < len(submodules):
                imported.add(base)
    return {name for name in imported if name.startswith("harness")}


def _is_module(package_root: Path, name: str) -> bool:
    path = package_root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_the_core_has_no_import_circles() -> None:
    package = ROOT / "harness"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in package.rglob("*.py")}
    graph = {name: {target for target in _module_imports(path, package) if target in modules and target != name}
             for name, path in modules.items()}
    # A package's __init__ importing its own submodules is how packages are built, not a circle.
    for name in graph:
        graph[name] = {target for target in graph[name] if not name.startswith(target + ".")}
    done: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if name in stack:
            raise AssertionError("import circle: " + " -> ".join(stack[stack.index(name):] + [name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, stack + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_worker_side_module_imports_the_parent_side() -> None:
    """Everything a worker may import, at any depth and inside functions, stays clear of the module
    that starts workers (:mod:`harness.runner.child`) and of the executors."""
    package = ROOT / "harness"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in package.rglob("*.py")}
    reached, pending = set(), ["harness.runner.worker"]
    while pending:
        name = pending.pop()
        if name in reached or name not in modules:
            continue
        reached.add(name)
        pending += _module_imports(modules[name], package, everywhere=True)
    assert "harness.runner.train_parity_task" in reached and "harness.runner.tasks" in reached
    parent_side = {"harness.runner.child", "harness.runner.ray_executor", "harness.runner.executor_kinds",
                   "harness.runner.train_parity", "harness.runner.parity"}
    assert not reached & parent_side, sorted(reached & parent_side)


def test_commands_are_imported_by_the_command_line_only() -> None:
    package = ROOT / "harness"
    for path in package.rglob("*.py"):
        if "commands" in path.parts or path.name == "cli.py":
            continue
        assert not any(name.startswith("harness.commands") for name in _module_imports(path, package)), path
