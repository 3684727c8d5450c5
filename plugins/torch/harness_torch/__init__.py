"""The PyTorch framework plugin for harness.

Importing this package (or :mod:`harness_torch.plugin`, the entry point) does not import
torch: :class:`~harness_torch.framework.TorchFramework` imports it inside its worker-side methods.

Where the neutral spec meets PyTorch's conventions:

* Layout: the spec is channels-last (NHWC); PyTorch runs channels-first (NCHW). Kernel layouts,
  the flatten order and run-time ``same`` padding come from :mod:`harness.neutral.channels_first`;
  images are permuted on the way in (:mod:`.runtime`), feature maps on the way out.
* ``same`` padding follows TensorFlow's rule for every stride (PyTorch's ``padding='same'``
  refuses stride 2): the pixels on each side are computed from the actual input size and padded
  explicitly, asymmetrically where needed (:mod:`.layers`). Padded pixels never count in
  pooling: max pooling pads with ``-inf``, average pooling divides by the number of real pixels.
* Batch norm: PyTorch's ``momentum`` is the weight of the *new* statistic, ``1 - neutral``.
* Optimizers and the loss get every hyperparameter passed explicitly, never PyTorch's defaults
  (:mod:`.train`).

Modules, the same in every plugin: ``plugin`` (entry point), ``framework`` (the Framework
subclass, delegating), ``runtime`` (device, threads, seeds; tensors onto the device), ``build``
(spec -> model), ``layers`` (the modules), ``weights`` (neutral weights in and out, counts),
``train`` (optimizer, loss, step, inference), ``settings`` (effective settings).
"""
