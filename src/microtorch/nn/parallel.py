"""`nn.parallel`: `DataParallel` and `DistributedDataParallel` on a machine with no GPU.

Without GPUs PyTorch's `DataParallel` simply calls the wrapped module; so does this one
(its state_dict keys get the `module.` prefix, as in PyTorch). `DistributedDataParallel`
needs a process group, which microtorch cannot create, so it raises.
"""
from __future__ import annotations

from .modules.module import Module


class DataParallel(Module):
    """Wraps `module`; with no GPU to spread over, forward calls it directly."""

    def __init__(self, module: Module, device_ids=None, output_device=None,
                 dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class DistributedDataParallel(Module):
    """Raises: distributed training needs a process group (see `microtorch.distributed`)."""

    def __init__(self, module: Module, *args, **kwargs) -> None:
        raise RuntimeError("DistributedDataParallel needs torch.distributed, which microtorch "
                           "does not have (torch.distributed.is_available() is False); use the "
                           "module directly.")


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs=None):
    """Functional DataParallel: `module(*inputs)` (there is no GPU to spread over)."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
