"""The network as an ``nn.Module``: linear layers with ReLU between them, logits out."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLPModule(nn.Module):
    """One ``nn.Linear`` per layer; ``forward`` returns raw logits.

    There is deliberately no softmax here: ``CrossEntropyLoss`` applies log-softmax
    itself, and a softmax in front of it would squash the gradients.
    """

    def __init__(self, layer_sizes: Sequence[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Linear(fan_in, fan_out)
            for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index < last:
                x = torch.relu(x)
        return x
