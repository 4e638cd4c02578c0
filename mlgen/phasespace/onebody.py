"""``a b -> R`` with a narrow resonance: the delta function fixes ``s_hat = m^2``.

With ``dPhi_1 = 2 pi delta(s_hat - m^2)`` and ``dx1 dx2 = dtau dy``, the
hadronic weight ``dx1 dx2 dPhi_1`` becomes ``(2 pi / S) dy`` at ``tau = m^2/S``;
one unit-cube number ``u`` gives the rapidity ``y = ln sqrt(tau) (1 - 2u)``.
The point's momenta are the two incoming partons and the resonance (on shell).
"""

from __future__ import annotations

__all__ = ["NarrowResonance"]

import math

import torch
from torch import Tensor

from mlgen.phasespace.base import PhaseSpacePoint, incoming_momenta


class NarrowResonance:
    """Phase space of ``a b -> R`` in the narrow-width limit at a hadron collider.

    Arguments:
        sqrt_s: collider energy in GeV.
        mass: resonance mass in GeV (``< sqrt_s``).

    ``forward(u)``: ``u (B, 1)`` -> (:class:`PhaseSpacePoint` with momenta ``(B, 3, 4)``,
    ``log_weight (B,)`` = ``log(2 pi Delta_y / S)``, constant).
    """

    dim = 1

    def __init__(self, sqrt_s: float, mass: float) -> None:
        if not 0 < mass < sqrt_s:
            raise ValueError(f"resonance mass {mass} GeV must lie in (0, {sqrt_s}) GeV")
        self.sqrt_s = float(sqrt_s)
        self.mass = float(mass)
        self.tau = (mass / sqrt_s) ** 2
        self.y_max = -0.5 * math.log(self.tau)
        self.log_weight = math.log(2.0 * math.pi * 2.0 * self.y_max / self.sqrt_s**2)

    def forward(self, u: Tensor) -> tuple[PhaseSpacePoint, Tensor]:
        y = self.y_max * (2.0 * u[:, 0] - 1.0)
        root = math.sqrt(self.tau)
        x1, x2 = root * torch.exp(y), root * torch.exp(-y)
        pa, pb = incoming_momenta(x1, x2, self.sqrt_s)
        momenta = torch.stack([pa, pb, pa + pb], dim=1)
        return PhaseSpacePoint(momenta, x1, x2), torch.full_like(y, self.log_weight)

    def inverse(self, point: PhaseSpacePoint) -> tuple[Tensor, Tensor]:
        y = 0.5 * torch.log(point.x1 / point.x2)
        u = (y / self.y_max + 1.0) / 2.0
        return u[:, None], torch.full_like(y, -self.log_weight)
