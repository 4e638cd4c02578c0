"""Four-vector kinematics as pure functions on ``(..., 4)`` tensors.

Convention, stated once: a four-vector is ``(E, px, py, pz)`` in GeV along the
last axis, with metric ``(+, -, -, -)``. Every function broadcasts over leading
axes and keeps the dtype and device of its inputs; physics code passes float64.
Azimuths are in ``(-pi, pi]``.
"""

from __future__ import annotations

__all__ = [
    "dot",
    "mass2",
    "mass",
    "pt",
    "pt2",
    "p3_abs",
    "rapidity",
    "pseudorapidity",
    "phi",
    "delta_phi",
    "delta_r",
    "boost",
    "boost_to_rest_frame",
    "boost_from_rest_frame",
    "from_pt_eta_phi_m",
]

import math

import torch
from torch import Tensor


def dot(p: Tensor, q: Tensor) -> Tensor:
    """Minkowski product ``p.q = E_p E_q - p3.q3``; shape ``(...)``."""
    return p[..., 0] * q[..., 0] - (p[..., 1:] * q[..., 1:]).sum(-1)


def mass2(p: Tensor) -> Tensor:
    """Invariant mass squared ``p.p`` in GeV^2 (negative for spacelike vectors)."""
    return dot(p, p)


def mass(p: Tensor) -> Tensor:
    """Invariant mass in GeV, ``sign(m^2) sqrt(|m^2|)`` so spacelike vectors stay visible."""
    m2 = mass2(p)
    return torch.sign(m2) * torch.sqrt(torch.abs(m2))


def pt2(p: Tensor) -> Tensor:
    """Transverse momentum squared in GeV^2."""
    return p[..., 1] ** 2 + p[..., 2] ** 2


def pt(p: Tensor) -> Tensor:
    """Transverse momentum in GeV."""
    return torch.hypot(p[..., 1], p[..., 2])


def p3_abs(p: Tensor) -> Tensor:
    """Length of the three-momentum in GeV."""
    return torch.linalg.vector_norm(p[..., 1:], dim=-1)


def rapidity(p: Tensor) -> Tensor:
    """Rapidity ``y = 1/2 ln((E + pz)/(E - pz))``."""
    return 0.5 * torch.log((p[..., 0] + p[..., 3]) / (p[..., 0] - p[..., 3]))


def pseudorapidity(p: Tensor) -> Tensor:
    """Pseudorapidity ``eta = asinh(pz / pT)``; infinite along the beam."""
    return torch.asinh(p[..., 3] / pt(p))


def phi(p: Tensor) -> Tensor:
    """Azimuth ``atan2(py, px)`` in ``(-pi, pi]``."""
    return torch.atan2(p[..., 2], p[..., 1])


def delta_phi(p: Tensor, q: Tensor) -> Tensor:
    """Azimuthal separation folded into ``[-pi, pi)``."""
    return torch.remainder(phi(p) - phi(q) + math.pi, 2 * math.pi) - math.pi


def delta_r(p: Tensor, q: Tensor) -> Tensor:
    """``Delta R = sqrt(Delta y^2 + Delta phi^2)`` with the *rapidity* ``y``.

    Rapidity (not pseudorapidity) keeps ``Delta R`` boost invariant along the
    beam for massive objects, as in FastJet and MadGraph's ``drjj``-type cuts for
    massless ones (where the two coincide).
    """
    return torch.hypot(rapidity(p) - rapidity(q), delta_phi(p, q))


def boost(p: Tensor, beta: Tensor) -> Tensor:
    """Active Lorentz boost of ``p`` by velocity ``beta`` (shape ``(..., 3)``, ``|beta| < 1``).

    A particle at rest ends with velocity ``beta``. ``beta = 0`` is handled
    exactly (no division by ``|beta|``).
    """
    b2 = (beta * beta).sum(-1, keepdim=True)
    gamma = 1.0 / torch.sqrt(1.0 - b2)
    bp = (beta * p[..., 1:]).sum(-1, keepdim=True)
    # (gamma - 1)/b^2 = gamma^2/(gamma + 1) has no 0/0 at rest.
    coef = gamma * gamma / (gamma + 1.0)
    energy = gamma * (p[..., :1] + bp)
    space = p[..., 1:] + (coef * bp + gamma * p[..., :1]) * beta
    return torch.cat([energy, space], dim=-1)


def boost_to_rest_frame(p: Tensor, frame: Tensor) -> Tensor:
    """Express ``p`` in the rest frame of the four-momentum ``frame`` (timelike)."""
    return boost(p, -frame[..., 1:] / frame[..., :1])


def boost_from_rest_frame(p: Tensor, frame: Tensor) -> Tensor:
    """Inverse of :func:`boost_to_rest_frame`: take ``p`` given in the rest frame of
    ``frame`` back to the frame where ``frame`` was given."""
    return boost(p, frame[..., 1:] / frame[..., :1])


def from_pt_eta_phi_m(pt_: Tensor, eta: Tensor, phi_: Tensor, m: Tensor) -> Tensor:
    """Build ``(E, px, py, pz)`` from transverse momentum, pseudorapidity, azimuth and mass."""
    px = pt_ * torch.cos(phi_)
    py = pt_ * torch.sin(phi_)
    pz = pt_ * torch.sinh(eta)
    energy = torch.sqrt(px * px + py * py + pz * pz + m * m)
    return torch.stack([energy, px, py, pz], dim=-1)
