"""Top-pair production at leading order: ``g g -> t t~`` and ``q q~ -> t t~``.

Subprocess order: ``g g``, then ``d d~, d~ d, u u~, u~ u, s s~, s~ s, c c~, c~ c, b b~, b~ b``;
external order ``(a, b, t, t~)``. With ``m`` the top mass, ``t1 = (p_a - p_t)^2 - m^2``,
``u1 = (p_b - p_t)^2 - m^2`` (so ``s + t1 + u1 = 0``) and ``g^2 = 4 pi alpha_s``:

``g g -> t t~`` from its colour decomposition
``M = g^2 [(T^a T^b)_{ij} A_12 + (T^b T^a)_{ij} A_21]``, with helicity sums
``|A_12|^2 = 8 F u1/(t1 s^2)``, ``|A_21|^2 = 8 F t1/(u1 s^2)``,
``|A_12 + A_21|^2 = 8 F/(t1 u1)``, ``F = t1^2 + u1^2 + 4 m^2 s - 4 m^4 s^2/(t1 u1)``:

    |M|^2 = g^4/256 [C_1 (|A_12|^2 + |A_21|^2) + C_2 2 Re(A_12 A_21^*)],
    C_1 = (N^2 - 1)^2/(4N) = 16/3,  C_2 = -(N^2 - 1)/(4N) = -2/3.

The two leading-colour flows (the top's colour from gluon a, or from gluon b)
are weighted by ``|A_12|^2`` and ``|A_21|^2``; the abelian remainder is
subleading in colour. ``q q~ -> t t~``: ``|M|^2 = g^4 (4/9)(t1^2 + u1^2 + 2 m^2 s)/s^2``,
one flow. Both are spin- and colour-averaged.

References:
    B. L. Combridge, Nucl. Phys. B151 (1979) 429; M. Glück, J. F. Owens, E. Reya,
    Phys. Rev. D17 (1978) 2324; M. L. Mangano, S. J. Parke, Phys. Rept. 200 (1991) 301
    (colour-ordered amplitudes); R. K. Ellis, W. J. Stirling, B. R. Webber,
    *QCD and Collider Physics* (1996), eq. (10.12).
"""

from __future__ import annotations

__all__ = [
    "TTbar",
    "flow_weights",
    "gg_to_ttbar",
    "production",
    "qq_to_ttbar",
    "strong_coupling4",
    "subprocess_flows",
]

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mlgen.matrix.base import Subprocess
from mlgen.matrix.neutral_current import check_quarks
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import mass2

QUARKS = (1, 2, 3, 4, 5)
C1, C2 = 16.0 / 3.0, -2.0 / 3.0


