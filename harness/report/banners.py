"""What makes a run differ from its specs (shortened runs, substituted data sets), for the top of the report."""

from __future__ import annotations

import re

from harness.report.document import Banner
from harness.report.model import RunView, labels


IN_BANNERS = re.compile(r"\bstands? in for the spec's\b|^(train|test) limited to its first \d+ of \d+ images\.$")
"""The harness's own notes on a substituted data set or a slice, which the report's banners already state."""


def banners(view: RunView) -> list[Banner]:
    """What makes this run differ from its specs, for the top of the report: shortened runs, then
    substituted data sets."""
    return ([Banner("Shortened run", text) for text in shortened_warnings(view)]
            + [Banner("Data substituted", text) for text in substitution_warnings(view)])


def substitutions(view: RunView) -> dict[tuple[str, str], list[str]]:
    """(data set used, data set the spec names) -> the networks trained on the stand-in."""
    found: dict[tuple[str, str], list[str]] = {}
    for job in view.jobs:
        if job.data is not None and job.data.requested:
            networks = found.setdefault((job.data.name, job.data.requested), [])
            if job.network not in networks:
                networks.append(job.network)
    return found


def substitution_warnings(view: RunView) -> list[str]:
    """One line per data set that stood in for the one a spec names."""
    every, names = len(view.networks), labels(view)
    return [f"{name} stood in for {requested}, the data set the spec names"
            + ("" if len(networks) == every else f", in {', '.join(names[n] for n in networks)}")
            + f": accuracies are not comparable with figures published on {requested}."
            for (name, requested), networks in substitutions(view).items()]


def shortened(view: RunView) -> dict[str, str]:
    """Network -> how it ran short of its spec (fewer epochs or images), for the networks that did."""
    found = {}
    for network in view.networks:
        jobs = view.jobs_of(network)
        parts = []
        epochs = max((job.epochs_requested for job in jobs), default=None)
        spec_epochs = max((job.spec_epochs for job in jobs if job.spec_epochs), default=None)
        if epochs is not None and spec_epochs is not None and epochs < spec_epochs:
            parts.append(f"{epochs} of the spec's {spec_epochs} epochs")
        data = next((job.data for job in jobs if job.data is not None), None)
        if data is not None:
            for size, full, what in ((data.train_size, data.full_train_size, "training"),
                                     (data.test_size, data.full_test_size, "test")):
                if full is not None and size < full:
                    parts.append(f"{size:,} of {full:,} {what} images")
        if parts:
            found[network] = " and ".join(parts)
    return found


def shortened_warnings(view: RunView) -> list[str]:
    """One line per way the networks ran short of their specs, naming the networks (once each)."""
    by_text: dict[str, list[str]] = {}
    for network, text in shortened(view).items():
        by_text.setdefault(text, []).append(network)
    warnings = []
    for text, networks in by_text.items():
        names = labels(view)
        if len(networks) == 1:
            who, their = names[networks[0]], "its"
        else:
            who = "Every network" if len(networks) == len(view.networks) else ", ".join(names[n] for n in networks)
            their = "their"
        warnings.append(f"{who} ran on {text}: {their} figures are not comparable with a full run.")
    return warnings
