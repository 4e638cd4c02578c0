"""Classic RAMBO: a flat sampler of n-body phase space in the centre-of-mass frame (forward only).

RAMBO maps ``u in [0, 1]^(4n)`` onto ``n`` momenta with a constant weight for
massless particles (the full volume ``V_n``), and a computed correction for
massive ones (rescaling of the three-momenta). It is many-to-one (``4n`` numbers
for a ``3n - 4`` dimensional space), so it has **no inverse** and cannot serve a
trained sampler that needs ``u`` back; use :class:`~mlgen.phasespace.diet.RamboDiet`
for that. Normalisation of :mod:`mlgen.phasespace.base`::

    V_n = (pi/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!) (2 pi)^(4-3n).

References:
    Kleiss, Stirling, Ellis, Comput. Phys. Commun. 40 (1986) 359 (no arXiv id).
"""

from __future__ import annotations

__all__ = ["Rambo", "massless_volume"]

import math
from collections.abc import Sequence

import torch
from torch import Tensor


def massless_volume(n: int, s: float) -> float:
    """``V_n``: the volume of massless ``n``-body phase space at ``s`` (GeV^2), in GeV^(2n-4)."""
    return (
        (math.pi / 2.0) ** (n - 1)
        * s ** (n - 2)
        / (math.factorial(n - 1) * math.factorial(n - 2))
        * (2.0 * math.pi) ** (4 - 3 * n)
    )


class Rambo:
    """RAMBO in the c.m. frame of energy ``sqrt_s``; ``forward(u) -> (p (B, n, 4), log_weight (B,))``.

    Arguments:
        sqrt_s: c.m. energy in GeV.
        masses: the ``n >= 2`` final-state masses in GeV.

    ``u`` has shape ``(B, 4n)``: per particle ``(cos(theta), phi, r_1, r_2)`` with
    ``q^0 = -log(r_1 r_2)``. Massive momenta come from the massless ones by the
    rescaling ``p -> xi p`` with ``xi`` solved by Newton's method, and the weight
    is multiplied by ``(sum|k|/sqrt_s)^(2n-3) prod(|k|/k^0) sqrt_s / sum(|k|^2/k^0)``.
    """

    def __init__(self, sqrt_s: float, masses: Sequence[float]) -> None:
        self.sqrt_s = float(sqrt_s)
        self.masses = tuple(float(m) for m in masses)
        self.n = len(self.masses)
        if self.n < 2 or sum(self.masses) >= self.sqrt_s:
            raise ValueError(f"Rambo needs n >= 2 and sum of masses < sqrt_s, got {self.masses}")
        self.dim = 4 * self.n
        self._log_v = math.log(massless_volume(self.n, self.sqrt_s**2))

    def forward(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """``u: (B, 4n) -> (p: (B, n, 4), log_weight: (B,))``; raises no error, has no inverse."""
        u = u.reshape(u.shape[0], self.n, 4)
        cos = 2.0 * u[..., 0] - 1.0
        sin = torch.sqrt(torch.clamp((1.0 - cos) * (1.0 + cos), min=0.0))
        phi = 2.0 * math.pi * u[..., 1]
        q0 = -torch.log(u[..., 2] * u[..., 3])
        q = torch.stack([q0, q0 * sin * torch.cos(phi), q0 * sin * torch.sin(phi), q0 * cos], -1)
        Q = q.sum(1, keepdim=True)
        big_m = torch.sqrt(Q[..., 0] ** 2 - (Q[..., 1:] ** 2).sum(-1))
        b = -Q[..., 1:] / big_m[..., None]
        gamma = Q[..., 0] / big_m
        x = self.sqrt_s / big_m
        a = 1.0 / (1.0 + gamma)
        bq = (b * q[..., 1:]).sum(-1)
        e = x * (gamma * q0 + bq)
        p3 = x[..., None] * (q[..., 1:] + b * q0[..., None] + (a * bq)[..., None] * b)
        log_w = torch.full_like(q0[:, 0], self._log_v)
        if not any(self.masses):
            return torch.cat([e[..., None], p3], -1), log_w
        return self._massive(e, p3, log_w)

    def _massive(self, e: Tensor, p3: Tensor, log_w: Tensor) -> tuple[Tensor, Tensor]:
        m = torch.tensor(self.masses, dtype=e.dtype, device=e.device)
        m2 = m * m
        xi = torch.full_like(e[:, :1], math.sqrt(1.0 - (sum(self.masses) / self.sqrt_s) ** 2))
        for _ in range(50):
            k0 = torch.sqrt(m2 + (xi * e) ** 2)
            f = k0.sum(-1, keepdim=True) - self.sqrt_s
            df = (xi * e * e / k0).sum(-1, keepdim=True)
            step = f / df
            xi = xi - step
            if bool((step.abs() < 1e-15 * xi).all()):
                break
        k0 = torch.sqrt(m2 + (xi * e) ** 2)
        kabs = xi * e
        log_w = (
            log_w
            + (2 * self.n - 3) * torch.log(kabs.sum(-1) / self.sqrt_s)
            + torch.log(kabs / k0).sum(-1)
            + math.log(self.sqrt_s)
            - torch.log((kabs * kabs / k0).sum(-1))
        )
        return torch.cat([k0[..., None], xi[..., None] * p3], -1), log_w
