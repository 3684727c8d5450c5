"""harness: one framework-neutral CNN spec, built, checked and benchmarked in every framework."""

__version__ = "0.1.0"
