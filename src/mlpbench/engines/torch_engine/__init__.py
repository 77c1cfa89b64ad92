"""The PyTorch engine: an ``nn.Module`` trained with autograd and ``torch.optim.SGD``."""

from mlpbench.engines.torch_engine.model import TorchMLP
from mlpbench.engines.torch_engine.module import MLPModule

__all__ = ["MLPModule", "TorchMLP"]
