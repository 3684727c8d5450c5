"""The PyTorch framework plugin for harness.

Importing this package (or :mod:`harness_torch.plugin`, the entry point) does not import
torch: :class:`~harness_torch.framework.TorchFramework` imports it inside its worker-side methods.
"""
