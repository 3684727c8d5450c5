"""The PaddlePaddle framework plugin for harness.

Importing this package (or :mod:`harness_paddle.plugin`, the entry point) does not import Paddle:
only :mod:`harness_paddle.runtime` does, inside a worker subprocess.
"""
