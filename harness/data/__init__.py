"""Data sets shared by every framework as numpy arrays, batched by the harness.

Usage::

    from harness.data import load_data
    data = load_data(spec.dataset, spec.input, classes=spec.classes, seed=spec.train.seed,
                     data_dir=None, limit_train=512, name_override="fashion-mnist")
    for epoch in range(epochs):
        for images, labels in data.train.batches(64, seed=spec.train.seed, epoch=epoch):
            ...   # images: float32 (N, H, W, C); labels: int64 (N,)
    for images, labels in data.test.batches(256, seed=0, epoch=0, shuffle=False):
        ...
    result.data = data.info          # harness.results.DataInfo

``load_data(dataset, input_shape, *, classes, data_dir, seed, limit_train, limit_test,
name_override, splits, search_path, mirrors, download, timeout, max_eager_bytes)``:

* ``dataset`` is the spec's :class:`harness.spec.schema.Dataset`; ``input_shape`` the network's
  (H, W, C), H and W None for a size-agnostic network; ``classes`` the spec's class count (labels
  must be below it; synthetic data has that many classes, 10 by default).
* ``name`` ``mnist`` / ``fashion-mnist``: the official IDX files, looked for in ``data_dir``
  (``--data-dir``; else ``HARNESS_DATA_DIR``; else the spec's ``path``), the harness cache,
  ``search_path`` (default: Keras' and Debian's folders; see :mod:`harness.data.locate`), then
  downloaded into the cache from ``mirrors`` (see :mod:`harness.data.download`; ``download=False``
  or ``HARNESS_OFFLINE=1`` forbids it). Every file is checked against the official checksums
  (:mod:`harness.data.official`); one that fails is rejected with :class:`CorruptDataError` and
  never used. A split found nowhere raises :class:`DataNotFoundError`, listing every place looked
  in and how to get the data; ``splits=("test",)`` loads only the test split.
* ``idx``: a directory of IDX files in MNIST's naming (``.gz`` or not); ``npz``: a file with
  ``x_train``, ``y_train``, ``x_test``, ``y_test`` (images (N, H, W) or (N, H, W, C)). The path is
  ``data_dir`` or the spec's ``path``.
* ``synthetic``: seeded learnable images (:mod:`harness.data.synthetic`) of the input's size (a
  size-agnostic input: the largest of ``dataset.sizes``, else 28x28), ``train_size`` and
  ``test_size`` of them.
* ``name_override`` (``--dataset``) replaces the spec's data set; ``info.requested`` and a note say so.
* ``limit_train`` / ``limit_test`` (else the spec's) keep the *first* N images of a split, in the
  files' order (deterministic, no sampling).
* Fitting (:mod:`harness.data.fit`): resize (bilinear) or zero-pad to the input's H x W, grey to
  C channels by repetition, uint8 pixels scaled to [0, 1] float32 (``normalize``), each step
  stated in ``info.notes``. A split is fitted once when its fitted images take at most
  ``max_eager_bytes`` (256 MiB), else batch by batch as the batches are produced.
* Size-agnostic inputs: ``dataset.sizes`` gives the size buckets; images are assigned to buckets
  by ``seed`` and every batch, in training and evaluation, holds one bucket's size.
* ``Split.batches(batch_size, seed, epoch, shuffle=True)`` yields the same batches in the same
  order for every framework (:mod:`harness.data.batches`); the last batch of each bucket keeps
  the remainder. ``Split.num_batches(batch_size)`` counts them, ``len(split)`` the images.
* ``LoadedData.fixed_batch(n)``: the first n test images, fitted, for parity checks;
  ``parity_batch(network, size, n)`` loads just those for a network at a given input size.
* ``info.checksum``: sha256 over the sha256 of every file read (decompressed), in order.
"""

from harness.data.errors import CorruptDataError, DataError, DataNotFoundError
from harness.data.load import LoadedData, load_data, parity_batch
from harness.data.split import Split

__all__ = ["CorruptDataError", "DataError", "DataNotFoundError", "LoadedData", "Split", "load_data", "parity_batch"]
