"""``e- e+ -> gamma*/Z -> q q~ g``: three massless partons at O(alpha_s).

External order ``e-, e+, q, q~, g``; subprocesses ``q = d, u, s, c, b`` in that
order. Colour flow ``q (1, 0)``, ``q~ (0, 2)``, ``g (2, 1)``.

With ``k1, k2`` the electron and positron, ``p1, p2, p3`` the quark, antiquark
and gluon, ``s = (k1 + k2)^2`` and the chiral amplitudes ``A_ij(s)`` of
:mod:`mlgen.matrix.neutral_current` (``i`` the electron's, ``j`` the quark's chirality),

    |M|^2 = 2 N_c C_F g_s^2 s / ((p1.p3)(p2.p3))
            x [((k1.p2)^2 + (k2.p1)^2)(|A_LL|^2 + |A_RR|^2) + ((k1.p1)^2 + (k2.p2)^2)(|A_LR|^2 + |A_RL|^2)],

spin-averaged. For two-body kinematics (``p3 -> 0``) the bracket is the Born's
``u^2, t^2`` structure; averaged over the event orientation it gives
``d sigma / dx1 dx2 = sigma_Born (C_F alpha_s / 2 pi) (x1^2 + x2^2)/((1 - x1)(1 - x2))``,
``x_i = 2 E_i / sqrt(s)``.

References:
    R. K. Ellis, D. A. Ross, A. E. Terrano, Nucl. Phys. B178 (1981) 421;
    R. K. Ellis, W. J. Stirling, B. R. Webber, *QCD and Collider Physics* (1996), ch. 3.
"""

from __future__ import annotations

__all__ = ["EEQQG"]

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mlgen.matrix.base import Resonance, Subprocess
from mlgen.matrix.neutral_current import check_mode, check_quarks, couplings, neutral_current_amplitudes
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import dot

QUARKS = (1, 2, 3, 4, 5)
N_C, C_F = 3.0, 4.0 / 3.0


class EEQQG:
    """``e- e+ -> q q~ g`` via photon and Z (``mode="full"``) or photon only (``mode="photon"``).

    Arguments:
        mode: ``"full"``, ``"photon"``, ``"z"`` or ``"interference"``.
        parameters: SM parameters (default ``gmu``).
        quarks: quark flavours, one subprocess each.

    Example:
        >>> EEQQG().subprocesses[1].pdg
        (11, -11, 2, -2, 21)
    """

    def __init__(
        self, *, mode: str = "full", parameters: SMParameters | None = None, quarks: Sequence[int] = QUARKS
    ) -> None:
        quarks = check_quarks(quarks)
        self.parameters = parameters if parameters is not None else scheme("gmu")
        self.mode = check_mode(mode)
        self.name = f"e+e- -> q q~ g ({mode})"
        flow = ((0, 0), (0, 0), (1, 0), (0, 2), (2, 1))
        self.subprocesses = tuple(Subprocess((11, -11, q, -q, 21), (flow,)) for q in quarks)
        self.masses = (0.0,) * 5
        boson = 22 if mode == "photon" else 23
        self.resonances = (Resonance(boson, (2, 3, 4)),)
        mz, wz = (0.0, 0.0) if mode == "photon" else (self.parameters.mz, self.parameters.wz)
        # the boson, then the two collinear regions: gluon along the quark, along the antiquark
        self.propagators = (
            Propagator((2, 3, 4), mz, wz, boson),
            Propagator((2, 4), 0.0, 0.0, 1),
            Propagator((3, 4), 0.0, 0.0, -1),
        )
        self._f_in = couplings([11], self.parameters, None)
        self._f_out = couplings(list(quarks), self.parameters, None)

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, K)`` spin- and colour-averaged ``|M|^2`` in GeV^-2 at ``(B, 5, 4)`` momenta;
        ``alpha_s`` ``(B,)`` or ``None`` (the scheme's ``alpha_s(m_Z)``)."""
        if alpha_s is None:
            alpha_s = torch.full(p.shape[:1], self.parameters.alpha_s_mz, dtype=p.dtype, device=p.device)
        k1, k2, p1, p2, p3 = p.unbind(1)
        s = 2.0 * dot(k1, k2)
        bracket = self._bracket(k1, k2, p1, p2)
        g2 = 4.0 * math.pi * alpha_s
        pre = 2.0 * N_C * C_F * g2 * s / (dot(p1, p3) * dot(p2, p3))
        return pre[:, None] * bracket

    def born(self, p: Tensor) -> Tensor:
        """``(B, K)`` the Born ``e- e+ -> q q~`` ``|M|^2`` (GeV^-2, spin-averaged, colour-summed) at
        ``(B, 4, 4)`` momenta, with this process's couplings: what the dipoles of
        :mod:`mlgen.physics.dipoles` multiply. Its normalisation is fixed by the soft limit,
        ``|M_R|^2 -> g_s^2 C_F 2 (p1.p2) / ((p1.p3)(p2.p3)) |M_B|^2``: ``2 N_c`` times the bracket."""
        return 2.0 * N_C * self._bracket(*p.unbind(1))

    def _bracket(self, k1: Tensor, k2: Tensor, p1: Tensor, p2: Tensor) -> Tensor:
        """``(B, K)``: ``((k1.p2)^2 + (k2.p1)^2)(|A_LL|^2 + |A_RR|^2)``
        ``+ ((k1.p1)^2 + (k2.p2)^2)(|A_LR|^2 + |A_RL|^2)``, shared by the real emission and the Born."""
        s = 2.0 * dot(k1, k2)
        f_in = torch.tensor(self._f_in, dtype=k1.dtype, device=k1.device)
        f_out = torch.tensor(self._f_out, dtype=k1.dtype, device=k1.device)
        same, opposite = neutral_current_amplitudes(s, f_in, f_out, self.parameters, None, self.mode)
        same_kin = dot(k1, p2) ** 2 + dot(k2, p1) ** 2
        opposite_kin = dot(k1, p1) ** 2 + dot(k2, p2) ** 2
        return same_kin[:, None] * same + opposite_kin[:, None] * opposite

    def born_total(self, s: float) -> Tensor:
        """``(K,)`` the Born cross section ``e- e+ -> q q~`` in GeV^-2 at ``s`` (GeV^2), in closed form:
        averaged over the orientation each bracket of :meth:`born` is ``s^2 / 6``, and
        ``dPhi_2 = 1 / (8 pi)``, so ``sigma_0 = N_c s (same + opposite) / (48 pi)``."""
        s_t = torch.tensor([s], dtype=torch.float64)
        f_in = torch.tensor(self._f_in, dtype=torch.float64)
        f_out = torch.tensor(self._f_out, dtype=torch.float64)
        same, opposite = neutral_current_amplitudes(s_t, f_in, f_out, self.parameters, None, self.mode)
        return (N_C * s * (same + opposite) / (48.0 * math.pi))[0]

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """One colour flow."""
        return None
