"""Hostile results files for `harness report` and `harness compare`: malformed, impostor, unrelated,
and data whose names try to escape the report folder.

Each bad file must end in exit 2 with a message that names the file and what is wrong, never a
traceback, and never be taken as an (empty) run: `compare` saying "no regression" about a file
that is not a run would pass a CI gate.
"""

from __future__ import annotations

import copy
import errno
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_support import assert_clean_failure, invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from report_support import sample_run

from harness import outdir
from harness.outdir import MAX_FILE_NAME, OutputError, confined, safe_file_name
from harness.report.compare import smallest_p_value


@pytest.fixture(scope="module")
def valid() -> dict[str, Any]:
    return sample_run(epochs=2, samples=20).model_dump(mode="json")


def setting(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(run: dict[str, Any]) -> dict[str, Any]:
        node = run
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return run
    return change


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


TEXT_CASES = {
    "a list": ("[]", "holds a JSON list"),
    "a number": ("5", "holds the single value 5"),
    "null": ("null", "holds the single value null"),
    "an empty object": ("{}", "has no 'schema_version' and no 'jobs'"),
    "any other object": ('{"name": "x", "version": 3}', "not a results file"),
    "a string schema_version": ('{"schema_version": "1", "jobs": []}', 'schema_version is "1"'),
    "a boolean schema_version": ('{"schema_version": true, "jobs": []}', "schema_version is true"),
    "schema_version 0": ('{"schema_version": 0, "jobs": []}', "not a schema number"),
    "100000 nested brackets": ("[" * 100_000 + "]" * 100_000, "HARNESS_MAX_RESULTS_DEPTH"),
    "not JSON": ("{'jobs': []}", "not valid JSON"),
    "not UTF-8": (b"\xff\xfe\x00{".decode("latin-1"), "results.json"),
}

MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "one job's file": (lambda run: run["jobs"][0], "the result of one job"),
    "jobs not a list": (setting(("jobs",), {"a": 1}), "jobs: Input should be a valid list"),
    "a malformed network entry": (setting(("networks", "lenet"), [1, 2]), "networks.lenet"),
    "a network layer without a name": (lambda run: run["networks"]["lenet"]["layers"][0].pop("name") and run,
                                       "networks.lenet.layers.0.name"),
    "a string parameter count": (setting(("networks", "lenet", "params", "total"), "many"), "networks.lenet.params.total"),
    "a malformed framework count": (setting(("framework_params", "lenet", "torch"),
                                            {"params": {"trainable": 1, "non_trainable": 0, "total": -1}}),
                                    "framework_params.lenet.torch.params.total"),
    "a negative median step time": (setting(("jobs", 0, "step_time", "median_ms"), -5.0), "cannot be negative"),
    "p10 above p90": (setting(("jobs", 0, "step_time", "p10_ms"), 1e9), "p10 <= median <= p90"),
    "a negative epoch time": (setting(("jobs", 0, "history", 0, "seconds"), -1.0), "jobs.0.history.0.seconds"),
    "a negative seed": (setting(("jobs", 0, "seed"), -1), "jobs.0.seed"),
    "an unknown status": (setting(("jobs", 0, "status"), "great"), "jobs.0.status"),
    "settings that are not groups": (setting(("jobs", 0, "effective_settings"), {"optimizer": 3}),
                                     "jobs.0.effective_settings.optimizer"),
    "a parity shape that is text": (setting(("parity",), [{"input_shape": "28x28"}]), "parity.0.input_shape"),
    "nesting past the bound": (setting(("jobs", 0, "config"), nested(60)), "HARNESS_MAX_RESULTS_DEPTH"),
    "a newer schema": (setting(("schema_version",), 99), "newer harness"),
}


def bad_files(tmp_path: Path, valid: dict[str, Any]) -> list[tuple[str, Path, str]]:
    files = []
    for name, (text, says) in TEXT_CASES.items():
        path = tmp_path / f"{len(files)}" / "results.json"
        path.parent.mkdir()
        path.write_text(text, encoding="latin-1" if name == "not UTF-8" else "utf-8")
        files.append((name, path, says))
    for name, (change, says) in MUTATIONS.items():
        path = tmp_path / f"{len(files)}" / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(change(copy.deepcopy(valid))), encoding="utf-8")
        files.append((name, path, says))
    return files


def test_every_bad_results_file_is_refused_by_report_and_compare(tmp_path: Path, valid: dict[str, Any]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(valid))
    for name, path, says in bad_files(tmp_path, valid):
        assert_clean_failure(invoke("report", str(path)), 2, str(path), says)
        assert not (path.parent / "report.md").exists(), name
        assert_clean_failure(invoke("compare", str(good), str(path)), 2, str(path), says)
        assert_clean_failure(invoke("compare", str(path), str(good)), 2, str(path), says)


def test_an_oversized_results_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     valid: dict[str, Any]) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(valid))
    monkeypatch.setenv("HARNESS_MAX_RESULTS_BYTES", "1000")
    assert_clean_failure(invoke("report", str(path)), 2, "the limit is 1,000 bytes", "HARNESS_MAX_RESULTS_BYTES")


def write(run: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run))
    return path


