"""Published findings judged on a run's results.

* :mod:`~harness.findings.claims`: the spec side: which networks a finding names, and the errors
  ``harness check`` gives for a finding that names a missing variant.
* :mod:`~harness.findings.adapter`: the one place that reads a run's results.
* :mod:`~harness.findings.outcomes`: every job learned, did not learn, or diverged.
* :mod:`~harness.findings.power`: confidence intervals and how many seeds would decide a claim.
* :mod:`~harness.findings.verdicts`: holds / contradicted / undecided, per framework and pooled.
* :mod:`~harness.findings.sequential`: adding seeds until a claim is decided, honest under repeated looks.
"""
