"""The PaddlePaddle framework plugin for harness.

Importing this package (or :mod:`harness_paddle.plugin`, the entry point) does not import Paddle:
only :mod:`harness_paddle.runtime` does, inside a worker subprocess.

Where the neutral spec meets PaddlePaddle's conventions:

* Layout: the spec is channels-last; the network runs channels-first (NCHW), as Paddle usually
  does. Kernel layouts, the flatten order and run-time ``same`` padding come from
  :mod:`harness.neutral.channels_first`; batches are transposed NHWC -> NCHW on the way in, feature maps
  back on the way out (:mod:`.runtime`).
* Padding: TensorFlow's ``same`` is done explicitly and asymmetrically, for every stride. When the
  input size is known the pixels are computed once and passed to Paddle as
  ``[top, bottom, left, right]``; on a size-agnostic input they are computed from each batch's
  size at run time (:class:`~harness_paddle.layers.SamePadding2D`). Padded pixels never count in
  a pool: Paddle's max pool ignores them and the average pool runs with ``exclusive=True``.
* Batch norm: Paddle's momentum is the neutral one (weight of the old statistic); momentum and
  epsilon are still always passed explicitly. Paddle holds the moving mean and variance as
  parameters with ``trainable=False``: they are counted as non-trainable.
* Dropout: ``mode='upscale_in_train'`` (inverted dropout, as Keras and PyTorch do).
* Optimizers and the loss: every hyperparameter the spec holds is passed explicitly (:mod:`.train`).
* Initialisers: with ``train.init: framework`` Paddle's own, never passed, reported as defaults.

Modules, the same in every plugin: ``plugin`` (entry point), ``framework`` (the Framework
subclass, delegating), ``runtime`` (device, threads, seeds; tensors onto the device), ``build``
(spec -> model), ``layers`` (the custom layers), ``weights`` (neutral weights in and out, counts),
``train`` (optimizer, loss, step, inference), ``settings`` (effective settings).
"""
