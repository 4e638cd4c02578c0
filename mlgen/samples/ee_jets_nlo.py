"""``e+ e- -> 2 jets`` at NLO as a signed-weight event sample, with its cross sections in closed form.

Three kinds of events, as an NLO generator with Catani-Seymour subtraction writes them:

* Born events ``q q~`` with the Born weight times ``1 + C_F alpha_s / pi``: the
  virtual correction plus the integrated dipoles, whose poles cancel and whose
  finite parts, ``(C_F alpha_s / 2 pi)(-8 + pi^2)`` and ``(C_F alpha_s / 2 pi)(10 - pi^2)``
  with ``mu^2 = s``, add to ``C_F alpha_s / pi``;
* real-emission events ``q q~ g`` with the weight of ``|M_R|^2``;
* for each real event, two counter-events ``q q~`` at the dipoles' mapped
  momenta with weights ``-D`` (:mod:`mlgen.physics.dipoles`) — the negative weights.

Closed forms: ``sigma_NLO = sigma_0 (1 + alpha_s / pi)`` and the real-minus-dipole
part ``int (R - D) = -C_F alpha_s / (4 pi) sigma_0``: in the Dalitz variables the
integrand is ``sigma_0 (C_F alpha_s / 2 pi)`` times
``(x1^2 + x2^2)/((1-x1)(1-x2)) - sum_dipoles [2/x3 - 1 - z]/(1 - x_spectator)``, which
integrates to ``-1/2``. Consistency: ``1 + C_F/pi - C_F/(4 pi) = 1 + 1/pi`` in units of
``alpha_s sigma_0``.

The emission is sampled flat in ``log(1 - x1)`` and ``log(1 - x2)`` above a
technical cut ``1 - x_i > cut`` (the neglected region is ``O(cut log^2 cut)``), the
orientation uniformly; the quark is one flavour (``quark``), through photon and Z.

References:
    S. Catani, M. H. Seymour, Nucl. Phys. B485 (1997) 291, arXiv:hep-ph/9605323 (sec. 10.1: e+e- -> 2 jets);
    R. K. Ellis, W. J. Stirling, B. R. Webber, *QCD and Collider Physics* (1996), sec. 3.4.
"""

from __future__ import annotations

__all__ = ["NLOSample", "ee_jets_nlo"]

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.matrix.ee_qqg import C_F, EEQQG
from mlgen.physics.dipoles import final_final_map, quark_gluon_kernel
from mlgen.physics.vectors import dot
from mlgen.process.process import GEV2_TO_PB


@dataclass(frozen=True)
class NLOSample:
    """The events (weights in pb per event, their mean the NLO cross section) and the exact numbers.

    Attributes:
        info: run information for an LHE file.
        events: Born, real and counter-events, shuffled.
        sigma_born_pb: the closed-form Born cross section.
        sigma_nlo_pb: ``sigma_0 (1 + alpha_s / pi)``.
        real_minus_dipole_pb: ``-C_F alpha_s sigma_0 / (4 pi)``.
        kind: ``(N,)`` 0 Born, 1 real, 2 counter-event.
        group: ``(N,)`` the phase-space point an event belongs to (a real event and its two
            counter-events share one; each Born event is its own).
        n_born, n_real: points drawn (real points outside the Dalitz triangle carry no event).
    """

    info: RunInfo
    events: EventBatch
    sigma_born_pb: float
    sigma_nlo_pb: float
    real_minus_dipole_pb: float
    kind: Tensor
    group: Tensor
    n_born: int
    n_real: int

    def estimate(self) -> dict[str, float]:
        """The sample's sigma and real-minus-dipole part (pb) with errors from point sums.

        The real event and its counter-events are correlated (they cancel), so the error
        comes from the sum of weights per phase-space point, not from events one by one.
        """
        n = len(self.events)
        w = self.events.weight.double() / n  # each event's share of the mean
        sums = torch.zeros(int(self.group.max()) + 1, dtype=torch.float64).index_add_(0, self.group, w)
        is_born = torch.zeros_like(sums, dtype=torch.bool)
        is_born[self.group[self.kind == 0]] = True
        born, real = sums[is_born] * self.n_born, sums[~is_born] * self.n_real
        real = torch.cat([real, torch.zeros(self.n_real - len(real), dtype=torch.float64)])
        born_mean, born_var = float(born.mean()), float(born.var()) / self.n_born
        rd_mean, rd_var = float(real.mean()), float(real.var()) / self.n_real
        return {
            "sigma_pb": born_mean + rd_mean,
            "error_pb": math.sqrt(born_var + rd_var),
            "real_minus_dipole_pb": rd_mean,
            "real_minus_dipole_error_pb": math.sqrt(rd_var),
        }


