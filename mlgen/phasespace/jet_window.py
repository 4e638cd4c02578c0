"""A ``2 -> n`` map that emits one massless jet first, inside its ``pT`` and rapidity cuts.

For ``2 -> n`` with a jet (a gluon, a light quark) under ``pT >= pT_min`` and
``|eta| <= eta_max``, a channel that builds the jet from decay or t-channel angles lets
points fall outside the cuts (25-31% on MadGraph5's ``g g -> t t~ g`` channels). Here
the jet ``k`` is drawn first, in the partonic centre-of-mass frame, from
``(pT, y*, phi)``, and the other ``n - 1`` particles by any s-channel map of them
(:class:`~mlgen.phasespace.tree.DecayTree` or RAMBO on diet) with the total momentum
``K = P - k``:

    dPhi_n(P; k, rest) = d^3k / ((2 pi)^3 2 E_k) dPhi_(n-1)(P - k; rest),
    d^3k / (2 E_k) = pT dpT dy dphi / 2,

so the weight gains ``pT / (2 (2 pi)^3) |d(pT, y, phi) / du|``. Only allowed
values are drawn:

* ``pT`` in ``[pT_min, pT_max(s_hat)]`` with ``pT_max = (s_hat - M^2) / (2 sqrt(s_hat))``,
  ``M`` the least mass of the rest; flat in ``1 / pT`` (density ``~ 1 / pT^2``, the soft
  and collinear emission's own shape);
* ``y*`` within ``|y*| <= acosh((s_hat - M^2) / (2 sqrt(s_hat) pT))`` (so ``K^2 >= M^2``)
  and within the lab window ``-eta_max - y_b <= y* <= eta_max - y_b`` (``y_b`` the
  partonic frame's rapidity; a massless jet's rapidity is its pseudorapidity); flat;
* ``sqrt(s_hat) >= pT_min + sqrt(pT_min^2 + M^2)`` by the beams' map.

Where the rapidity interval is empty (a boost ``|y_b|`` beyond the window) the weight is
0 (``log_weight = -inf``). The cuts stay in the process, so a map that allowed too much
would only cost points, and one that allowed too little would show against the plain
map (the tests compare both with RAMBO and the cuts as a mask).

Use: as a channel's phase space (``Process.channels``) or the process's own, where one
jet carries the cut: e.g. ``g g -> t t~ g`` with the gluon emitted from the initial
state, the ``t t~`` pair from a ``g* -> t t~`` tree or RAMBO.
"""

from __future__ import annotations

__all__ = ["JetFirstSpace"]

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from mlgen.phasespace.base import PhaseSpacePoint, incoming_momenta
from mlgen.phasespace.diet import RamboDiet
from mlgen.phasespace.invariants import PowerLaw
from mlgen.phasespace.momentum_fractions import LeptonBeams, TauRapidity
from mlgen.phasespace.tree import DecayTree, Node

_LOG_JET_NORM = -math.log(2.0 * (2.0 * math.pi) ** 3)


