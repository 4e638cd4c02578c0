"""Training losses of importance samplers, from points drawn with any earlier density.

Every loss takes the integrand values ``f`` at points drawn from a density
``q_s`` (the sampler when the points were drawn: fresh or from the replay
buffer) and ``log q`` of the sampler being trained at the same points, with
gradient. Reweighting by ``q / q_s`` makes the estimates unbiased for the
current sampler, so buffered points need no special treatment. ``|f|`` is used,
so integrands with negative values train towards ``|f|`` (the optimal density
for the variance of a signed integrand).

References: J. Bendavid arXiv:1707.00028; C. Gao et al. arXiv:2001.05486 (i-flow);
T. Heimel et al. arXiv:2212.06172, arXiv:2311.01548 (MadNIS, stratified variance).
"""

from __future__ import annotations

__all__ = ["LOSSES", "kl_loss", "stratified_variance_loss", "variance_loss"]

from collections.abc import Callable

import torch
from torch import Tensor


def variance_loss(f: Tensor, log_q_sampled: Tensor, log_q: Tensor) -> Tensor:
    """The second moment ``int f^2 / q``, from points of ``q_s`` (its gradient is the variance's)."""
    f = f.abs()
    return torch.mean(f**2 * torch.exp(-log_q - log_q_sampled))


def kl_loss(f: Tensor, log_q_sampled: Tensor, log_q: Tensor) -> Tensor:
    """The cross entropy ``-int (|f| / I) log q``, i.e. KL(|f|/I || q) up to a constant."""
    w = f.abs() * torch.exp(-log_q_sampled)
    return -torch.sum(w * log_q) / torch.sum(w).clamp(min=torch.finfo(w.dtype).tiny)


def stratified_variance_loss(
    f: Tensor, log_q_sampled: Tensor, log_q: Tensor, channel: Tensor, n_channels: int
) -> Tensor:
    """``(sum_c sigma_c)^2``: the variance of a multi-channel estimate at optimal allocation.

    ``f`` already includes each point's channel weight; ``channel`` says which
    channel's density drew it.
    """
    total = f.new_zeros(())
    for c in range(n_channels):
        sel = channel == c
        if not bool(sel.any()):
            continue
        fc, lqs, lq = f[sel], log_q_sampled[sel], log_q[sel]
        second = torch.mean(fc**2 * torch.exp(-lq - lqs))
        first = torch.mean(fc * torch.exp(-lqs))
        total = total + torch.sqrt((second - first**2).clamp(min=0) + 1e-30)
    return total**2


LOSSES: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {"variance": variance_loss, "kl": kl_loss}
