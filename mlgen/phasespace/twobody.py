"""Two-body phase space: angles from the unit square, the decay ``P -> p1 p2`` and its inverse.

The decay is generated in the rest frame of ``P`` with that frame's axes parallel
to those of the frame ``P`` is given in, then taken there by the pure boost
:func:`~mlgen.phasespace.base.boost_from_rest`. For ``P = p_a + p_b`` of
two beams along z this is the partonic c.m. frame with the beam axis as polar
axis, so :class:`TwoBody` is also the ``2 -> 2`` map (with the boost to the lab
from ``(x1, x2)``). With the normalisation of :mod:`mlgen.phasespace.base`::

    dPhi_2 = lambda^(1/2)(s, m1^2, m2^2) / (32 pi^2 s) dcos(theta) dphi
           = lambda^(1/2) / (8 pi s) du_0 du_1,   cos(theta) = 2 u_0 - 1, phi = 2 pi u_1.

References:
    Byckling and Kajantie, *Particle Kinematics* (1973), ch. IV and V.
"""

from __future__ import annotations

__all__ = [
    "Angles",
    "TwoBody",
    "rest_frame_angles",
    "rest_frame_decay",
    "two_body_angles",
    "two_body_decay",
    "two_body_log_weight",
]

import math

import torch
from torch import Tensor

from mlgen.phasespace.base import boost_from_rest, boost_to_rest, kallen
from mlgen.physics.vectors import mass2

_LOG_8PI = math.log(8.0 * math.pi)


class Angles:
    """``u in [0, 1]^2 -> (cos(theta), phi)`` with ``cos(theta) = 2 u_0 - 1``, ``phi = 2 pi u_1``;
    ``log_jac = log(4 pi)``. Inverse folds ``phi`` into ``[0, 2 pi)``."""

    dim = 2

    def forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """``u: (B, 2) -> ((cos(theta), phi): (B, 2), log_jac: (B,))``."""
        y = torch.stack([2.0 * u[:, 0] - 1.0, 2.0 * math.pi * u[:, 1]], -1)
        return y, torch.full_like(u[:, 0], math.log(4.0 * math.pi))

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(cos(theta), phi): (B, 2) -> (u: (B, 2), -log(4 pi): (B,))``."""
        phi = torch.remainder(y[:, 1], 2.0 * math.pi)
        u = torch.stack([0.5 * (y[:, 0] + 1.0), phi / (2.0 * math.pi)], -1)
        return u, torch.full_like(y[:, 0], -math.log(4.0 * math.pi))


def two_body_log_weight(s: Tensor, m1: Tensor | float, m2: Tensor | float) -> Tensor:
    """``log(lambda^(1/2)(s, m1^2, m2^2) / (8 pi s))``: ``log dPhi_2`` per unit square; ``s`` in GeV^2."""
    return 0.5 * torch.log(kallen(s, m1, m2)) - torch.log(s) - _LOG_8PI


def rest_frame_decay(
    s: Tensor, m1: Tensor | float, m2: Tensor | float, u: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Decay of a parent at rest with mass squared ``s (B,)`` (GeV^2) into masses ``m1, m2`` (GeV).

    ``u (B, 2)``: ``cos(theta*) = 2 u_0 - 1``, ``phi* = 2 pi u_1`` of ``p1``. Returns
    ``p1, p2`` ``(B, 4)`` in the parent's rest frame and ``log dPhi_2`` ``(B,)``.
    """
    root_s = torch.sqrt(s)
    q = torch.sqrt(kallen(s, m1, m2)) / (2.0 * root_s)
    m1sq = torch.as_tensor(m1, dtype=s.dtype, device=s.device) ** 2
    m2sq = torch.as_tensor(m2, dtype=s.dtype, device=s.device) ** 2
    e1 = (s + m1sq - m2sq) / (2.0 * root_s)
    e2 = (s - m1sq + m2sq) / (2.0 * root_s)
    cos = 2.0 * u[:, 0] - 1.0
    sin = torch.sqrt(torch.clamp((1.0 - cos) * (1.0 + cos), min=0.0))
    phi = 2.0 * math.pi * u[:, 1]
    n = torch.stack([sin * torch.cos(phi), sin * torch.sin(phi), cos], -1)
    p1 = torch.cat([e1[:, None], q[:, None] * n], -1)
    p2 = torch.cat([e2[:, None], -q[:, None] * n], -1)
    return p1, p2, two_body_log_weight(s, m1, m2)