def test_comparing_unrelated_runs_is_refused(tmp_path: Path, valid: dict[str, Any]) -> None:
    other = copy.deepcopy(valid)
    for job in other["jobs"]:
        job["network"] = "resnet_" + job["network"]
    old, new = write(valid, tmp_path / "old.json"), write(other, tmp_path / "new.json")
    output = assert_clean_failure(invoke("compare", str(old), str(new)), 2, "no (network, framework) in common")
    assert "no regression" not in output


def test_comparing_with_a_run_without_jobs_is_refused(tmp_path: Path, valid: dict[str, Any]) -> None:
    empty = {**copy.deepcopy(valid), "jobs": []}
    old, new = write(valid, tmp_path / "old.json"), write(empty, tmp_path / "new.json")
    assert_clean_failure(invoke("compare", str(old), str(new)), 2, "the NEW run has no jobs")


def test_a_changed_spec_is_flagged_in_a_comparison(tmp_path: Path, valid: dict[str, Any]) -> None:
    old_run, new_run = copy.deepcopy(valid), copy.deepcopy(valid)
    for run, digest in ((old_run, "a" * 64), (new_run, "b" * 64)):
        for job in run["jobs"]:
            job["config"]["spec_digest"] = digest
    result = invoke("compare", str(write(old_run, tmp_path / "o.json")), str(write(new_run, tmp_path / "n.json")))
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    assert "the spec of lenet differs between the runs" in result.output


ESCAPING_KEYS = ["/../../escaped", "..", "../../../../tmp/escaped", "a/b/c", "/etc/passwd", "nul\x00byte",
                 "x" * 300, ".hidden", "con:sole", "spaces and ünïcödé"]


def test_data_names_never_escape_the_report_folder(tmp_path: Path, valid: dict[str, Any]) -> None:
    run = copy.deepcopy(valid)
    keys = {job["network"] for job in run["jobs"]}
    renamed = dict(zip(sorted(keys), ESCAPING_KEYS))
    for job in run["jobs"]:
        job["network"] = renamed[job["network"]]
    run["networks"] = {renamed[k]: v for k, v in run["networks"].items() if k in renamed}
    run["framework_params"] = {renamed[k]: v for k, v in run["framework_params"].items() if k in renamed}
    folder = tmp_path / "deep" / "report"
    results = write(run, folder / "results.json")
    before = {p for p in tmp_path.rglob("*")}
    result = invoke("report", str(results))
    assert result.exit_code == 0, result.output
    created = {p for p in tmp_path.rglob("*")} - before
    assert created and all(p.parent == folder for p in created), sorted(map(str, created))
    svgs = [p.name for p in created if p.suffix == ".svg"]
    assert len(svgs) == len(renamed) + 1
    assert all(len(name) <= MAX_FILE_NAME and not name.startswith(".") for name in svgs)
    assert not (Path("/tmp") / "escaped").exists()


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_a_safe_file_name_is_one_plain_name_inside_its_folder(stem: str) -> None:
    name = safe_file_name(stem, ".svg")
    assert "/" not in name and "\x00" not in name and not name.startswith(".")
    assert name.endswith(".svg") and 4 < len(name) <= MAX_FILE_NAME
    assert confined(Path("/tmp/report"), name).parent == Path("/tmp/report")
    if stem != stem.strip("x"):
        assert safe_file_name(stem.strip("x"), ".svg") != name


@pytest.mark.parametrize("name", ["..", "../x", "/abs", "a/b", ""])
def test_confined_refuses_names_that_leave_the_folder(name: str) -> None:
    with pytest.raises(OutputError):
        confined(Path("/tmp/report"), name)


def test_report_out_under_a_file_is_a_clear_error(tmp_path: Path, valid: dict[str, Any]) -> None:
    results = write(valid, tmp_path / "run" / "results.json")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert_clean_failure(invoke("report", str(results), "--out", str(blocker / "report")), 2,
                         str(blocker / "report"), "a file (not a folder) is in the way", "--out")
    assert_clean_failure(invoke("report", str(results), "--out", str(blocker)), 2, "is a")


def test_report_out_on_a_read_only_file_system_is_a_clear_error(tmp_path: Path, valid: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, whom permission bits do not stop; so the file system's answer to a write
    in the folder is simulated: the same OSError (EROFS) the kernel gives on a read-only mount."""
    results = write(valid, tmp_path / "run" / "results.json")
    target = tmp_path / "read-only"
    target.mkdir()
    real_open = open

    def read_only_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(os.fspath(file)).parent == target:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(outdir, "open", read_only_open, raising=False)
    assert_clean_failure(invoke("report", str(results), "--out", str(target)), 2,
                         f"the output folder {target} is not writable: it is on a read-only file system")
    assert list(target.iterdir()) == []


def test_the_smallest_p_value_costs_nothing_for_huge_samples() -> None:
    start = time.perf_counter()
    assert smallest_p_value(10**7, 10**7) == 0.0
    assert time.perf_counter() - start < 0.1
    for n, m in ((1, 1), (3, 3), (5, 5), (10, 7), (40, 60)):
        assert smallest_p_value(n, m) == pytest.approx(2 / math.comb(n + m, n), rel=1e-9)
