"""Propagators: the s-channel propagator record (for phase-space channels), the fixed-width
Breit-Wigner, and the fermion couplings of s-channel gamma/Z exchange.

Convention: the Z couples to a fermion ``f`` as ``-i e gamma^mu (g_L P_L + g_R P_R)``
with ``g_L = (T3 - Q s_W^2)/(s_W c_W)`` and ``g_R = -Q s_W^2/(s_W c_W)``; the
photon as ``-i e Q gamma^mu``. The vector and axial couplings of the usual
``(v, a) = (T3 - 2 Q s_W^2, T3)`` normalisation are ``g_{L,R} = (v +- a)/(2 s_W c_W)``.

References:
    M. E. Peskin, D. V. Schroeder, *An Introduction to QFT* (1995), sec. 20.2;
    PDG, "Electroweak model and constraints on new physics" (Review of Particle Physics), sec. 10.2.
"""

from __future__ import annotations

__all__ = ["Propagator", "breit_wigner", "charge", "isospin", "z_chiral_couplings", "z_vector_axial"]

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Propagator:
    """An s-channel propagator, for multi-channel phase-space maps and single-diagram enhancement.

    Attributes:
        daughters: indices (0-based, into the external particles) of the decay products.
        mass: pole mass in GeV (0 for a massless propagator, e.g. a photon or gluon).
        width: width in GeV.
        pdg: PDG id, for labels.
    """

    daughters: tuple[int, ...]
    mass: float
    width: float
    pdg: int = 0


_CHARGE = {
    1: -1 / 3,
    2: 2 / 3,
    3: -1 / 3,
    4: 2 / 3,
    5: -1 / 3,
    6: 2 / 3,
    11: -1.0,
    12: 0.0,
    13: -1.0,
    14: 0.0,
    15: -1.0,
    16: 0.0,
}
_ISOSPIN = {
    1: -0.5,
    2: 0.5,
    3: -0.5,
    4: 0.5,
    5: -0.5,
    6: 0.5,
    11: -0.5,
    12: 0.5,
    13: -0.5,
    14: 0.5,
    15: -0.5,
    16: 0.5,
}


def charge(pdg: int) -> float:
    """Electric charge (units of e) of the *fermion* ``|pdg|`` (antiparticle sign ignored)."""
    try:
        return _CHARGE[abs(pdg)]
    except KeyError:
        raise ValueError(f"PDG id {pdg} is not an SM fermion") from None


def isospin(pdg: int) -> float:
    """Third component of weak isospin of the left-handed fermion ``|pdg|``."""
    try:
        return _ISOSPIN[abs(pdg)]
    except KeyError:
        raise ValueError(f"PDG id {pdg} is not an SM fermion") from None


def z_vector_axial(pdg: int, sw2: float) -> tuple[float, float]:
    """``(v, a) = (T3 - 2 Q s_W^2, T3)`` of fermion ``|pdg|``."""
    t3 = isospin(pdg)
    return t3 - 2.0 * charge(pdg) * sw2, t3


def z_chiral_couplings(pdg: int, sw2: float) -> tuple[float, float]:
    """``(g_L, g_R)`` of fermion ``|pdg|`` to the Z in units of ``e`` (see module docstring)."""
    swcw = math.sqrt(sw2 * (1.0 - sw2))
    q, t3 = charge(pdg), isospin(pdg)
    return (t3 - q * sw2) / swcw, -q * sw2 / swcw


def breit_wigner(s: Tensor, mass: float, width: float) -> Tensor:
    """Fixed-width propagator ``1/(s - M^2 + i M Gamma)``.

    Arguments:
        s: ``(...)`` invariant mass squared in GeV^2 (real).
        mass, width: pole mass and width in GeV (``0, 0`` gives the massless ``1/s``).

    Returns:
        ``(...)`` complex tensor (complex128 for float64 input) in GeV^-2.
    """
    return 1.0 / torch.complex(s - mass * mass, torch.full_like(s, mass * width))