def rest_frame_angles(q: Tensor) -> Tensor:
    """``u (B, 2)`` of a daughter momentum ``q (B, 4)`` given in its parent's rest frame."""
    cos = q[:, 3] / torch.linalg.vector_norm(q[:, 1:], dim=-1)
    phi = torch.remainder(torch.atan2(q[:, 2], q[:, 1]), 2.0 * math.pi)
    return torch.stack([0.5 * (cos + 1.0), phi / (2.0 * math.pi)], -1)


def two_body_decay(
    P: Tensor, s: Tensor, m1: Tensor | float, m2: Tensor | float, u: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Decay ``P -> p1 p2`` at the angles given by ``u``.

    Arguments:
        P: ``(B, 4)`` parent momentum in GeV, in any frame.
        s: ``(B,)`` its mass squared in GeV^2 (passed so that a sampled value is used exactly).
        m1, m2: daughter masses in GeV (floats or ``(B,)``), ``m1 + m2 <= sqrt(s)``.
        u: ``(B, 2)`` unit-square numbers: ``cos(theta*) = 2 u_0 - 1``, ``phi* = 2 pi u_1``
            of ``p1`` in the rest frame of ``P``.

    Returns:
        ``p1, p2`` of shape ``(B, 4)`` in the frame of ``P``, and ``log dPhi_2`` ``(B,)``.
    """
    p1, p2, log_w = rest_frame_decay(s, m1, m2, u)
    root_s = torch.sqrt(s)
    return boost_from_rest(p1, P, root_s), boost_from_rest(p2, P, root_s), log_w


def two_body_angles(p1: Tensor, P: Tensor) -> Tensor:
    """Inverse of :func:`two_body_decay`: ``u (B, 2)`` of ``p1 (B, 4)`` in the rest frame of ``P``."""
    return rest_frame_angles(boost_to_rest(p1, P, torch.sqrt(mass2(P))))


class TwoBody:
    """Two-body phase space ``dPhi_2(P; p1, p2)`` with fixed daughter masses: the ``2 -> 2`` map.

    ``forward(u, P)`` returns the momenta ``(B, 2, 4)`` in the frame of ``P`` (the lab,
    when ``P = p_a + p_b``) and ``log dPhi_2`` (constant at fixed ``s``); ``inverse(p)``
    recovers ``u`` with ``P = p1 + p2``.

    Arguments:
        m1, m2: daughter masses in GeV.

    >>> P = torch.tensor([[100.0, 0.0, 0.0, 30.0]], dtype=torch.float64)
    >>> p, lw = TwoBody(0.0, 0.0).forward(torch.full((1, 2), 0.3, dtype=torch.float64), P)
    >>> bool(torch.allclose(p.sum(1), P))
    True
    """

    dim = 2

    def __init__(self, m1: float, m2: float) -> None:
        self.masses = (float(m1), float(m2))

    def forward(self, u: Tensor, P: Tensor, s: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``u: (B, 2), P: (B, 4) -> (p: (B, 2, 4), log dPhi_2: (B,))``."""
        s = mass2(P) if s is None else s
        p1, p2, log_w = two_body_decay(P, s, *self.masses, u)
        return torch.stack([p1, p2], 1), log_w

    def inverse(self, p: Tensor) -> tuple[Tensor, Tensor]:
        """``p: (B, 2, 4) -> (u: (B, 2), -log dPhi_2: (B,))``."""
        P = p.sum(1)
        return two_body_angles(p[:, 0], P), -two_body_log_weight(mass2(P), *self.masses)
