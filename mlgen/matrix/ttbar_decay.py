"""``p p -> t t~ -> (b q q~')(b~ q~ q')``: six massless partons, narrow-width top and W decays.

External order: ``a, b`` (incoming), ``b, q, q~'`` (t decay, ``W+ -> q q~'``, ``q``
up-type), ``b~, q~, q'`` (t~ decay, ``W- -> q~ q'``). Subprocess order: initial
states as in :class:`~mlgen.matrix.ttbar.TTbar` (``g g``, then ``q q~``, ``q~ q``
for d u s c b), and within each the decay generations ``(W+, W-)`` =
``(u d~, u~ d), (u d~, c~ s), (c s~, u~ d), (c s~, c~ s)`` (``generations=2``) or
only the first (``generations=1``), so the event record carries the right flavours.

Factorised, spin correlations between production and decay neglected:

    |M|^2 = |M_prod|^2(p_a, p_b, p_t, p_t~) x D_t x D_t~,
    D_t  = 2 g^4 N_c |V_tb V_qq'|^2 (p_t.p_q~')(p_b.p_q) / (|P_t|^2 |P_W+|^2),
    D_t~ = 2 g^4 N_c |V_tb V_qq'|^2 (p_t~.p_q')(p_b~.p_q~) / (|P_t~|^2 |P_W-|^2),

with ``P_X = s_X - m_X^2 + i m_X G_X`` (fixed widths), ``g^2 = e^2/s_W^2``,
``p_t = p_b + p_q + p_q~'`` and ``D`` the top-spin-averaged decay ``|M|^2``
(colour: ``N_c`` from the W's quark loop). ``|M_prod|^2`` is that of
:mod:`mlgen.matrix.ttbar` at the reconstructed (off-shell) top momenta, with the
mass set to ``m^2 = (s_t + s_t~)/2`` so that ``s + t1 + u1 = 0`` holds exactly.
In the narrow-width limit, integrating over the decay phase spaces and
``ds_t/(2 pi) ds_t~/(2 pi)`` gives ``|M_prod|^2 x BR x BR`` with
``BR = G(t -> b q q~')/G_t``, ``G(t -> b q q~') = G(t -> b W) N_c g^2 m_W / (48 pi G_W)``
per generation. Bottom quarks are massless here.

References:
    R. Kleiss, W. J. Stirling, Z. Phys. C40 (1988) 419 (top decay matrix element);
    A. Butter, T. Plehn, R. Winterhalder, arXiv:1907.03764 (this process as a GAN benchmark);
    D. Griffiths, *Introduction to
    Elementary Particles* (2008), sec. 10.2 (muon-decay structure).
"""

from __future__ import annotations

__all__ = ["TTbarAllHadronic"]

from collections.abc import Sequence

import torch
from torch import Tensor

from mlgen.matrix.base import Resonance, Subprocess
from mlgen.matrix.neutral_current import check_quarks
from mlgen.matrix.ttbar import QUARKS, flow_weights, production, strong_coupling4, subprocess_flows
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import dot, mass2

_GENERATIONS = ((2, 1), (4, 3))  # (up, down) of W+ -> up down~


