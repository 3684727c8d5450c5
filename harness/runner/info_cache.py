"""A framework's devices and thread settings, remembered between runs of ``harness frameworks``.

Asking costs a worker that imports the framework (seconds each, half a minute for all six on a
busy machine); the answer only changes when what produced it changes. An entry is used only while
its fingerprint still matches and it is younger than :data:`MAX_AGE_S`. The fingerprint covers:
the framework and its plugin (names, distribution versions, the framework's version), the size and
modification time of every file of the plugin's package (of its module, for a lone module) and of
the harness's worker code (an edited plugin in an editable install counts), the Python interpreter, the thread count and the
worker's environment (the thread variables, what the plugins ask for, and the caller's variables
that can choose devices or threads: ``CUDA_*``, ``JAX_*``, ``XLA_*``, ``OMP_*``...; not the
unrelated rest, such as ``PWD``). ``harness frameworks
--refresh`` asks every framework again. The file is ``$HARNESS_FRAMEWORKS_CACHE`` when set, else
``$XDG_CACHE_HOME/harness/frameworks.json`` (``~/.cache/harness/frameworks.json``); an unreadable
one is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness.plugins import Registered
from harness.runner.child import LocalExecutor
from harness.runner.info import Answer, probe
from harness.runner.protocol import InfoRequest, InfoResult

MAX_AGE_S = 24 * 3600
CACHE_VARIABLE = "HARNESS_FRAMEWORKS_CACHE"
DEVICE_VARIABLES = ("CUDA_", "NVIDIA_", "HIP_", "ROCR_", "JAX_", "XLA_", "TF_", "KERAS_", "FLAGS_", "PADDLE_", "TORCH_",
                    "OMP_", "MKL_", "KMP_", "OPENBLAS_", "LD_LIBRARY_PATH", "PYTHONPATH")
"""The caller's variables a worker inherits that can change what a framework sees."""
HARNESS_WORKER = Path(__file__).resolve().parent
_WRITING = threading.Lock()
"""`harness frameworks` asks its frameworks in parallel threads; one writes the file at a time."""


def cache_path() -> Path:
    """``$HARNESS_FRAMEWORKS_CACHE``, else ``$XDG_CACHE_HOME/harness/frameworks.json`` (by default under ``~/.cache``)."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "harness", "frameworks.json")


def _files(folder: Path) -> list[tuple[str, int, int]]:
    """Every Python file under ``folder`` with its size and modification time."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        stat = path.stat()
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return found


def plugin_files(cls: type) -> list[tuple[str, int, int]]:
    """The files of the package that defines ``cls`` (only its module's file when that is a lone
    module, e.g. one in ``site-packages``, whose folder is not the plugin's)."""
    top = sys.modules[cls.__module__.split(".")[0]]
    if hasattr(top, "__path__"):
        return [entry for folder in top.__path__ for entry in _files(Path(folder))]
    stat = Path(inspect.getfile(cls)).stat()
    return [(inspect.getfile(cls), stat.st_size, stat.st_mtime_ns)]


def fingerprint(executor: LocalExecutor, name: str, threads: int) -> str:
    """What the framework's answer depends on, hashed (see the module's docstring)."""
    registered: Registered = executor.discovery.frameworks[name]
    cls = registered.framework
    worker = executor.environment(InfoRequest(framework=name, threads=threads))  # the caller's, and what is set for it
    environment = {key: value for key, value in worker.items()
                   if key.startswith(DEVICE_VARIABLES) or os.environ.get(key) != value}
    facts = {
        "framework": name, "plugin": registered.origin, "version": cls.version(), "python": sys.executable,
        "python_version": sys.version, "threads": threads, "plugin_files": plugin_files(cls),
        "harness_files": _files(HARNESS_WORKER), "environment": environment,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def _read(path: Path) -> dict[str, dict]:
    try:
        entries = json.loads(path.read_text())
        return entries if isinstance(entries, dict) else {}
    except (OSError, ValueError):
        return {}


def cached(executor: LocalExecutor, name: str, threads: int, path: Path | None = None) -> InfoResult | None:
    """The remembered answer of ``name`` at ``threads``, or None when there is none still valid."""
    entry = _read(path or cache_path()).get(f"{name}@{threads}")
    if not isinstance(entry, dict) or time.time() - float(entry.get("at", 0)) > MAX_AGE_S:
        return None
    if entry.get("fingerprint") != fingerprint(executor, name, threads):
        return None
    try:
        return InfoResult.model_validate(entry["answer"])
    except (KeyError, ValueError):
        return None


def cached_probe(executor: LocalExecutor, names: list[str], threads: int, timeout: float | None = None,
                 on_answer: Callable[[str, Answer], None] | None = None, path: Path | None = None) -> dict[str, Answer]:
    """Each framework's answer: remembered when still valid, else asked from the workers (side by
    side) and remembered (a worker that fails is not remembered); ``on_answer`` is called with each
    one as it comes."""
    path = path or cache_path()
    answers: dict[str, Answer] = {}
    for name in names:
        remembered = cached(executor, name, threads, path)
        if remembered is not None:
            answers[name] = remembered
            if on_answer is not None:
                on_answer(name, remembered)

    def keep(name: str, answer: Answer) -> None:
        if isinstance(answer, InfoResult):
            remember(executor, name, threads, answer, path)
        if on_answer is not None:
            on_answer(name, answer)

    missing = [name for name in names if name not in answers]
    if missing:
        answers |= probe(executor, missing, threads, timeout, keep)
    return {name: answers[name] for name in names}


def remember(executor: LocalExecutor, name: str, threads: int, answer: InfoResult, path: Path) -> None:
    """Store ``answer``; a cache that cannot be written is only a slower next run."""
    entry = {"at": time.time(), "fingerprint": fingerprint(executor, name, threads), "answer": answer.model_dump(mode="json")}
    with _WRITING:
        entries = _read(path) | {f"{name}@{threads}": entry}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entries, indent=1))
            temporary.replace(path)
        except OSError:
            pass


def forget(path: Path | None = None) -> None:
    """Drop every remembered answer (``harness frameworks --refresh``)."""
    (path or cache_path()).unlink(missing_ok=True)
