"""Charged-current Drell-Yan ``q qbar' -> W+- -> l nu`` (massless fermions, fixed-width W).

Subprocesses, for ``charge = +1``: ``u d~, d~ u, u s~, s~ u, ..., c s~, s~ c`` — every
up-type (u, c) / down-type (d, s, b) pair with a non-zero CKM entry (with the
default identity CKM: ``u d~, d~ u, c s~, s~ c``), each followed by its beam-swapped
twin; final state ``l+, nu_l``. For ``charge = -1`` the charge conjugates
``d u~, u~ d, ...`` with ``l-, nu_l~``; ``charge = 0`` lists both. External order:
incoming (beam A first), then ``(l, nu)``.

With ``g^2 = e^2/s_W^2`` and ``D = s - m_W^2 + i m_W G_W``,

    |M|^2 = g^4 |V_ij|^2 u^2 / (12 |D|^2),  u = (p_f - p_fbar')^2,

where ``f`` is the incoming fermion (the up-type quark for W+) and ``fbar'`` the
outgoing antifermion (``l+`` for W+, ``nu~`` for W-): the ``(1 + cos theta)^2``
of V-A. Spin average ``1/4`` and colour average ``1/3`` are included.

References:
    R. K. Ellis, W. J. Stirling, B. R. Webber, *QCD and Collider Physics* (1996), ch. 9;
    D. Griffiths, *Introduction to Elementary Particles* (2008), sec. 10.2.
"""

from __future__ import annotations

__all__ = ["WLeptonNeutrino"]

import torch
from torch import Tensor

from mlgen.matrix.base import Resonance, Subprocess
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import mass2

_PAIRS = ((0, 2), (0, 3), (1, 2), (1, 3))  # (incoming index, outgoing index) of u-type invariants


class WLeptonNeutrino:
    """``q qbar' -> W -> l nu`` for one or both W charges.

    Arguments:
        charge: ``+1`` (W+), ``-1`` (W-) or ``0`` (both, W+ subprocesses first).
        lepton: charged lepton flavour (11, 13 or 15).
        parameters: SM parameters (default ``gmu``); the CKM matrix comes from them.

    Example:
        >>> [s.pdg for s in WLeptonNeutrino().subprocesses][:2]
        [(2, -1, -11, 12), (-1, 2, -11, 12)]
    """

    def __init__(self, *, charge: int = 1, lepton: int = 11, parameters: SMParameters | None = None) -> None:
        if charge not in (1, -1, 0):
            raise ValueError(f"charge: expected +1, -1 or 0, got {charge}")
        if lepton not in (11, 13, 15):
            raise ValueError(f"lepton: expected 11, 13 or 15, got {lepton}")
        self.parameters = parameters if parameters is not None else scheme("gmu")
        par = self.parameters
        self.name = "q q~' -> W -> l nu"
        subs, w_pdgs, ckm2, pair = [], [], [], []
        for sign in (1, -1) if charge == 0 else (charge,):
            for up in (2, 4):
                for down in (1, 3, 5):
                    v = par.vckm(up, down)
                    if v == 0.0:
                        continue
                    fermion, antifermion = (up, -down) if sign > 0 else (down, -up)
                    final = (-lepton, lepton + 1) if sign > 0 else (lepton, -(lepton + 1))
                    # the outgoing antifermion: l+ (index 2) for W+, nu~ (index 3) for W-
                    out = 2 if sign > 0 else 3
                    for a, b in ((fermion, antifermion), (antifermion, fermion)):
                        flow = ((1, 0), (0, 1)) if a > 0 else ((0, 1), (1, 0))
                        subs.append(Subprocess((a, b) + final, (flow + ((0, 0), (0, 0)),)))
                        w_pdgs.append(24 * sign)
                        ckm2.append(v * v)
                        pair.append(_PAIRS.index((0 if a > 0 else 1, out)))
        self.subprocesses = tuple(subs)
        self.masses = (0.0, 0.0, 0.0, 0.0)
        self.resonances = (Resonance(w_pdgs[0], (2, 3), pdg_by_subprocess=tuple(w_pdgs)),)
        self.propagators = (Propagator((2, 3), par.mw, par.ww, w_pdgs[0]),)
        self._ckm2 = ckm2
        self._pair = pair

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, K)`` spin- and colour-averaged ``|M|^2`` at ``(B, 4, 4)`` momenta; ``alpha_s`` unused."""
        par = self.parameters
        s = mass2(p[:, 0] + p[:, 1])
        u_all = torch.stack([mass2(p[:, a] - p[:, b]) for a, b in _PAIRS], dim=1)
        u = u_all[:, torch.tensor(self._pair, device=p.device)]
        ckm2 = torch.tensor(self._ckm2, dtype=p.dtype, device=p.device)
        bw = 1.0 / ((s - par.mw**2) ** 2 + (par.mw * par.ww) ** 2)
        return par.gw2**2 * ckm2 * u * u * bw[:, None] / 12.0

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """One colour flow per subprocess."""
        return None
