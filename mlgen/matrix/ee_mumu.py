"""``e- e+ -> mu- mu+`` through s-channel photon and Z (massless fermions, fixed-width Z).

External order: ``e-, e+, mu-, mu+`` (beam A is the electron).

References:
    M. E. Peskin, D. V. Schroeder, *An Introduction to QFT* (1995), sec. 5.1 (QED);
    PDG, Electroweak model review, sec. 10 (gamma/Z interference, A_FB).
"""

from __future__ import annotations

__all__ = ["EEMuMu"]

from collections.abc import Mapping

import torch
from torch import Tensor

from mlgen.matrix.base import Resonance, Subprocess
from mlgen.matrix.neutral_current import (
    ZPrime,
    as_zprime,
    check_mode,
    chiral_sum,
    couplings,
    neutral_current_amplitudes,
)
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import mass2


class EEMuMu:
    """``e- e+ -> gamma*/Z -> mu- mu+``.

    Arguments:
        mode: ``"full"``, ``"photon"``, ``"z"``, ``"zprime"`` or ``"interference"``
            (see :mod:`mlgen.matrix.neutral_current`).
        parameters: SM parameters (default: the ``gmu`` scheme).
        zprime: an optional :class:`~mlgen.matrix.neutral_current.ZPrime` (or a mapping of its fields).
        lepton: PDG id of the final-state lepton (13 or 15; 11 would need t-channel graphs).

    Example:
        >>> me = EEMuMu(mode="photon")
        >>> me.subprocesses[0].pdg
        (11, -11, 13, -13)
    """

    def __init__(
        self,
        *,
        mode: str = "full",
        parameters: SMParameters | None = None,
        zprime: ZPrime | Mapping[str, float] | None = None,
        lepton: int = 13,
    ) -> None:
        if lepton not in (13, 15):
            raise ValueError(
                f"lepton: expected 13 or 15 (Bhabha scattering is not s-channel only), got {lepton}"
            )
        self.parameters = parameters if parameters is not None else scheme("gmu")
        self.mode = check_mode(mode)
        self.zprime = zprime = as_zprime(zprime)
        if mode == "zprime" and zprime is None:
            raise ValueError("mode: 'zprime' needs a Z' (the zprime option)")
        self.name = f"e+e- -> gamma/Z -> l+l- ({mode})"
        self.subprocesses = (Subprocess((11, -11, lepton, -lepton), (((0, 0),) * 4,)),)
        self.masses = (0.0, 0.0, 0.0, 0.0)
        boson = 22 if mode == "photon" else 23
        self.resonances = (Resonance(boson, (2, 3)),)
        mz, wz = (0.0, 0.0) if mode == "photon" else (self.parameters.mz, self.parameters.wz)
        self.propagators = (Propagator((2, 3), mz, wz, boson),)
        self._f_in, self._f_out = (
            couplings([11], self.parameters, zprime),
            couplings([lepton], self.parameters, zprime),
        )

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, 1)`` spin-averaged ``|M|^2`` (dimensionless) at ``(B, 4, 4)`` momenta;
        ``alpha_s`` is unused."""
        f_in = torch.tensor(self._f_in, dtype=p.dtype, device=p.device)
        f_out = torch.tensor(self._f_out, dtype=p.dtype, device=p.device)
        s = mass2(p[:, 0] + p[:, 1])
        t = mass2(p[:, 0] - p[:, 2])[:, None]
        u = mass2(p[:, 0] - p[:, 3])[:, None]
        same, opposite = neutral_current_amplitudes(s, f_in, f_out, self.parameters, self.zprime, self.mode)
        return chiral_sum(t, u, same, opposite)

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """No colour: a single (empty) flow."""
        return None