class JetFirstSpace:
    """Hadron- or lepton-collider phase space with final particle ``jet`` massless and inside cuts.

    Arguments:
        sqrt_s: collider energy in GeV.
        masses: final-state masses in GeV, in the output order (``masses[jet]`` must be 0).
        jet: the index (in ``masses``) of the jet drawn first.
        pt_min: its ``pT`` lower cut in GeV (> 0).
        eta_max: its ``|eta|`` upper cut (``inf``: none).
        rest: the other particles' topology: a :class:`~mlgen.phasespace.tree.Node` over their
            indices ``0..n-2`` (in ``masses`` order with ``jet`` left out) or ``"rambo"``.
        hadronic: PDFs on both beams (the ``(tau, y)`` map) or ``x1 = x2 = 1``.
        m_rest_min: the least invariant mass of the rest in GeV (default: the sum of its masses).
        nu: the beams' map is flat in ``s_hat^(1 - nu)`` (``1``: in ``log tau``).

    ``forward(u) -> (PhaseSpacePoint, log_weight)`` and ``inverse(point) -> (u, -log_weight)`` as
    :class:`~mlgen.phasespace.space.PhaseSpace`: ``u`` is the beams' numbers (hadronic), then
    ``pT``, ``y*``, ``phi`` of the jet, then the rest's ``3 (n - 1) - 4``.

    >>> ps = JetFirstSpace(91.188, [0.0, 0.0, 0.0], 2, 10.0, 2.0, hadronic=False)
    >>> point, log_w = ps.forward(torch.rand(5, ps.dim, dtype=torch.float64))
    >>> from mlgen.physics.vectors import pseudorapidity, pt
    >>> bool((pt(point.momenta[:, 4]) >= 10.0 - 1e-9).all()), ps.dim
    (True, 5)
    """

    def __init__(
        self,
        sqrt_s: float,
        masses: Sequence[float],
        jet: int,
        pt_min: float,
        eta_max: float = math.inf,
        rest: Node | Literal["rambo"] = "rambo",
        *,
        hadronic: bool = True,
        m_rest_min: float | None = None,
        nu: float = 1.0,
    ) -> None:
        self.sqrt_s = float(sqrt_s)
        self.masses = tuple(float(m) for m in masses)
        self.n = len(self.masses)
        if self.n < 3:
            raise ValueError("JetFirstSpace: needs at least three final-state particles (the jet and two)")
        if not 0 <= jet < self.n or self.masses[jet] != 0.0:
            raise ValueError(f"JetFirstSpace: jet {jet} must index a massless particle of {self.masses}")
        if not pt_min > 0 or not eta_max > 0:
            raise ValueError(f"JetFirstSpace: expected pt_min > 0 and eta_max > 0, got {pt_min}, {eta_max}")
        self.jet, self.pt_min, self.eta_max = jet, float(pt_min), float(eta_max)
        rest_masses = [m for i, m in enumerate(self.masses) if i != jet]
        self.rest: DecayTree | RamboDiet = (
            RamboDiet(rest_masses) if rest == "rambo" else DecayTree(rest, rest_masses)
        )
        self.m_rest = max(sum(rest_masses), 0.0 if m_rest_min is None else float(m_rest_min))
        threshold = self.pt_min + math.hypot(self.pt_min, self.m_rest)
        if not threshold < self.sqrt_s:
            raise ValueError(f"JetFirstSpace: sqrt(s) {sqrt_s} GeV below the threshold {threshold:.4g} GeV")
        self.beams: TauRapidity | LeptonBeams = LeptonBeams(self.sqrt_s)
        if hadronic:
            self.beams = TauRapidity(self.sqrt_s, threshold**2, None, PowerLaw(nu))
        self.dim = self.beams.dim + 3 + self.rest.dim

    def _pt_range(self, s_hat: Tensor) -> Tensor:
        return ((s_hat - self.m_rest**2) / (2.0 * torch.sqrt(s_hat))).clamp(min=self.pt_min)

    def _y_range(self, s_hat: Tensor, pt: Tensor, y_boost: Tensor) -> tuple[Tensor, Tensor]:
        ratio = (s_hat - self.m_rest**2) / (2.0 * torch.sqrt(s_hat) * pt)
        limit = torch.acosh(ratio.clamp(min=1.0))
        lo = torch.maximum(-limit, -self.eta_max - y_boost)
        hi = torch.minimum(limit, self.eta_max - y_boost)
        return lo, hi

    def forward(self, u: Tensor) -> tuple[PhaseSpacePoint, Tensor]:
        """``u (B, dim) -> (PhaseSpacePoint, log_weight (B,))``; ``-inf`` where no jet passes."""
        k = self.beams.dim
        x, log_w = self.beams.forward(u[:, :k])
        x1, x2 = x[:, 0], x[:, 1]
        s_hat = x1 * x2 * self.sqrt_s**2
        y_boost = 0.5 * torch.log(x1 / x2)
        a, b = 1.0 / self.pt_min, 1.0 / self._pt_range(s_hat)
        pt = 1.0 / (a - u[:, k] * (a - b))
        lo, hi = self._y_range(s_hat, pt, y_boost)
        empty = hi <= lo
        # no jet passes there: any valid point (y* = 0 keeps the kinematics finite), weight 0
        y_star = torch.where(empty, torch.zeros_like(lo), lo + u[:, k + 1] * (hi - lo))
        phi = 2.0 * math.pi * u[:, k + 2]
        y = y_star + y_boost
        jet = torch.stack(
            [pt * torch.cosh(y), pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(y)], -1
        )
        pa, pb = incoming_momenta(x1, x2, self.sqrt_s)
        total = pa + pb - jet
        # K^2 = s_hat - 2 sqrt(s_hat) E*_k, without the cancellation of (P - k)^2
        s_rest = (s_hat - 2.0 * torch.sqrt(s_hat) * pt * torch.cosh(y_star)).clamp(min=self.m_rest**2)
        rest, log_rest = self.rest.forward(u[:, k + 3 :], total, s_rest)
        parts = [pa[:, None], pb[:, None], rest[:, : self.jet], jet[:, None], rest[:, self.jet :]]
        momenta = torch.cat(parts, 1)
        log_jet = (
            _LOG_JET_NORM
            + torch.log(pt)
            + torch.log(pt**2 * (a - b))  # dpT / du
            + torch.log((hi - lo).clamp(min=0))
            + math.log(2.0 * math.pi)
        )
        log_weight = torch.where(empty, torch.full_like(log_w, -math.inf), log_w + log_jet + log_rest)
        return PhaseSpacePoint(momenta, x1, x2), log_weight

    def inverse(self, point: PhaseSpacePoint) -> tuple[Tensor, Tensor]:
        """``PhaseSpacePoint -> (u (B, dim), -log_weight (B,))``; a jet outside the cuts lies off the cube."""
        x1, x2 = point.x1, point.x2
        u_beams, log_w = self.beams.inverse(torch.stack([x1, x2], -1))
        s_hat = x1 * x2 * self.sqrt_s**2
        y_boost = 0.5 * torch.log(x1 / x2)
        final = point.momenta[:, 2:]
        jet = final[:, self.jet]
        rest = torch.cat([final[:, : self.jet], final[:, self.jet + 1 :]], 1)
        pt = torch.hypot(jet[:, 1], jet[:, 2])
        y = 0.5 * torch.log((jet[:, 0] + jet[:, 3]) / (jet[:, 0] - jet[:, 3]))
        y_star = y - y_boost
        phi = torch.remainder(torch.atan2(jet[:, 2], jet[:, 1]), 2.0 * math.pi)
        a, b = 1.0 / self.pt_min, 1.0 / self._pt_range(s_hat)
        lo, hi = self._y_range(s_hat, pt, y_boost)
        u_pt = (a - 1.0 / pt) / (a - b)
        u_jet = torch.stack([u_pt, (y_star - lo) / (hi - lo), phi / (2.0 * math.pi)], -1)
        pa, pb = incoming_momenta(x1, x2, self.sqrt_s)
        u_rest, log_rest_inv = self.rest.inverse(rest, pa + pb - jet)
        log_jet = (
            _LOG_JET_NORM
            + torch.log(pt)
            + torch.log(pt**2 * (a - b))
            + torch.log(hi - lo)
            + math.log(2.0 * math.pi)
        )
        return torch.cat([u_beams, u_jet, u_rest], -1), log_w - log_jet + log_rest_inv
