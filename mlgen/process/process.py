"""A hadron- or lepton-collider process as a batched integrand over the unit hypercube.

The cross section in pb is

    sigma = sum_k  int dx1 dx2 f_a(x1, muF) f_b(x2, muF) |M_k|^2 / (2 s-hat) dPhi_n  * GEV2_TO_PB

with the phase-space map supplying ``(momenta, x1, x2)`` and the weight
``dx1 dx2 dPhi_n`` from ``u in [0, 1]^d``. Subprocesses (flavours) are summed
analytically at each point, and one of them is drawn for the event record in
proportion to its contribution.
"""

from __future__ import annotations

__all__ = ["GEV2_TO_PB", "Evaluation", "Process", "ScaleSetup"]


from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mlgen.matrix.base import MatrixElement
from mlgen.phasespace.base import PhaseSpacePoint
from mlgen.physics.sm import GMU
from mlgen.process.cuts import Cuts
from mlgen.process.luminosity import Luminosity
from mlgen.process.priors import ChannelPrior
from mlgen.process.scales import scale

#: hbar^2 c^2 in GeV^2 pb: converts GeV^-2 to pb.
GEV2_TO_PB = 0.3893793721e9

#: The nine (mu_R, mu_F) factors of the scale-variation weights; the first is nominal.
SCALE_FACTORS = tuple((kr, kf) for kr in (1.0, 0.5, 2.0) for kf in (1.0, 0.5, 2.0))


@dataclass(frozen=True)
class ScaleSetup:
    """Scale choices (see :func:`mlgen.process.scales.scale`) and factors."""

    mu_r: str = "fixed"
    mu_f: str = "fixed"
    value: float = GMU.mz
    factor_r: float = 1.0
    factor_f: float = 1.0
    top_mass: float = GMU.mt
    variations: bool = True


@dataclass
class Evaluation:
    """Everything the integrand computed at a batch of points.

    Attributes:
        weight: ``(B,)`` ``f(u)`` in pb (0 outside cuts).
        contributions: ``(B, K)`` per-subprocess parts of ``weight`` (they sum to it).
        momenta: ``(B, n, 4)`` lab-frame momenta, incoming first.
        x1, x2, mu_r, mu_f, alpha_s: ``(B,)``.
        variations: ``(B, 9)`` weights in pb for the scale factors of
            :data:`SCALE_FACTORS`, or ``None``.
        passed: ``(B,)`` bool, the point passed the cuts.
    """

    weight: Tensor
    contributions: Tensor
    momenta: Tensor
    x1: Tensor
    x2: Tensor
    mu_r: Tensor
    mu_f: Tensor
    alpha_s: Tensor
    passed: Tensor
    variations: Tensor | None = None


