"""Running framework work in isolated subprocesses: requests, the worker, the parent side."""
