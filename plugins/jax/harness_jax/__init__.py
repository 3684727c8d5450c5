"""The JAX framework plugin for harness: Flax NNX models, optax optimizers, XLA-compiled steps.

Importing this package (or :mod:`harness_jax.plugin`, the entry point) does not import JAX: the
worker's environment (threads, platform) must be set before JAX's first import, which happens in
:meth:`harness_jax.framework.JaxFramework.__init__` inside a worker subprocess.
"""