class TTbarAllHadronic:
    """``p p -> t t~ -> 6 partons`` at LO with narrow-width Breit-Wigner tops and Ws.

    Arguments:
        parameters: SM parameters (``mt, wt, mw, ww``, couplings, CKM); default ``gmu``.
        generations: light-quark generations in the W decays, 1 (u d) or 2 (u d and c s).
        quarks: quark flavours of the ``q q~`` production channels.

    Example:
        >>> me = TTbarAllHadronic()
        >>> me.subprocesses[0].pdg, len(me.subprocesses)
        ((21, 21, 5, 2, -1, -5, -2, 1), 44)
    """

    def __init__(
        self,
        *,
        parameters: SMParameters | None = None,
        generations: int = 2,
        quarks: Sequence[int] = QUARKS,
    ) -> None:
        quarks = check_quarks(quarks)
        if generations not in (1, 2):
            raise ValueError(f"generations: expected 1 or 2, got {generations}")
        self.parameters = par = parameters if parameters is not None else scheme("gmu")
        self.name = "p p -> t t~ -> b q q~' b~ q~ q'"
        decay_flow = ((4, 0), (0, 4), (0, 5), (5, 0))
        pairs = [(g_t, g_tb) for g_t in _GENERATIONS[:generations] for g_tb in _GENERATIONS[:generations]]
        subs, ckm = [], []
        for pdg, flows in subprocess_flows((), decay_flow, quarks):
            for (up, down), (up_b, down_b) in pairs:
                final = (5, up, -down, -5, -up_b, down_b)
                subs.append(Subprocess(pdg[:2] + final, flows))
                ckm.append((par.vckm(6, 5) ** 2) ** 2 * par.vckm(up, down) ** 2 * par.vckm(up_b, down_b) ** 2)
        self.subprocesses = tuple(subs)
        self.masses = (0.0,) * 8
        self.resonances = (
            Resonance(6, (2, 3, 4)),
            Resonance(-6, (5, 6, 7)),
            Resonance(24, (3, 4)),
            Resonance(-24, (6, 7)),
        )
        self.propagators = (
            Propagator((2, 3, 4), par.mt, par.wt, 6),
            Propagator((5, 6, 7), par.mt, par.wt, -6),
            Propagator((3, 4), par.mw, par.ww, 24),
            Propagator((6, 7), par.mw, par.ww, -24),
        )
        self._n_pairs = len(pairs)
        self._n_quark = 2 * len(quarks)
        self._ckm = ckm

    def _production(self, p: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        p_t = p[:, 2:5].sum(1)
        p_tb = p[:, 5:8].sum(1)
        m2 = 0.5 * (mass2(p_t) + mass2(p_tb))
        return production(p[:, 0], p[:, 1], p_t, m2, self._n_quark)

    def decay_factor(self, p_b: Tensor, p_f: Tensor, p_fbar: Tensor, top: bool) -> Tensor:
        """``D`` of the module docstring for one top (``top=True``: ``p_f = q``, ``p_fbar = q~'``)
        or antitop (``top=False``: ``p_fbar = q~``, ``p_f = q'``), without CKM factors; ``(B,)`` GeV^-4."""
        par = self.parameters
        p_t = p_b + p_f + p_fbar
        s_t, s_w = mass2(p_t), mass2(p_f + p_fbar)
        if top:
            spin = dot(p_t, p_fbar) * dot(p_b, p_f)
        else:
            spin = dot(p_t, p_f) * dot(p_b, p_fbar)
        bw_t = (s_t - par.mt**2) ** 2 + (par.mt * par.wt) ** 2
        bw_w = (s_w - par.mw**2) ** 2 + (par.mw * par.ww) ** 2
        return 2.0 * par.gw2**2 * 3.0 * spin / (bw_t * bw_w)

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, K)`` averaged ``|M|^2`` in GeV^-8 at ``(B, 8, 4)`` momenta; ``alpha_s`` ``(B,)``
        or ``None`` (the scheme's ``alpha_s(m_Z)``)."""
        prod, _, _ = self._production(p)
        decays = self.decay_factor(p[:, 2], p[:, 3], p[:, 4], True) * self.decay_factor(
            p[:, 5], p[:, 7], p[:, 6], False
        )
        ckm = torch.tensor(self._ckm, dtype=p.dtype, device=p.device)
        me = prod.repeat_interleave(self._n_pairs, dim=1) * ckm
        return me * (strong_coupling4(alpha_s, self.parameters, p) * decays)[:, None]

    def colour_weights(self, p: Tensor) -> Tensor:
        """``(B, K, 2)``: the production's leading-colour flow weights
        (see :class:`~mlgen.matrix.ttbar.TTbar`)."""
        _, a12, a21 = self._production(p)
        return flow_weights(a12, a21, self._n_quark).repeat_interleave(self._n_pairs, dim=1)
