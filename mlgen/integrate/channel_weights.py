"""Learned multi-channel weights: the prior (single-diagram enhancement) times a trained correction.

``log alpha(x) = log_softmax(log alpha_prior(x) + NN(features(x)))`` over the
active channels (arXiv:2212.06172). The network's last layer starts at zero, so
untrained weights are the prior. A dropped channel gets ``alpha = 0`` everywhere
and the others share its part: the channel sum stays exactly one, so dropping
loses nothing but the (negligible) variance the channel carried.
"""

from __future__ import annotations

__all__ = ["ChannelWeights"]

import torch
from torch import Tensor, nn

from mlgen.flows.coupling import zero_last_mlp


class ChannelWeights(nn.Module):
    """``(features (B, F), log_prior (B, C)) -> log alpha (B, C)``; see the module docstring."""

    active: Tensor
    net: nn.Sequential

    def __init__(self, n_features: int, n_channels: int, hidden: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.config = dict(n_features=n_features, n_channels=n_channels, hidden=hidden, layers=layers)
        self.net = zero_last_mlp(n_features, n_channels, hidden, layers)
        self.register_buffer("active", torch.ones(n_channels, dtype=torch.bool))

    def forward(self, features: Tensor, log_prior: Tensor) -> Tensor:
        logits = log_prior + self.net(features.to(next(self.net.parameters()).dtype)).to(log_prior.dtype)
        logits = logits.masked_fill(~self.active, -torch.inf)
        return torch.log_softmax(logits, -1)

    def drop(self, channel: int) -> None:
        """Give ``channel`` zero weight from now on."""
        if int(self.active.sum()) <= 1 and bool(self.active[channel]):
            raise ValueError("cannot drop the last active channel")
        self.active[channel] = False
