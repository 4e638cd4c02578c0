"""Momentum fractions of the incoming partons: the ``(tau, y)`` map and the lepton-collider mode.

Both maps produce ``x = (x1, x2)`` of shape ``(B, 2)`` with the sign convention of
:mod:`mlgen.phasespace.base`; their ``log_jac`` is ``log |d(x1, x2)/du|``, so the
weight ``dx1 dx2`` is included once, here.
"""

from __future__ import annotations

__all__ = ["LeptonBeams", "TauRapidity"]

import math

import torch
from torch import Tensor

from mlgen.phasespace.invariants import Invariant, PowerLaw


class TauRapidity:
    """``u in [0, 1]^2 -> (x1, x2)`` through ``tau = x1 x2 = s_hat / s`` and ``y = log(x1/x2) / 2``.

    ``s_hat`` is drawn from ``u[:, 0]`` in ``[s_hat_min, s_hat_max]`` by ``invariant``
    (flat in ``log tau`` by default; a :class:`~mlgen.phasespace.invariants.BreitWigner`
    for an s-channel resonance such as Drell-Yan's Z, or a ``PowerLaw(nu)`` for
    ``s_hat^-nu``); ``y`` is uniform in ``|y| <= -log(tau)/2`` from ``u[:, 1]``.
    Since ``dx1 dx2 = dtau dy``,
    ``log_jac = log(ds_hat/du_0 / s) + log(-log tau)``.

    Arguments:
        sqrt_s: collider energy in GeV.
        s_hat_min: lower end of the partonic ``s_hat`` in GeV^2 (``> 0`` for the log map).
        s_hat_max: upper end in GeV^2 (default ``s``, i.e. ``tau = 1``).
        invariant: the map of ``s_hat`` (default ``PowerLaw(1)``, flat in ``log tau``).
    """

    dim = 2

    def __init__(
        self,
        sqrt_s: float,
        s_hat_min: float,
        s_hat_max: float | None = None,
        invariant: Invariant | None = None,
    ) -> None:
        self.sqrt_s = float(sqrt_s)
        self.s = self.sqrt_s**2
        self.s_hat_min = float(s_hat_min)
        self.s_hat_max = self.s if s_hat_max is None else min(float(s_hat_max), self.s)
        if not 0.0 <= self.s_hat_min < self.s_hat_max:
            raise ValueError(
                f"TauRapidity: need 0 <= s_hat_min < s_hat_max <= s, got {self.s_hat_min}, {self.s_hat_max}"
            )
        self.invariant = PowerLaw(1.0) if invariant is None else invariant

    def forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """``u: (B, 2) -> (x: (B, 2), log |d(x1, x2)/du|: (B,))``."""
        s_hat, log_ds = self.invariant.forward(u[:, 0], self.s_hat_min, self.s_hat_max)
        tau = s_hat / self.s
        half_range = -0.5 * torch.log(tau)
        y = (2.0 * u[:, 1] - 1.0) * half_range
        root = torch.sqrt(tau)
        x = torch.stack([root * torch.exp(y), root * torch.exp(-y)], -1)
        return x, log_ds - math.log(self.s) + torch.log(2.0 * half_range)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x: (B, 2) -> (u: (B, 2), log |du/d(x1, x2)|: (B,))``."""
        tau = x[:, 0] * x[:, 1]
        half_range = -0.5 * torch.log(tau)
        y = 0.5 * torch.log(x[:, 0] / x[:, 1])
        u_tau, log_du = self.invariant.inverse(tau * self.s, self.s_hat_min, self.s_hat_max)
        u = torch.stack([u_tau, 0.5 * (y / half_range + 1.0)], -1)
        return u, log_du + math.log(self.s) - torch.log(2.0 * half_range)


class LeptonBeams:
    """Lepton collider: no PDFs, ``x1 = x2 = 1``, no unit-cube input (``dim = 0``), ``log_jac = 0``.

    The weight then is ``dPhi_n`` alone (the ``dx1 dx2`` integral is done by the
    beams' ``delta(1 - x)`` densities). ``forward`` takes ``u`` of shape ``(B, 0)``.

    Arguments:
        sqrt_s: collider energy in GeV.
    """

    dim = 0

    def __init__(self, sqrt_s: float) -> None:
        self.sqrt_s = float(sqrt_s)
        self.s = self.sqrt_s**2

    def forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """``u: (B, 0) -> (x: (B, 2) all ones, zeros (B,))``."""
        ones = torch.ones(u.shape[0], 2, dtype=u.dtype, device=u.device)
        return ones, ones[:, 0] * 0.0

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x: (B, 2) -> (u: (B, 0), zeros (B,))``."""
        return x[:, :0], x[:, 0] * 0.0