def gg_to_ttbar(s: Tensor, t1: Tensor, u1: Tensor, m2: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
    """``g g -> t t~`` divided by ``g^4``: ``(|M|^2 / g^4, |A_12|^2, |A_21|^2)``, each ``(...)``.

    ``|M|^2`` is spin- and colour-averaged (1/256); the partial amplitudes squared
    (GeV^0) are the leading-colour flow weights (flow 12: top colour from gluon a).
    """
    f = t1 * t1 + u1 * u1 + 4.0 * m2 * s - 4.0 * m2 * m2 * s * s / (t1 * u1)
    a12 = 8.0 * f * u1 / (t1 * s * s)
    a21 = 8.0 * f * t1 / (u1 * s * s)
    abelian = 8.0 * f / (t1 * u1)
    me2 = (C1 * (a12 + a21) + C2 * (abelian - a12 - a21)) / 256.0
    return me2, a12, a21


def qq_to_ttbar(s: Tensor, t1: Tensor, u1: Tensor, m2: Tensor | float) -> Tensor:
    """``q q~ -> t t~`` spin- and colour-averaged ``|M|^2 / g^4``, shape ``(...)``."""
    return (4.0 / 9.0) * (t1 * t1 + u1 * u1 + 2.0 * m2 * s) / (s * s)


def production(
    p_a: Tensor, p_b: Tensor, p_t: Tensor, m2: Tensor | float, n_quark_columns: int
) -> tuple[Tensor, Tensor, Tensor]:
    """``(|M|^2 / g^4 (B, 1 + n), w_12 (B,), w_21 (B,))`` for gg then ``n`` quark columns."""
    s = mass2(p_a + p_b)
    t1 = mass2(p_a - p_t) - m2
    u1 = mass2(p_b - p_t) - m2
    gg, a12, a21 = gg_to_ttbar(s, t1, u1, m2)
    qq = qq_to_ttbar(s, t1, u1, m2)
    return torch.cat([gg[:, None], qq[:, None].expand(-1, n_quark_columns)], dim=1), a12, a21


def subprocess_flows(
    final: tuple[int, ...], decay_flow: tuple[tuple[int, int], ...], quarks: tuple[int, ...]
) -> list[tuple[tuple[int, ...], tuple[tuple[tuple[int, int], ...], ...]]]:
    """``(incoming + final pdg, flows)`` for gg and each ``q q~``/``q~ q``; the top's colour
    is tag 1 and the antitop's anticolour tag 3 (gg) or 2 (q q~); ``decay_flow`` is
    appended unchanged (tags >= 4)."""

    def top(a: int) -> tuple[tuple[int, int], ...]:
        return ((1, 0), (0, a)) if not decay_flow else ((1, 0),) + decay_flow[:2] + ((0, a),) + decay_flow[2:]

    out: list[tuple[tuple[int, ...], tuple[tuple[tuple[int, int], ...], ...]]] = [
        ((21, 21) + final, (((1, 2), (2, 3)) + top(3), ((2, 3), (1, 2)) + top(3)))
    ]
    for q in quarks:
        out.append(((q, -q) + final, (((1, 0), (0, 2)) + top(2),)))
        out.append(((-q, q) + final, (((0, 2), (1, 0)) + top(2),)))
    return out


class TTbar:
    """``p p -> t t~`` at LO: ``g g`` and ``q q~``/``q~ q`` for d u s c b.

    Arguments:
        parameters: SM parameters (top mass ``mt``, default ``alpha_s_mz``); default ``gmu``.
        quarks: quark flavours of the ``q q~`` channels.

    Example:
        >>> me = TTbar()
        >>> me.subprocesses[0].pdg, len(me.subprocesses)
        ((21, 21, 6, -6), 11)
    """

    def __init__(self, *, parameters: SMParameters | None = None, quarks: Sequence[int] = QUARKS) -> None:
        quarks = check_quarks(quarks)
        self.parameters = parameters if parameters is not None else scheme("gmu")
        self.name = "p p -> t t~"
        mt = self.parameters.mt
        self.subprocesses = tuple(
            Subprocess(pdg, flows) for pdg, flows in subprocess_flows((6, -6), (), quarks)
        )
        self.masses = (0.0, 0.0, mt, mt)
        self.resonances = ()
        self.propagators = ()
        self._n_quark = 2 * len(quarks)

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, K)`` averaged ``|M|^2`` at ``(B, 4, 4)`` momenta; ``alpha_s`` ``(B,)`` or ``None``
        (the scheme's ``alpha_s(m_Z)``)."""
        me, _, _ = production(p[:, 0], p[:, 1], p[:, 2], self.parameters.mt**2, self._n_quark)
        return me * strong_coupling4(alpha_s, self.parameters, p)[:, None]

    def colour_weights(self, p: Tensor) -> Tensor:
        """``(B, K, 2)``: gg gets ``(|A_12|^2, |A_21|^2)``, quark channels ``(1, 0)``."""
        _, a12, a21 = production(p[:, 0], p[:, 1], p[:, 2], self.parameters.mt**2, self._n_quark)
        return flow_weights(a12, a21, self._n_quark)


def strong_coupling4(alpha_s: Tensor | None, parameters: SMParameters, p: Tensor) -> Tensor:
    """``g_s^4 = (4 pi alpha_s)^2`` per event, ``(B,)``."""
    if alpha_s is None:
        alpha_s = torch.full(p.shape[:1], parameters.alpha_s_mz, dtype=p.dtype, device=p.device)
    return (4.0 * math.pi * alpha_s) ** 2


def flow_weights(a12: Tensor, a21: Tensor, n_quark: int) -> Tensor:
    """``(B, 1 + n_quark, 2)`` colour-flow weights: ``(|A_12|^2, |A_21|^2)`` for gg, ``(1, 0)`` for quarks."""
    gg = torch.stack([a12, a21], dim=-1)[:, None, :]
    quark = torch.zeros(a12.shape[0], n_quark, 2, dtype=a12.dtype, device=a12.device)
    quark[..., 0] = 1.0
    return torch.cat([gg, quark], dim=1)