def _rotate(p: Tensor, gen: torch.Generator) -> Tensor:
    """Rotate ``(B, m, 4)`` momenta by one uniformly random rotation per event."""
    q = torch.randn(p.shape[0], 4, generator=gen, dtype=p.dtype)
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(1)
    rot = torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            torch.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            torch.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        1,
    )
    space = torch.einsum("bij,bmj->bmi", rot, p[..., 1:])
    return torch.cat([p[..., :1], space], -1)


def _record(
    beams: Tensor, partons: Tensor, quark: int, weight: Tensor, scale: Tensor, alpha_s: float
) -> EventBatch:
    """Events ``e- e+ -> q q~ (g)`` from ``(B, 2|3, 4)`` parton momenta; always 5 slots (padding for Born)."""
    n, m = partons.shape[:2]
    mom = torch.zeros(n, 5, 4, dtype=torch.float64)
    mom[:, :2] = beams
    mom[:, 2 : 2 + m] = partons
    pdg = torch.tensor([11, -11, quark, -quark, 21 if m == 3 else 0]).repeat(n, 1)
    status = torch.tensor([-1, -1, 1, 1, 1 if m == 3 else 0]).repeat(n, 1)
    mothers = torch.tensor([[0, 0], [0, 0], [1, 2], [1, 2], [1, 2] if m == 3 else [0, 0]]).repeat(n, 1, 1)
    if m == 3:
        colors = torch.tensor([[0, 0], [0, 0], [501, 0], [0, 502], [502, 501]]).repeat(n, 1, 1)
    else:
        colors = torch.tensor([[0, 0], [0, 0], [501, 0], [0, 501], [0, 0]]).repeat(n, 1, 1)
    zero = torch.zeros(n, dtype=torch.float64)
    return EventBatch(
        momenta=mom,
        pdg=pdg,
        status=status,
        mothers=mothers,
        colors=colors,
        masses=torch.zeros(n, 5, dtype=torch.float64),
        weight=weight,
        scale=scale,
        alpha_qed=zero + 1 / 132.507,
        alpha_s=zero + alpha_s,
        process_id=torch.ones(n, dtype=torch.long),
    )


