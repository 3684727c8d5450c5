"""``harness run``: train every network of the specs in every framework, measure, keep everything."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

import rich_click as click

from harness import limits
from harness.commands.common import (
    EXIT_BAD_INPUT, choose_frameworks, compiled_jobs_left_out, console, err_console, fail, load_all, mode_option, print_errors,
)
from harness.commands.execution import choose_executor, executor_options, started
from harness.commands.options import Duration, FiniteFloat, bounded_int
from harness.findings.auto import AUTO, first_seeds, seeds_until_decided
from harness.framework import Framework
from harness.outdir import OutputError, lock_output, prepare_output, remove_stale_temporaries
from harness.neutral.pretrained import pin_init, unavailable_notes
from harness.results import RunResults, write_run
from harness.runner.executor import Executor
from harness.runner.fairness import fairness_notes
from harness.runner.jobs import (
    JOBS_FOLDER, RESULTS_FILE, WEIGHTS_FOLDER, RunOptions, plan_jobs, saving_weights,
)
from harness.runner.noise import busy_now
from harness.runner.orchestrator import Orchestrator, network_objects, stored_result
from harness.runner.preflight import DataCheckError, check_data
from harness.runner.progress import LiveView, LogView, QuietView, print_table, summary_table
from harness.runner.threads import RUN_THREADS
from harness.spec import Network
from harness.spec.loader import duplicate_networks
from harness.neutral.weight_file import WeightFileError

EXIT_FAILED_JOBS, EXIT_NO_DATA, EXIT_INTERRUPTED = 1, 3, 130


def parse_seeds(seed: int | None, seeds: str | None) -> list[int] | None:
    """``--seed N`` or ``--seeds 0,1,2`` as a list; None keeps each spec's own seed."""
    if seed is not None and seeds is not None:
        raise click.BadParameter("give --seed or --seeds, not both.", param_hint="--seeds")
    if seeds is None:
        return None if seed is None else [seed]
    try:
        values = [int(part) for part in seeds.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"'{seeds}' is not a comma-separated list of integers, e.g. 0,1,2.", param_hint="--seeds") from None
    if not values or min(values) < 0 or max(values) > limits.MAX_SEED:
        raise click.BadParameter(f"give one or more integers from 0 to {limits.MAX_SEED}, e.g. 0,1,2.", param_hint="--seeds")
    return list(dict.fromkeys(values))


def parse_threads(threads: str | None) -> list[int]:
    """``--threads 2`` or ``--threads 1,2`` as a list (default: :data:`RUN_THREADS`)."""
    if threads is None:
        return [RUN_THREADS]
    try:
        values = [int(part) for part in threads.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"'{threads}' is not a comma-separated list of integers, e.g. 1,2.", param_hint="--threads") from None
    if not values or min(values) < 1 or max(values) > limits.MAX_THREADS:
        raise click.BadParameter(f"give one or more thread counts from 1 to {limits.MAX_THREADS}, e.g. 1,2.",
                                 param_hint="--threads")
    return list(dict.fromkeys(values))


def default_out(networks: list[Network]) -> Path:
    """``reports/<spec name>``, or ``reports/<name1>+<name2>`` for several specs."""
    names = list(dict.fromkeys(network.spec.name for network in networks))
    return Path("reports", "+".join(names))


def only_variants(networks: list[Network], variants: tuple[str, ...]) -> list[Network]:
    """The networks whose variant is one of ``variants`` (all networks when none is given)."""
    if not variants:
        return networks
    chosen = [network for network in networks if network.variant in variants]
    known = sorted({str(network.variant) for network in networks})
    unknown = [name for name in variants if name not in known]
    if unknown:
        raise click.BadParameter(f"no spec has the variant(s) {', '.join(unknown)}; the specs have: {', '.join(known)}.",
                                 param_hint="--variant")
    return chosen


