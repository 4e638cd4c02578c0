"""RAMBO on diet: an invertible n-body phase-space map with ``3n - 4`` numbers.

The momenta are built as a chain ``Q_1 = P -> p_1 Q_2 -> p_1 p_2 Q_3 -> ...`` of
two-body decays, each in the rest frame of ``Q_i`` reached from that of
``Q_(i-1)`` by a pure boost, with the intermediate masses ``M_i`` drawn so
that for massless particles the weight is the constant volume ``V_n`` of
:func:`~mlgen.phasespace.rambo.massless_volume`: with ``x_i = M_i^2 / M_(i-1)^2``
and ``k = n + 1 - i`` particles in ``Q_i``, ``r_i = k x_i^(k-1) - (k-1) x_i^k``
(the normalised integral of the density ``(1 - x) x^(k-2)``). For massive
particles the same is done for ``K_i = M_i - sum_(j>=i) m_j`` (Plätzer's sec. 4)
and the weight is computed exactly (no longer constant).

Layout of ``u`` (shape ``(B, 3n - 4)``): ``r_2 .. r_(n-1)`` first, then
``(cos(theta*), phi*)`` of ``p_1, .., p_(n-1)`` in the rest frames of ``Q_1, .., Q_(n-1)``.

References:
    S. Plätzer, "RAMBO on diet", arXiv:1308.2922.
"""

from __future__ import annotations

__all__ = ["RamboDiet"]

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mlgen.phasespace.base import boost_from_rest, boost_to_rest
from mlgen.phasespace.twobody import rest_frame_angles, rest_frame_decay, two_body_log_weight
from mlgen.physics.vectors import mass2

_LOG_2PI = math.log(2.0 * math.pi)
_BISECTIONS = 24
_NEWTON_STEPS = 4


def _cdf(x: Tensor, k: Tensor) -> Tensor:
    return k * x ** (k - 1) - (k - 1) * x**k


def _log_density(x: Tensor, k: Tensor) -> Tensor:
    return torch.log(k * (k - 1)) + (k - 2) * torch.log(x) + torch.log1p(-x)


def _solve_cdf(r: Tensor, k: Tensor) -> Tensor:
    """``x in [0, 1]`` with ``_cdf(x, k) = r``: bisection to a 2^-24 bracket, then Newton kept inside it."""
    lo, hi = torch.zeros_like(r), torch.ones_like(r)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        below = _cdf(mid, k) < r
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    x = 0.5 * (lo + hi)
    for _ in range(_NEWTON_STEPS):
        step = (_cdf(x, k) - r) / torch.clamp(torch.exp(_log_density(x, k)), min=1e-300)
        x = torch.minimum(torch.maximum(x - step, lo), hi)
    return x