def ee_jets_nlo(
    n_born: int,
    n_real: int,
    *,
    sqrt_s: float = 91.188,
    alpha_s: float = 0.118,
    quark: int = 2,
    mode: str = "full",
    cut: float = 1e-8,
    seed: int = 1,
) -> NLOSample:
    """``n_born`` Born events and ``n_real`` real-emission points (each with two counter-events).

    Arguments:
        sqrt_s: collision energy in GeV (the renormalisation scale too).
        alpha_s: fixed strong coupling.
        quark: PDG id of the quark flavour (1-5).
        mode: ``full`` (photon and Z) or ``photon``.
        cut: technical cut on ``1 - x1`` and ``1 - x2``.
        seed: randomness.
    """
    if n_born < 1 or n_real < 1:
        raise ValueError(f"n_born, n_real: expected at least one event each, got {n_born}, {n_real}")
    if not 0 < cut < 0.1:
        raise ValueError(f"cut: expected 0 < cut < 0.1, got {cut}")
    me = EEQQG(mode=mode, quarks=[quark])
    gen = torch.Generator().manual_seed(seed)
    s = sqrt_s**2
    e = sqrt_s / 2
    sigma0 = float(me.born_total(s)[0]) * GEV2_TO_PB

    def beams(n: int) -> Tensor:
        return torch.tensor([[e, 0, 0, e], [e, 0, 0, -e]], dtype=torch.float64).expand(n, 2, 4)

    # Born (+ virtual + integrated dipoles): flat in the orientation, dPhi_2 = 1 / (8 pi)
    born_p = torch.tensor([[e, 0, 0, e], [e, 0, 0, -e]], dtype=torch.float64).repeat(n_born, 1, 1)
    born_p = _rotate(born_p, gen)
    b = me.born(torch.cat([beams(n_born), born_p], 1))[:, 0]
    w_born = b / (2 * s) / (8 * math.pi) * (1 + C_F * alpha_s / math.pi) * GEV2_TO_PB

    # real emission: a = 1 - x1, b = 1 - x2 flat in log above the cut; a + b <= 1 (x3 <= 1)
    big_l = -math.log(cut)
    u = torch.rand(n_real, 2, generator=gen, dtype=torch.float64)
    ab = torch.exp(-big_l * u)
    inside = ab.sum(1) <= 1
    a, bb = ab[inside, 0], ab[inside, 1]
    x1, x2 = 1 - a, 1 - bb
    x3 = 2 - x1 - x2
    cos12 = 1 - 2 * (1 - x3) / (x1 * x2)
    sin12 = torch.sqrt((1 - cos12**2).clamp_min(0))
    zero = torch.zeros_like(x1)
    p1 = e * x1[:, None] * torch.stack([torch.ones_like(x1), zero, zero, torch.ones_like(x1)], -1)
    p2 = e * x2[:, None] * torch.stack([torch.ones_like(x1), sin12, zero, cos12], -1)
    p3 = torch.cat([(e * x3)[:, None], -(p1[:, 1:] + p2[:, 1:])], -1)
    real_p = _rotate(torch.stack([p1, p2, p3], 1), gen)
    p1, p2, p3 = real_p.unbind(1)
    n_in = len(x1)
    k = beams(n_in)
    # dPhi_3 = s / (128 pi^3) dx1 dx2 (orientation averaged); 1 / q(a, b) = a b L^2
    phase = s / (128 * math.pi**3) * a * bb * big_l**2 / (2 * s) * GEV2_TO_PB
    alpha = torch.full((n_in,), alpha_s, dtype=torch.float64)
    w_real = me(torch.cat([k, real_p], 1), alpha)[:, 0] * phase
    # the two dipoles: gluon off the quark (spectator antiquark), off the antiquark (spectator quark)
    q13, q2, y13, z13 = final_final_map(p1, p3, p2)
    q23, q1, y23, z23 = final_final_map(p2, p3, p1)
    born13 = me.born(torch.stack([k[:, 0], k[:, 1], q13, q2], 1))[:, 0]
    born23 = me.born(torch.stack([k[:, 0], k[:, 1], q1, q23], 1))[:, 0]
    w13 = -quark_gluon_kernel(p1, p3, y13, z13, alpha_s) * born13 * phase
    w23 = -quark_gluon_kernel(p2, p3, y23, z23, alpha_s) * born23 * phase

    # pb per event over the whole file: the Born mean and the real-minus-dipole mean add
    n_total = n_born + 3 * n_in
    kt = torch.sqrt(2 * torch.minimum(dot(p1, p3), dot(p2, p3)))
    parts = [
        _record(
            beams(n_born), born_p, quark, w_born * n_total / n_born, torch.full((n_born,), sqrt_s), alpha_s
        ),
        _record(k, real_p, quark, w_real * n_total / n_real, kt, alpha_s),
        _record(k, torch.stack([q13, q2], 1), quark, w13 * n_total / n_real, kt, alpha_s),
        _record(k, torch.stack([q1, q23], 1), quark, w23 * n_total / n_real, kt, alpha_s),
    ]
    kind = torch.cat([torch.zeros(n_born), torch.ones(n_in), torch.full((2 * n_in,), 2.0)]).long()
    point = torch.arange(n_in) + n_born
    group = torch.cat([torch.arange(n_born), point, point, point])
    events = EventBatch.concat(parts)
    order = torch.randperm(len(events), generator=gen)
    events, kind, group = events[order], kind[order], group[order]
    sigma_nlo = sigma0 * (1 + alpha_s / math.pi)
    info = RunInfo(
        beam_ids=(11, -11),
        beam_energies=(e, e),
        weight_strategy=-4,
        processes=(ProcessLine(float(events.weight.mean()), 0.0, float(events.weight.abs().max()), 1),),
        generator=("mlgen ee_jets_nlo", ""),
        header=f"<!-- e+e- -> 2 jets at NLO (CS dipoles): sigma_0 = {sigma0:.10g} pb, "
        f"sigma_NLO = {sigma_nlo:.10g} pb exactly -->",
    )
    return NLOSample(
        info=info,
        events=events,
        sigma_born_pb=sigma0,
        sigma_nlo_pb=sigma_nlo,
        real_minus_dipole_pb=-C_F * alpha_s * sigma0 / (4 * math.pi),
        kind=kind,
        group=group,
        n_born=n_born,
        n_real=n_real,
    )
