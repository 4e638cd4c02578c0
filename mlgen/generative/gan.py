"""The GAN of one record layout: its generator and discriminator networks and their loss terms.

The networks work in the Gaussian image of the layout's unit cube (the feature map of
:mod:`mlgen.generative.preprocess` makes each feature nearly uniform; ``t = Phi^-1(u)``
makes it nearly a unit Gaussian, the scaling GANs train best on, as the 450 GeV scale of
arXiv:1907.03764 does for momenta). Everything the generator writes goes back through
the feature map to features and then to momenta
(:func:`~mlgen.generative.representation.momenta_of`), so its events are records
like the flow's.

* :class:`GANGenerator`: an MLP from Gaussian noise (and the columns drawn from
  their line shapes, its context) to the other columns.
* :func:`gan_discriminator`: an MLP giving one logit per event.
* :func:`discriminator_loss`: the cross entropy with the real events' weights
  (arXiv:2012.07873: a weighted sample is learnt as the distribution its weights
  describe), plus the Jensen-Shannon gradient regulariser of Roth et al.
  (arXiv:1705.09367), the discriminator's regularisation in arXiv:1907.03764.
* :func:`generator_loss`: the non-saturating cross entropy.
* :func:`mmd_breit_wigner`: the squared MMD of a resonance mass with a
  Breit-Wigner kernel of its physical width, with the real events' weights
  (arXiv:1907.03764).

References: arXiv:1907.03764, arXiv:2012.07873, arXiv:1705.09367.
"""

from __future__ import annotations

__all__ = [
    "GANGenerator",
    "discriminator_loss",
    "gan_discriminator",
    "generator_loss",
    "mmd_breit_wigner",
    "to_gaussian",
    "to_unit",
]

import math

import torch
from torch import Tensor, nn

#: How close to 0 and 1 a unit coordinate is taken before its Gaussian image (float32: 5.3 sigma).
_EDGE = 1e-7


def to_gaussian(u: Tensor) -> Tensor:
    """Unit-cube points ``u (N, d)`` to their Gaussian image ``Phi^-1(u)``."""
    return math.sqrt(2.0) * torch.erfinv(2 * u.clamp(_EDGE, 1 - _EDGE) - 1)


def to_unit(t: Tensor) -> Tensor:
    """The Gaussian image ``t (N, d)`` back to the unit cube, ``Phi(t)`` (differentiable)."""
    return 0.5 * (1 + torch.erf(t / math.sqrt(2.0)))


def _mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    sizes = [n_in] + [hidden] * layers
    blocks: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        blocks += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*blocks, nn.Linear(sizes[-1], n_out))


class GANGenerator(nn.Module):
    """Generates ``dim`` columns of the Gaussian image from noise, given ``n_context`` columns.

    Arguments:
        dim: the columns it generates.
        n_context: the columns it is given (resonance masses drawn from their line shapes).
        noise: Gaussian numbers per event beyond ``dim`` (the latent space has ``dim + noise``).
        hidden, layers: the MLP's width and number of hidden layers.
        residual: add the first ``dim`` noise numbers to the MLP's output, whose last layer starts
            at zero, so that the untrained generator is the unit Gaussian that the feature map makes
            of every column's marginal, and the network learns the correction.

    Example:
        >>> g = GANGenerator(3, 1, noise=2, hidden=16, layers=2)
        >>> g(torch.zeros(5, g.n_noise), torch.zeros(5, 1)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        dim: int,
        n_context: int = 0,
        noise: int = 2,
        hidden: int = 128,
        layers: int = 3,
        residual: bool = False,
    ):
        super().__init__()
        self.dim, self.n_context, self.n_noise, self.residual = dim, n_context, dim + noise, residual
        self.config = {"dim": dim, "n_context": n_context, "noise": noise, "hidden": hidden, "layers": layers}
        self.config["residual"] = residual
        self.net = _mlp(self.n_noise + n_context, dim, hidden, layers)
        last = self.net[-1]
        if residual and isinstance(last, nn.Linear):  # the correction starts at zero: the Gaussian itself
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        """``(N, dim)`` Gaussian-image columns from noise ``z (N, n_noise)`` and ``context (N, n_context)``
        (the given columns' Gaussian image)."""
        out = self.net(z if context is None else torch.cat([z, context], 1))
        return out + z[:, : self.dim] if self.residual else out


def gan_discriminator(n_in: int, hidden: int, layers: int) -> nn.Sequential:
    """An MLP (LeakyReLU 0.2) giving one logit per event of ``n_in`` Gaussian-image columns."""
    return _mlp(n_in, 1, hidden, layers)


def _mean(values: Tensor, weight: Tensor | None) -> Tensor:
    return values.mean() if weight is None else (weight * values).sum() / weight.sum()


def discriminator_loss(
    disc: nn.Module,
    real: Tensor,
    weight: Tensor,
    fake: Tensor,
    regulariser: float,
    fake_weight: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The discriminator's loss on ``real (N, d)`` events with ``weight (N,)`` against ``fake (M, d)``
    with ``fake_weight (M,)`` (default: unweighted; the subtraction GAN's class assignment, detached).

    Returns ``(loss, cross entropy)``: the weighted cross entropy plus ``regulariser / 2`` times
    Roth et al.'s Jensen-Shannon penalty, ``E_real[w (1 - D)^2 |grad logit|^2] + E_fake[D^2 |grad
    logit|^2]`` (arXiv:1705.09367, eq. 23), which keeps the discriminator smooth where the two
    samples meet.
    """
    real = real.detach().requires_grad_(regulariser > 0)
    fake = fake.detach().requires_grad_(regulariser > 0)
    fake_weight = None if fake_weight is None else fake_weight.detach()
    logit_r, logit_f = disc(real).squeeze(1), disc(fake).squeeze(1)
    softplus = nn.functional.softplus
    # -log D = softplus(-logit), -log(1 - D) = softplus(logit)
    cross = _mean(softplus(-logit_r), weight) + _mean(softplus(logit_f), fake_weight)
    if regulariser <= 0:
        return cross, cross.detach()
    grad_r, grad_f = torch.autograd.grad([logit_r.sum(), logit_f.sum()], [real, fake], create_graph=True)
    d_r, d_f = torch.sigmoid(logit_r), torch.sigmoid(logit_f)
    penalty = _mean((1 - d_r) ** 2 * grad_r.pow(2).sum(1), weight) + _mean(
        d_f**2 * grad_f.pow(2).sum(1), fake_weight
    )
    return cross + 0.5 * regulariser * penalty, cross.detach()


def generator_loss(disc: nn.Module, fake: Tensor, fake_weight: Tensor | None = None) -> Tensor:
    """The non-saturating generator loss ``E_fake[-log D]`` (arXiv:1406.2661, section 3), over the
    generated events weighted by ``fake_weight (M,)`` if given (differentiable in it too)."""
    return _mean(nn.functional.softplus(-disc(fake).squeeze(1)), fake_weight)


def mmd_breit_wigner(fake: Tensor, real: Tensor, weight: Tensor, width: float) -> Tensor:
    """Squared MMD between generated masses ``fake (N,)`` and ``real (M,)`` ones with ``weight (M,)``
    (GeV), with the Breit-Wigner kernel ``width^2 / ((m - m')^2 + width^2)`` of the physical width."""

    def kernel(a: Tensor, b: Tensor) -> Tensor:
        return width**2 / ((a[:, None] - b[None, :]) ** 2 + width**2)

    p = weight / weight.sum()
    return kernel(fake, fake).mean() + p @ kernel(real, real) @ p - 2 * (kernel(fake, real) @ p).mean()