def write_report(results_path: Path) -> str:
    """Write the run's report next to its results; returns a line naming the pages written.

    This is the one call site between ``harness run`` and :mod:`harness.report` (imported here,
    when needed, so a run starts without loading matplotlib).
    """
    from harness.report import ResultsError
    from harness.report import write_report as write

    try:
        pages = [str(path) for path in write(results_path) if path.suffix in (".md", ".html")]
    except (OSError, OutputError, ResultsError) as exc:
        return (f"The report could not be written ({exc}); the results are kept in {results_path}: write the report "
                f"later with `harness report {results_path}`.")
    return f"Report: {', '.join(pages)} (results: {results_path})"


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--framework", "framework_names", default="all", show_default=True,
              help="`all` (every installed framework) or names separated by commas, e.g. `keras,torch`.")
@mode_option
@click.option("--variant", "variants", multiple=True, help="Run only this variant of the specs (repeatable).")
@click.option("--epochs", type=bounded_int(1, limits.MAX_EPOCHS), help="Epochs per job (default: the spec's train.epochs).")
@click.option("--seed", type=bounded_int(0, limits.MAX_SEED), help="Seed of every job (default: the spec's train.seed).")
@click.option("--seeds", help="Several seeds, e.g. `0,1,2`: one job per seed; `auto`: add seeds until every accuracy "
                              "finding is decided or --budget is spent (a sequential rule, honest under repeated looks).")
@click.option("--budget", type=Duration(), default="2h", show_default=True,
              help="With --seeds auto: the time the run may take, e.g. 90m.")
@click.option("--batch-size", type=bounded_int(1, limits.MAX_BATCH), help="Training batch size (default: the spec's).")
@click.option("--dataset", help="A data set standing in for the spec's (e.g. `fashion-mnist`); recorded in the results and the report.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where to look for the data set first (also HARNESS_DATA_DIR).")
@click.option("--limit-train", type=bounded_int(1, limits.MAX_IMAGES), help="Train on the first N training images only.")
@click.option("--limit-test", type=bounded_int(1, limits.MAX_IMAGES), help="Score on the first N test images only.")
@click.option("--init", type=click.Choice(["framework", "shared"]),
              help="`shared`: every framework starts from the same neutral weights (default: the spec's train.init).")
@click.option("--init-weights", type=click.Path(dir_okay=False, path_type=Path),
              help="A neutral weight file (`harness weights import`/`export`) to start from, in place of the spec's "
                   "train.init file (or every layer it holds, when the spec names none).")
@click.option("--save-weights", is_flag=True, help="Write each job's trained weights to `<out>/weights/` as a neutral "
                                                   "weight file (for `harness weights export`, or to seed another run).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", help=f"Threads per job, the same for every framework (default: {RUN_THREADS}, chosen from "
                                "measurements on a shared 2-core machine, see docs/timing.md); several counts, e.g. `1,2`, "
                                "run every job at each count and the report shows each framework's thread scaling.")
@click.option("--timeout", type=FiniteFloat(min=0, min_open=True, max=limits.MAX_TIMEOUT_S), help="Seconds one job may run before it is killed.")
@executor_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: `reports/<spec name>`, or `reports/<name1>+<name2>` for several specs).")
@click.option("--resume", is_flag=True, help="Keep the jobs already finished in --out with the same settings.")
@click.option("--quiet", is_flag=True,
              help="One line per finished job and no summary table (for CI); without a terminal there is no live view either.")
@click.option("--warmup-steps", type=bounded_int(0, limits.MAX_REPEATS), default=RunOptions.model_fields["warmup_steps"].default,
              show_default=True, help="First training steps left out of the step-time statistics.")
@click.option("--latency-repeats", type=bounded_int(1, limits.MAX_REPEATS),
              default=RunOptions.model_fields["latency_repeats"].default, show_default=True,
              help="Most timed inference calls per batch size.")
@click.option("--parity/--no-parity", "check_parity", default=True, show_default=True,
              help="After training, check that the same weights give the same outputs in every framework "
                   "(`harness parity`); the result goes into the report.")
