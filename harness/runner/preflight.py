"""Checks made in the harness process before any job starts, so bad input fails once, clearly."""

from __future__ import annotations

from harness.data import load_data
from harness.data.errors import DataError
from harness.runner.jobs import RunOptions
from harness.spec import Network


class DataCheckError(Exception):
    """A network whose data cannot be used: the data package's explanation, and the spec."""


def check_data(networks: list[Network], options: RunOptions) -> list[str]:
    """Find and verify every network's data set (checksums included) without fitting any image.

    Returns one note per data set that stands in for a spec's own (``--dataset``), so the
    substitution is printed and recorded. Raises :class:`DataCheckError` for data that cannot
    be used (not found, wrong checksum, truncated, wrong labels).
    """
    notes: list[str] = []
    checked: set[tuple[str, ...]] = set()
    for network in networks:
        spec = network.spec
        key = (spec.name, spec.dataset.model_dump_json(), str(network.input_shape), str(spec.classes))
        if key in checked:
            continue
        checked.add(key)
        seed = options.seeds[0] if options.seeds else spec.train.seed
        try:
            info = load_data(
                spec.dataset, network.input_shape, classes=spec.classes, data_dir=options.data_dir, seed=seed,
                limit_train=options.limit_train, limit_test=options.limit_test, name_override=options.dataset,
                max_eager_bytes=0,
            ).info
        except DataError as exc:
            raise DataCheckError(f"error: the data of {network.key} ({network.path}) cannot be used: {exc.message}") from None
        if info.requested:
            notes.append(f"{network.spec.name}: {info.name} stands in for the spec's {info.requested} "
                         f"(--dataset {info.name}); checksum {info.checksum[:16]}.")
    return notes
