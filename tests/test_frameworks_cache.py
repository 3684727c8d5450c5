"""`harness frameworks` remembers each framework's devices and thread settings, and asks again
whenever what produced them changed (harness/runner/info_cache.py)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.plugins import discover
from harness.runner import info_cache
from harness.runner.child import LocalExecutor
from harness.runner.info import Answer
from harness.runner.protocol import InfoResult

ANSWER = InfoResult(devices=["cpu"], thread_settings={"intra_op": 1}, threads={"openmp": 1})


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_plugin: None) -> list[str]:
    """The frameworks a worker was asked about (no worker runs: the answer is :data:`ANSWER`), with
    the harness's worker code stood in for by a folder of the test's own."""
    calls: list[str] = []

    def probe(executor: LocalExecutor, names: list[str], threads: int, timeout: float | None = None,
              on_answer: Callable[[str, Answer], None] | None = None) -> dict[str, Answer]:
        calls.extend(names)
        answers: dict[str, Answer] = {name: ANSWER if name != "fake_crash" else "its worker failed (failed): boom"
                                      for name in names}
        for name, answer in answers.items():
            if on_answer is not None:
                on_answer(name, answer)
        return answers

    monkeypatch.setattr(info_cache, "probe", probe)
    worker = tmp_path / "worker"
    worker.mkdir()
    (worker / "tasks.py").write_text("# v1\n")
    monkeypatch.setattr(info_cache, "HARNESS_WORKER", worker)
    return calls


def test_an_answer_is_remembered_until_what_produced_it_changes(asked: list[str], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    executor = LocalExecutor(discover())
    assert info_cache.cached_probe(executor, ["fake"], 1)["fake"] == ANSWER
    assert info_cache.cached_probe(executor, ["fake"], 1)["fake"] == ANSWER
    assert asked == ["fake"], "the second time, no worker"
    info_cache.cached_probe(executor, ["fake"], 2)["fake"]
    assert asked == ["fake", "fake"], "another thread count is another question"

    worker_file = tmp_path / "worker" / "tasks.py"
    worker_file.write_text("# v2, edited\n")
    info_cache.cached_probe(executor, ["fake"], 1)["fake"]
    assert len(asked) == 3, "changed code is asked again"

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    info_cache.cached_probe(executor, ["fake"], 1)["fake"]
    assert len(asked) == 4, "a variable that chooses devices is asked again"
    info_cache.cached_probe(executor, ["fake"], 1)["fake"]
    assert len(asked) == 4

    path = info_cache.cache_path()
    entries = json.loads(path.read_text())
    for entry in entries.values():
        entry["at"] = time.time() - info_cache.MAX_AGE_S - 1
    path.write_text(json.dumps(entries))
    info_cache.cached_probe(executor, ["fake"], 1)["fake"]
    assert len(asked) == 5, "an answer older than a day is asked again"


def test_a_failed_worker_is_not_remembered_and_a_broken_file_is_ignored(asked: list[str]) -> None:
    executor = LocalExecutor(discover())
    assert isinstance(info_cache.cached_probe(executor, ["fake_crash"], 1)["fake_crash"], str)
    assert isinstance(info_cache.cached_probe(executor, ["fake_crash"], 1)["fake_crash"], str)
    assert asked == ["fake_crash", "fake_crash"]
    info_cache.cache_path().write_text("{not json")
    assert info_cache.cached_probe(executor, ["fake"], 1)["fake"] == ANSWER
    assert info_cache.cached(executor, "fake", 1) == ANSWER, "the broken file was rewritten"


def test_the_cache_lives_where_the_variables_say() -> None:
    assert info_cache.cache_path() == Path(os.environ["HARNESS_FRAMEWORKS_CACHE"])  # tests/conftest.py


def test_frameworks_answers_from_the_cache_and_refresh_asks_again(asked: list[str]) -> None:
    first = CliRunner().invoke(main, ["frameworks", "--threads", "1", "--json"])
    assert first.exit_code == 0, first.output
    count = len(asked)
    assert count >= 2
    second = CliRunner().invoke(main, ["frameworks", "--threads", "1", "--json"])
    assert second.exit_code == 0 and len(asked) == count + 1, "only the failing framework is asked again"
    assert json.loads(second.stdout) == json.loads(first.stdout)
    refreshed = CliRunner().invoke(main, ["frameworks", "--threads", "1", "--json", "--refresh"])
    assert refreshed.exit_code == 0 and len(asked) == 2 * count + 1


def test_a_lone_module_plugin_is_fingerprinted_by_its_own_file(fake_plugin: None) -> None:
    """The fake plugin is one module (tests/fixtures/run_fake_plugin.py): not its whole folder."""
    cls = discover().frameworks["fake"].framework
    assert [Path(name).name for name, _, _ in info_cache.plugin_files(cls)] == ["run_fake_plugin.py"]
    package_files = info_cache.plugin_files(info_cache.LocalExecutor)  # a class of a package: the package's files
    assert any(name.endswith("harness/runner/child.py") for name, _, _ in package_files)