@click.option("--report/--no-report", "make_report", default=True, show_default=True, help="Write the report at the end.")
@click.option("--dry-run", is_flag=True, help="Check the specs, frameworks and data, list the jobs, and train nothing.")
def run(
    specs: tuple[str, ...], framework_names: str, modes: list[str], variants: tuple[str, ...], epochs: int | None, seed: int | None,
    seeds: str | None, budget: float, batch_size: int | None, dataset: str | None, data_dir: str | None, limit_train: int | None,
    limit_test: int | None, init: str | None, init_weights: Path | None, save_weights: bool, device: str,
    threads: str | None, timeout: float | None,
    executor_name: str, ray_address: str | None, concurrency: int, out: Path | None, resume: bool, quiet: bool,
    warmup_steps: int, latency_repeats: int, check_parity: bool, make_report: bool,
    dry_run: bool,
) -> None:
    """Train every network of SPECS in every framework, and measure each.

    One job per (spec, variant, seed, framework, mode), each in its own subprocess with the same
    thread count and device, one at a time on this machine (or as Ray tasks: `--executor ray`).
    Every job's result is written to `<out>/jobs/` as soon as it ends, and `<out>/results.json`
    after every job. Exits 1 when a job failed, timed out or ran out of
    memory (a diverged run is a result, not a failure), 2 on bad input, 3 when a data set cannot
    be found or fails its checksum (before any job starts), 130 on Ctrl-C.
    """
    networks, errors = load_all(specs)
    networks, duplicates = duplicate_networks(networks)
    if errors or duplicates:
        print_errors(errors + duplicates)
        raise SystemExit(EXIT_BAD_INPUT)
    networks = only_variants(networks, variants)
    try:
        networks = [pin_init(network, init_weights) for network in networks]
    except WeightFileError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    discovery, selection = choose_frameworks(framework_names, EXIT_BAD_INPUT)
    executor_context = choose_executor(executor_name, ray_address, concurrency, discovery)
    auto = seeds == AUTO
    left_out = compiled_jobs_left_out(discovery, selection, modes, framework_names)
    options = RunOptions(
        frameworks=selection.names, modes=modes, epochs=epochs, batch_size=batch_size,
        seeds=first_seeds(networks[0].spec.train.seed if seed is None else seed) if auto else parse_seeds(seed, seeds),
        dataset=dataset, data_dir=data_dir, limit_train=limit_train, limit_test=limit_test, init=init,  # type: ignore[arg-type]
        device=device, threads=parse_threads(threads), warmup_steps=warmup_steps, latency_repeats=latency_repeats,
        without_compiled=list(left_out),
    )
    try:
        data_notes = check_data(networks, options)
    except DataCheckError as exc:
        err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_NO_DATA) from None
    out = out or default_out(networks)
    jobs = plan_jobs(networks, options)
    if save_weights:
        jobs = [saving_weights(job, out) for job in jobs]
    notes = data_notes + unavailable_notes(networks) + [f"{name} skipped: {reason}" for name, reason in selection.skipped.items()]
    notes += left_out.values()
    busy = None if dry_run else busy_now()
    if busy:
        notes.append(f"at the start of the run {busy}")
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if dry_run:
        for job in jobs:
            kept = resume and stored_result(job, out) is not None
            console.print(f"job {job.key}" + (" (kept from an earlier run)" if kept else ""), highlight=False)
        console.print(f"{len(jobs)} job(s); results would go to {out}.", highlight=False)
        return
    try:
        prepare_output(out)
        prepare_output(out / JOBS_FOLDER)
        if save_weights:
            prepare_output(out / WEIGHTS_FOLDER)
        with lock_output(out):
            remove_stale_temporaries(out, out / JOBS_FOLDER)
            results = RunResults(
                command=shlex.join(["harness", *sys.argv[1:]]), specs=list(dict.fromkeys(n.path for n in networks)),
                networks=network_objects(networks), notes=notes,
                settings=options_record(options, timeout) | {"executor": executor_name, "ray_address": ray_address,
                                                             "concurrency": concurrency},
            )
            versions = {name: discovery.frameworks[name].framework.version() for name in selection.names}
            view = QuietView(console) if quiet else LiveView(console, jobs) if console.is_terminal and not auto else LogView(console)
            try:
                with started(executor_context) as executor:
                    with view:

                        def execute(seeds: list[int] | None, again: bool) -> RunResults:
                            planned = (jobs if seeds == options.seeds
                                       else plan_jobs(networks, options.model_copy(update={"seeds": seeds})))
                            return Orchestrator(planned, out, results, view, executor, versions=versions, timeout=timeout,
                                                resume=resume or again).execute()

                        results = (seeds_until_decided(execute, options.seeds[0], budget) if auto
                                   else execute(options.seeds, False))
                    if check_parity and len(selection.names) * len(options.modes) > 1:
                        add_parity(results, networks, options, executor)
                        classes = discovery.classes(selection.names)
                        add_train_parity(results, networks, options, classes, executor)
            except KeyboardInterrupt:
                err_console.print(f"Interrupted: finished jobs are kept in {out / RESULTS_FILE}.")
                raise SystemExit(EXIT_INTERRUPTED) from None
            finish(results, out, quiet, make_report)
    except OutputError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def add_parity(results: RunResults, networks: list[Network], options: RunOptions, executor: Executor) -> None:
    """Run the parity check of every network in the run's frameworks and record it (the networks
    with the same seed in one go, so that a local executor imports each framework once for them)."""
    from harness.runner.parity import check_networks, real_or_synthetic

    by_seed: dict[int, list[Network]] = {}
    for network in networks:
        by_seed.setdefault((options.seeds or [network.spec.train.seed])[0], []).append(network)
    checked = {}
    for seed, group in by_seed.items():
        with err_console.status(f"parity: {', '.join(network.key for network in group)}"):
            checked |= {network.key: parity for network, parity in zip(group, check_networks(
                group, options.frameworks, executor, modes=options.modes, without_compiled=options.without_compiled,
                threads=options.threads[0], device=options.device, seed=seed, images=real_or_synthetic(options.data_dir)),
                strict=True)}
    for network in networks:
        parity = checked[network.key]
        results.parity += [pair.entry() for pair in parity.pairs]
        results.notes += [f"parity: {network.key} could not run in {name}: {reason}" for name, reason in parity.failures.items()]
        if parity.checked_as:
            results.notes.append(f"parity: {network.key} has the same forward pass as {parity.checked_as} (they differ only "
                                 "in how they train): checked once, its pairs are that check's")


