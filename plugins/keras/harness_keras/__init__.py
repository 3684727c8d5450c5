"""The Keras/TensorFlow framework plugin for harness.

Importing this package (or :mod:`harness_keras.plugin`, the entry point) does not import
TensorFlow: only :mod:`harness_keras.runtime` does, inside a worker subprocess.

Where the neutral spec meets Keras' conventions (:mod:`harness_keras.build`, :mod:`harness_keras.train`):

* Layout: channels-last is Keras' native layout, so feature maps, flatten order (H, W, C) and
  weights need no conversion: the neutral weight layout of :mod:`harness.neutral.weights` *is* Keras'.
* Padding: ``same`` is TensorFlow's own rule (odd pixel bottom/right) and is passed as is, for
  convolutions and pools alike; TensorFlow's ``same`` pools already ignore padded pixels (max) and
  leave them out of the count (average). Explicit pixel padding becomes a padding layer before a
  ``valid`` layer: zeros for convolutions, ``-inf`` for max pools, and a padding-excluding average
  for average pools (:mod:`harness_keras.layers`).
* Batch norm: Keras' momentum is the neutral one (weight of the old statistic); momentum and
  epsilon are still always passed explicitly.
* Optimizers: every hyperparameter the spec holds is passed explicitly, never left to Keras'
  defaults; the neutral momentum SGD is Keras' SGD with momentum.
* Loss: softmax cross-entropy from logits, averaged over the batch.
* Initialisers: with ``train.init: framework`` Keras' own (Glorot-uniform kernels, zero biases,
  BN scale one, shift zero, moving mean zero, moving variance one); not passed, reported as defaults.
"""
