"""``q qbar -> gamma*/Z(/Z') -> l- l+`` for d, u, s, c, b (massless), both beam orderings.

Subprocess order: ``d d~, d~ d, u u~, u~ u, s s~, s~ s, c c~, c~ c, b b~, b~ b``
(each ``q qbar`` followed by its ``qbar q``); external order: incoming (beam A
first), then ``l-, l+``. Colour average ``1/3``; one colour flow,
``q (1, 0)``, ``qbar (0, 1)``.

References:
    S. D. Drell, T.-M. Yan, Phys. Rev. Lett. 25 (1970) 316;
    R. K. Ellis, W. J. Stirling, B. R. Webber, *QCD and Collider Physics* (1996), ch. 9.
"""

from __future__ import annotations

__all__ = ["QUARKS", "DrellYan"]

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from mlgen.matrix.base import Resonance, Subprocess
from mlgen.matrix.neutral_current import (
    ZPrime,
    as_zprime,
    check_mode,
    check_quarks,
    chiral_sum,
    couplings,
    neutral_current_amplitudes,
)
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import mass2

#: Light quarks in the subprocess order.
QUARKS = (1, 2, 3, 4, 5)


class DrellYan:
    """``q qbar -> gamma*/Z(/Z') -> l- l+`` (and ``qbar q``), with optional narrow Z'.

    Arguments:
        mode: ``"full"``, ``"photon"``, ``"z"``, ``"zprime"`` or ``"interference"``
            (see :mod:`mlgen.matrix.neutral_current`).
        lepton: PDG id of the lepton (11, 13 or 15).
        parameters: SM parameters (default: ``gmu``).
        zprime: an optional :class:`~mlgen.matrix.neutral_current.ZPrime` (or a mapping of its
            fields), interfering in full.
        quarks: which quark flavours to include (default d u s c b).

    Example:
        >>> [s.pdg[:2] for s in DrellYan().subprocesses][:3]
        [(1, -1), (-1, 1), (2, -2)]
    """

    def __init__(
        self,
        *,
        mode: str = "full",
        lepton: int = 11,
        parameters: SMParameters | None = None,
        zprime: ZPrime | Mapping[str, float] | None = None,
        quarks: Sequence[int] = QUARKS,
    ) -> None:
        quarks = check_quarks(quarks)
        if lepton not in (11, 13, 15):
            raise ValueError(f"lepton: expected 11, 13 or 15, got {lepton}")
        self.parameters = parameters if parameters is not None else scheme("gmu")
        self.mode = check_mode(mode)
        self.zprime = zprime = as_zprime(zprime)
        if mode == "zprime" and zprime is None:
            raise ValueError("mode: 'zprime' needs a Z' (the zprime option)")
        self.name = f"q q~ -> gamma/Z -> l+l- ({mode})"
        subs, pdgs, quark_first = [], [], []
        for q in quarks:
            for a, b in ((q, -q), (-q, q)):
                flow = ((1, 0), (0, 1)) if a > 0 else ((0, 1), (1, 0))
                subs.append(Subprocess((a, b, lepton, -lepton), (flow + ((0, 0), (0, 0)),)))
                pdgs.append(q)
                quark_first.append(a > 0)
        self.subprocesses = tuple(subs)
        self.masses = (0.0, 0.0, 0.0, 0.0)
        boson = 22 if mode == "photon" else 23
        self.resonances = (Resonance(boson, (2, 3)),)
        self.propagators: tuple[Propagator, ...]
        if mode == "zprime" and zprime is not None:
            self.propagators = (Propagator((2, 3), zprime.mass, zprime.width, 32),)
        elif mode == "photon":
            self.propagators = (Propagator((2, 3), 0.0, 0.0, 22),)
        elif mode == "z":
            self.propagators = (Propagator((2, 3), self.parameters.mz, self.parameters.wz, 23),)
        else:  # full or interference: every exchange is a channel, the Z first (it sets the default map)
            self.propagators = (
                Propagator((2, 3), self.parameters.mz, self.parameters.wz, 23),
                Propagator((2, 3), 0.0, 0.0, 22),
            ) + ((Propagator((2, 3), zprime.mass, zprime.width, 32),) if zprime is not None else ())
        self._f_in = couplings(pdgs, self.parameters, zprime)
        self._f_out = couplings([lepton], self.parameters, zprime)
        self._quark_first = quark_first

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, K)`` spin- and colour-averaged ``|M|^2`` at ``(B, 4, 4)`` momenta; ``alpha_s`` unused."""
        f_in = torch.tensor(self._f_in, dtype=p.dtype, device=p.device)
        f_out = torch.tensor(self._f_out, dtype=p.dtype, device=p.device)
        quark_first = torch.tensor(self._quark_first, device=p.device)
        s = mass2(p[:, 0] + p[:, 1])
        t_a = mass2(p[:, 0] - p[:, 2])[:, None]  # (p_A - p_l-)^2; for qbar q this is u
        u_a = mass2(p[:, 0] - p[:, 3])[:, None]
        t = torch.where(quark_first, t_a, u_a)
        u = torch.where(quark_first, u_a, t_a)
        same, opposite = neutral_current_amplitudes(s, f_in, f_out, self.parameters, self.zprime, self.mode)
        return chiral_sum(t, u, same, opposite) / 3.0

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """One colour flow per subprocess."""
        return None