def add_train_parity(results: RunResults, networks: list[Network], options: RunOptions,
                     classes: Mapping[str, type[Framework]], executor: Executor) -> None:
    """Training parity of the first steps of every network trained from shared weights, recorded."""
    from harness.runner.train_parity import RUN_STEPS, check_training

    for network in networks:
        if (options.init or network.spec.train.init) != "shared":
            continue
        with err_console.status(f"training parity: {network.key}, {RUN_STEPS} steps"):
            training = check_training(network, classes, executor, steps=RUN_STEPS, threads=options.threads[0],
                                      device=options.device, seed=(options.seeds or [network.spec.train.seed])[0])
        results.train_parity += [pair.compact() for pair in training.pairs]
        results.notes += [f"training parity: {network.key}: {note}" for note in training.notes()]
        results.notes += [f"training parity: {network.key} could not run in {name}: {reason}"
                          for name, reason in training.failures.items()]


def options_record(options: RunOptions, timeout: float | None) -> dict[str, object]:
    """The run's resolved options, as stored in results.json."""
    record = options.model_dump(exclude_none=True)
    if not options.several_threads:
        record["threads"] = options.threads[0]  # one count: recorded as a number, as in earlier runs
    record["timeout_s"] = timeout
    return record


def finish(results: RunResults, out: Path, quiet: bool, make_report: bool) -> None:
    """Notes on failed and diverged jobs, the summary table, the report, and the exit code."""
    for job in results.jobs:
        if job.status != "ok":
            results.notes.append(f"{job.network} / {job.label} / seed {job.seed}: {job.status}: {job.reason}")
    results.notes += fairness_notes(results.jobs)
    write_run(out / RESULTS_FILE, results)
    if not quiet:
        print_table(console, summary_table(results.jobs))
    console.print(write_report(out / RESULTS_FILE) if make_report else f"Results: {out / RESULTS_FILE}", highlight=False,
                  soft_wrap=True)
    if any(job.status in ("failed", "timeout", "oom") for job in results.jobs):
        raise SystemExit(EXIT_FAILED_JOBS)