class RamboDiet:
    """RAMBO on diet for ``n >= 2`` massless or massive particles; exact inverse.

    Arguments:
        masses: the ``n`` final-state masses in GeV.

    ``forward(u, P, s=None)``: ``u (B, 3n-4)``, ``P (B, 4)`` in any frame -> momenta
    ``(B, n, 4)`` in that frame and ``log dPhi_n`` ``(B,)`` (GeV^(2n-4); constant,
    ``log V_n``, when all masses vanish). ``inverse(p, P=None)`` -> ``(u, -log dPhi_n)``.

    References:
        S. Plätzer, arXiv:1308.2922.
    """

    def __init__(self, masses: Sequence[float]) -> None:
        self.masses = tuple(float(m) for m in masses)
        self.n = len(self.masses)
        if self.n < 2:
            raise ValueError("RamboDiet needs at least two particles")
        self.dim = 3 * self.n - 4
        # tail[i] = sum of masses of particles i..n-1 (0-based): the minimum mass of Q_(i+1).
        self._tail = [sum(self.masses[i:]) for i in range(self.n)]

    def _k(self, like: Tensor) -> Tensor:
        return torch.arange(self.n - 1, 1, -1, dtype=like.dtype, device=like.device)

    def _mass_log_jac(self, x: Tensor, k: Tensor, big_k: list[Tensor], big_m: list[Tensor]) -> Tensor:
        """``sum_i log(dM_i^2/dr_i / (2 pi))`` for ``i = 2 .. n-1``; ``big_k, big_m`` from ``i = 1``."""
        log_j = -_log_density(x, k).sum(-1)
        for j in range(1, self.n - 1):
            log_j = log_j + 2.0 * torch.log(big_k[j - 1]) + torch.log(big_m[j] / big_k[j]) - _LOG_2PI
        return log_j

    def forward(self, u: Tensor, P: Tensor, s: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """See the class docstring."""
        s = mass2(P) if s is None else s
        n = self.n
        r = u[:, : n - 2]
        k = self._k(u)
        x = _solve_cdf(r.detach(), k)
        # The root finder runs without a graph; this adds 0 to the value and gives
        # autograd the implicit-function derivative dx/dr = 1/density.
        x = x + (r - r.detach()) / torch.clamp(torch.exp(_log_density(x, k)), min=1e-300)
        big_m = [torch.sqrt(s)]
        big_k = [big_m[0] - self._tail[0]]
        for j in range(1, n - 1):
            big_k.append(big_k[-1] * torch.sqrt(x[:, j - 1]))
            big_m.append(big_k[-1] + self._tail[j])
        log_w = self._mass_log_jac(x, k, big_k, big_m)
        # Decay Q_j -> p_j Q_(j+1) in the rest frame of Q_j, last step first, each
        # finished tail boosted into the rest frame of its parent along the chain.
        tail: Tensor | None = None
        for j in range(n - 2, -1, -1):
            next_m: Tensor | float = big_m[j + 1] if j + 1 < n - 1 else self.masses[n - 1]
            angles = u[:, n - 2 + 2 * j : n + 2 * j]
            p1, q_next, lw = rest_frame_decay(big_m[j] ** 2, self.masses[j], next_m, angles)
            log_w = log_w + lw
            if tail is None:
                rest = q_next[:, None]
            else:
                rest = boost_from_rest(tail, q_next[:, None], big_m[j + 1][:, None])
            tail = torch.cat([p1[:, None], rest], 1)
        assert tail is not None
        return boost_from_rest(tail, P[:, None], torch.sqrt(s)[:, None]), log_w

    def inverse(self, p: Tensor, P: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """See the class docstring; ``P (B, 4)`` defaults to the sum of the momenta ``p (B, n, 4)``
        (pass it when it is known more precisely, e.g. from ``x1, x2``)."""
        P = p.sum(1) if P is None else P
        n = self.n
        q = boost_to_rest(p, P[:, None], torch.sqrt(mass2(P))[:, None])
        big_m, angles = [], []
        for j in range(n - 1):
            # q holds p_j .. p_(n-1) in the rest frame of Q_j = their sum.
            big_m.append(torch.sqrt(mass2(q.sum(1))))
            angles.append(rest_frame_angles(q[:, 0]))
            q = q[:, 1:]
            if j < n - 2:
                tail = q.sum(1, keepdim=True)
                q = boost_to_rest(q, tail, torch.sqrt(mass2(tail)))
        big_k = [big_m[j] - self._tail[j] for j in range(n - 1)]
        k = self._k(p)
        if n > 2:
            x = torch.stack([(big_k[j] / big_k[j - 1]) ** 2 for j in range(1, n - 1)], -1)
        else:
            x = p[:, 0, :0]
        log_w = self._mass_log_jac(x, k, big_k, big_m)
        for j in range(n - 1):
            next_m: Tensor | float = big_m[j + 1] if j + 1 < n - 1 else self.masses[n - 1]
            log_w = log_w + two_body_log_weight(big_m[j] ** 2, self.masses[j], next_m)
        return torch.cat([_cdf(x, k), *angles], -1), -log_w
