"""Conventions shared by every phase-space map, and the point they produce.

Sign convention, stated once for the whole package: every map ``m`` has

* ``m.forward(u) -> (y, log_jac)`` with ``log_jac = log |det dy/du|``; for maps
  that produce momenta it is the log of the *phase-space weight*, so that
  ``integral dPhi f = integral_{[0,1]^d} d^d u exp(log_jac) f(y(u))``;
* ``m.inverse(y) -> (u, log_jac_inv)`` with ``log_jac_inv = log |det du/dy|
  = -log_jac`` evaluated at the same point.

Phase-space normalisation (no hidden ``2 pi``)::

    dPhi_n(P; p_1..p_n) = prod_i d^3p_i / ((2 pi)^3 2 E_i) (2 pi)^4 delta^4(P - sum_i p_i)

so ``dPhi_2 = lambda^(1/2)(s, m_1^2, m_2^2) / (8 pi s) dcos(theta) dphi / (4 pi)`` and the
recursion over an intermediate of invariant mass squared ``s_j`` is
``dPhi_n = dPhi_j x ds_j / (2 pi) x dPhi_(n-j+1)``. Weights are in GeV^(2n-4);
a hadronic weight also carries ``dx1 dx2`` (dimensionless).

Everything is batched: ``u`` has shape ``(B, d)``, float64; new tensors follow
the device and dtype of their inputs; no Python loop runs over events.
"""

from __future__ import annotations

__all__ = ["PhaseSpacePoint", "boost_from_rest", "boost_to_rest", "incoming_momenta", "kallen"]

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class PhaseSpacePoint:
    """A batch of phase-space points in the lab frame.

    Attributes:
        momenta: ``(B, 2 + n, 4)`` float64 ``(E, px, py, pz)`` in GeV: the two
            incoming partons first (beam A along +z, then beam B along -z), then
            the ``n`` final-state particles in the order documented by the map.
        x1, x2: ``(B,)`` momentum fractions of beams A and B (1 at a lepton collider).
    """

    momenta: Tensor
    x1: Tensor
    x2: Tensor

    def to(self, device: torch.device | str) -> PhaseSpacePoint:
        """A copy on ``device``."""
        return PhaseSpacePoint(self.momenta.to(device), self.x1.to(device), self.x2.to(device))


def kallen(s: Tensor, m1: Tensor | float, m2: Tensor | float) -> Tensor:
    """Källén function ``lambda(s, m1^2, m2^2)`` in the factorised, cancellation-free form
    ``(s - (m1 + m2)^2) (s - (m1 - m2)^2)``; masses in GeV, ``s`` in GeV^2, clamped at 0."""
    return torch.clamp((s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2), min=0.0)


def incoming_momenta(x1: Tensor, x2: Tensor, sqrt_s: float) -> tuple[Tensor, Tensor]:
    """Massless incoming partons ``(B, 4)``: beam A ``x1 sqrt_s / 2 (1, 0, 0, 1)`` and
    beam B ``x2 sqrt_s / 2 (1, 0, 0, -1)``, in GeV."""
    e1 = 0.5 * sqrt_s * x1
    e2 = 0.5 * sqrt_s * x2
    zero = torch.zeros_like(x1)
    return torch.stack([e1, zero, zero, e1], -1), torch.stack([e2, zero, zero, -e2], -1)


def boost_from_rest(p: Tensor, frame: Tensor, mass: Tensor) -> Tensor:
    """Take ``p (..., 4)``, given in the rest frame of ``frame (..., 4)``, to the frame ``frame``
    is given in, by the pure boost; ``mass (...)`` is ``frame``'s mass in GeV.

    Same as :func:`~mlgen.physics.vectors.boost_from_rest_frame`, but with
    ``gamma = E / m`` from the known mass instead of ``1/sqrt(1 - beta^2)``,
    which keeps full precision for ``gamma >> 1`` (collinear pairs, light resonances).
    """
    e, q, m = frame[..., :1], frame[..., 1:], mass[..., None]
    qp = (q * p[..., 1:]).sum(-1, keepdim=True)
    energy = (e * p[..., :1] + qp) / m
    space = p[..., 1:] + q * (qp / (m * (e + m)) + p[..., :1] / m)
    return torch.cat([energy, space], -1)


def boost_to_rest(p: Tensor, frame: Tensor, mass: Tensor) -> Tensor:
    """Inverse of :func:`boost_from_rest`: ``p (..., 4)`` in the rest frame of ``frame`` of mass ``mass``."""
    e, q, m = frame[..., :1], frame[..., 1:], mass[..., None]
    qp = (q * p[..., 1:]).sum(-1, keepdim=True)
    energy = (e * p[..., :1] - qp) / m
    space = p[..., 1:] + q * (qp / (m * (e + m)) - p[..., :1] / m)
    return torch.cat([energy, space], -1)
