"""The Keras/TensorFlow framework plugin for harness.

Importing this package (or :mod:`harness_keras.plugin`, the entry point) does not import
TensorFlow: only :mod:`harness_keras.runtime` does, inside a worker subprocess.
"""