class Process:
    """A process: matrix element, beams, PDFs, phase space, scales and cuts.

    Arguments:
        matrix_element: implements :class:`mlgen.matrix.base.MatrixElement`.
        beams: PDG ids of beams A and B.
        sqrt_s: collider energy in GeV.
        phase_space: an object with ``dim`` and ``forward(u) -> (point, log_weight)``,
            ``point`` having ``momenta``, ``x1``, ``x2``.
        pdf: parton densities (``xfxQ2_all``, ``pids``, ``alphasQ2``), or ``None``
            for lepton beams.
        alpha_s: running coupling ``alpha_s(q2)`` used when there is no PDF (lepton
            colliders); with a PDF its own ``alphasQ2`` is used.
        alpha_qed: fixed electromagnetic coupling written to events.
        scales: a :class:`ScaleSetup`.
        cuts: :class:`~mlgen.process.cuts.Cuts` on the final state.
        lepton_indices: indices of leptons, for the ``m_ll`` scale.
        name: a label.
        channels: ``(propagators, phase_space)`` per channel of the multi-channel
            sampler (:mod:`mlgen.process.channels`); may be empty.
        channel_prior: the prior channel weights (:mod:`mlgen.process.priors`); ``None``: those of
            the channels' propagators.
    """

    def __init__(
        self,
        *,
        matrix_element: MatrixElement,
        beams: tuple[int, int],
        sqrt_s: float,
        phase_space: object,
        pdf: object | None,
        alpha_s: Callable[[Tensor], Tensor] | None,
        alpha_qed: float,
        scales: ScaleSetup,
        cuts: Cuts,
        lepton_indices: tuple[int, ...] = (),
        name: str = "",
        channels: tuple[tuple[tuple[Any, ...], Any], ...] = (),
        channel_prior: ChannelPrior | None = None,
    ) -> None:
        self.matrix_element = matrix_element
        self.beams = beams
        self.sqrt_s = float(sqrt_s)
        self.phase_space = phase_space
        self.pdf = pdf
        self.alpha_qed = float(alpha_qed)
        self.scales = scales
        self.cuts = cuts
        self.lepton_indices = lepton_indices
        self.name = name or matrix_element.name
        self.channels = channels
        self.channel_prior = channel_prior
        incoming = [(sub.pdg[0], sub.pdg[1]) for sub in matrix_element.subprocesses]
        self.luminosity = Luminosity(beams, incoming, pdf)
        if pdf is not None:
            self._alpha_s = pdf.alphasQ2  # type: ignore[attr-defined]
        elif alpha_s is not None:
            self._alpha_s = alpha_s
        else:
            raise ValueError("a process needs alpha_s from its PDF or given explicitly")
        self.alpha_s_power = _alpha_s_power(matrix_element, phase_space)

    @property
    def dim(self) -> int:
        """Number of unit-hypercube dimensions of the integrand."""
        return int(self.phase_space.dim)  # type: ignore[attr-defined]

    def __call__(self, u: Tensor) -> Tensor:
        """``(B,)`` integrand in pb at ``(B, dim)`` float64 points."""
        return self.evaluate(u, variations=False).weight

    def _scales(self, p: Tensor) -> tuple[Tensor, Tensor]:
        s = self.scales

        def choice(name: str) -> Tensor:
            return scale(name, p, lepton_indices=self.lepton_indices, fixed=s.value, top_mass=s.top_mass)

        return s.factor_r * choice(s.mu_r), s.factor_f * choice(s.mu_f)

    def evaluate(self, u: Tensor, *, variations: bool = True) -> Evaluation:
        """Evaluate the integrand and keep what the event record needs."""
        point, log_weight = self.phase_space.forward(u)  # type: ignore[attr-defined]
        return self.evaluate_point(point, log_weight, variations=variations)

    def evaluate_point(
        self, point: PhaseSpacePoint, log_weight: Tensor, *, variations: bool = True
    ) -> Evaluation:
        """The integrand at phase-space points already mapped (``log_weight``: the map's log
        Jacobian): the cuts, scales, PDFs and matrix element of :meth:`evaluate`, for points of any
        map (a multi-channel process evaluates all its channels' points in one call)."""
        p, x1, x2 = point.momenta, point.x1, point.x2
        passed = self.cuts.passes(p) & torch.isfinite(log_weight)
        mu_r, mu_f = self._scales(p)
        alpha_s = self._alpha_s(mu_r * mu_r)
        me2 = self._matrix_element_inside(p, alpha_s, passed)
        shat = x1 * x2 * self.sqrt_s**2
        jac = torch.where(passed, torch.exp(log_weight), torch.zeros_like(log_weight))
        norm = jac * GEV2_TO_PB / (2.0 * shat)
        lum = self.luminosity(x1, x2, mu_f * mu_f)
        contributions = torch.nan_to_num(lum * me2 * norm[:, None], nan=0.0) * passed[:, None]
        weight = contributions.sum(1)
        result = Evaluation(weight, contributions, p, x1, x2, mu_r, mu_f, alpha_s, passed)
        if variations and self.scales.variations:
            result.variations = self._variations(result, me2, norm)
        return result

    def _matrix_element_inside(self, p: Tensor, alpha_s: Tensor, passed: Tensor) -> Tensor:
        """``(B, K)`` ``|M|^2`` computed only at the points inside the cuts (0 elsewhere), as
        MadEvent calls its matrix element only after ``passcuts``: for a generated matrix element
        with many diagrams the points the cuts remove cost nothing."""
        if bool(passed.all()):
            return self.matrix_element(p, alpha_s)
        me2 = torch.zeros(p.shape[0], len(self.matrix_element.subprocesses), dtype=p.dtype, device=p.device)
        idx = torch.nonzero(passed).squeeze(1)
        if idx.numel():
            me2[idx] = self.matrix_element(p[idx], alpha_s[idx]).to(me2.dtype)
        return me2

    def _variations(self, ev: Evaluation, me2: Tensor, norm: Tensor) -> Tensor:
        """Weights for the nine (mu_R, mu_F) factor pairs, at full cost of the PDFs only:
        the matrix element scales as alpha_s^n (n measured once at construction)."""
        lums = {kf: self.luminosity(ev.x1, ev.x2, (kf * ev.mu_f) ** 2) for kf in (1.0, 0.5, 2.0)}
        columns = []
        for kr, kf in SCALE_FACTORS:
            ratio = (self._alpha_s((kr * ev.mu_r) ** 2) / ev.alpha_s) ** self.alpha_s_power
            w = (lums[kf] * me2).sum(1) * norm * ratio
            columns.append(torch.nan_to_num(w, nan=0.0) * ev.passed)
        return torch.stack(columns, dim=1)


def _alpha_s_power(me: MatrixElement, phase_space: object) -> int:
    """The power ``n`` in ``|M|^2 ~ alpha_s^n``, measured at one phase-space point."""
    # a generic point: u = 0.5 everywhere can be exactly collinear by symmetry (|M|^2 = inf)
    dim = int(phase_space.dim)  # type: ignore[attr-defined]
    u = (0.2 + 0.6 * torch.frac(0.5 + 0.6180339887 * torch.arange(dim, dtype=torch.float64)))[None]
    point, _ = phase_space.forward(u)  # type: ignore[attr-defined]
    a = torch.full((1,), 0.1, dtype=torch.float64)
    m1 = me(point.momenta, a)
    m2 = me(point.momenta, 2 * a)
    ok = m1.abs() > 0
    if not bool(ok.any()):
        return 0
    power = float(torch.log2((m2[ok] / m1[ok]).abs()).mean())
    if abs(power - round(power)) > 1e-6:
        raise ValueError(f"{me.name}: |M|^2 is not a fixed power of alpha_s (measured {power})")
    return int(round(power))
