"""The loss terms of the flow's training beyond the likelihood: the discriminator's, the masses' MMD.

* :func:`discriminator_step` trains a discriminator with the weighted cross entropy
  of training events against the flow's, and returns each training event's weight
  ``(D / (1 - D))^a``, more where the flow undershoots: the DiscFlow coupling of
  arXiv:2110.13632 (the model ``discflow``).
* :func:`mmd_cauchy`: the squared maximum mean discrepancy of two samples of a
  resonance mass with a Breit-Wigner (Cauchy) kernel of its physical width
  (arXiv:1907.03764).
"""

from __future__ import annotations

__all__ = ["discriminator_step", "mmd_cauchy"]

import torch
from torch import Tensor, nn


def mmd_cauchy(a: Tensor, b: Tensor, width: float) -> Tensor:
    """Squared MMD of two 1-d samples with the kernel ``w^2 / ((x - y)^2 + w^2)``."""

    def k(x: Tensor, y: Tensor) -> Tensor:
        return (width**2 / ((x[:, None] - y[None, :]) ** 2 + width**2)).mean()

    return k(a, a) + k(b, b) - 2 * k(a, b)


def discriminator_step(
    disc: nn.Module, opt: torch.optim.Optimizer, real: Tensor, weight: Tensor, fake: Tensor, power: float
) -> tuple[Tensor, Tensor]:
    """One step of the discriminator on ``real`` unit-cube points (with ``weight``) against ``fake``.

    Returns the discriminator's loss and the real points' new likelihood weights,
    ``weight (D / (1 - D))^power`` clamped to ``[0.1, 10]`` per event, at mean 1 over the batch.
    """
    bce = nn.functional.binary_cross_entropy_with_logits
    loss = bce(disc(2 * real - 1).squeeze(1), torch.ones_like(weight), weight=weight) + bce(
        disc(2 * fake.detach() - 1).squeeze(1), torch.zeros_like(weight)
    )
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        # D / (1 - D) ~ p_data / p_generated: more weight where the flow undershoots
        boost = torch.exp(power * disc(2 * real - 1).squeeze(1)).clamp(0.1, 10.0)
    return loss, weight * boost / boost.mean()
