"""Helicity amplitudes of massless ``f fbar -> gamma*/Z(/Z') -> f' fbar'`` (shared core).

For massless fermions only the four chirality combinations ``(i, j)`` of the
incoming fermion ``f`` and the outgoing fermion ``f'`` survive, with reduced
amplitudes (``s = (p_f + p_fbar)^2``)

    A_ij = e^2 Q_f Q_f' / s + e^2 g^Z_i(f) g^Z_j(f') / (s - m_Z^2 + i m_Z G_Z)
           + g'_i(f) g'_j(f') / (s - m_Z'^2 + i m_Z' G_Z'),

and the spin-summed ``|M|^2 = 4 [u^2 (|A_LL|^2 + |A_RR|^2) + t^2 (|A_LR|^2 + |A_RL|^2)]``
with ``t = (p_f - p_f')^2``, ``u = (p_f - p_fbar')^2``. Z couplings are those of
:func:`mlgen.physics.propagators.z_chiral_couplings`; a Z' couples as
``-i gamma^mu (g_V - g_A gamma^5)``, i.e. ``g'_L = g_V + g_A``, ``g'_R = g_V - g_A``.

``mode`` picks what is squared: ``"full"`` (everything), ``"photon"``, ``"z"``,
``"zprime"`` (one exchange alone), or ``"interference"`` (``|sum|^2`` minus the
squares: all cross terms, which may be negative).

References:
    M. E. Peskin, D. V. Schroeder, *An Introduction to QFT* (1995), sec. 5.2
    (helicity structure of e+e- -> mu+mu-); PDG, Electroweak model review, sec. 10.
"""

from __future__ import annotations

__all__ = [
    "MODES",
    "ZPrime",
    "as_zprime",
    "check_mode",
    "check_quarks",
    "chiral_sum",
    "couplings",
    "neutral_current_amplitudes",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import torch
from torch import Tensor

from mlgen.physics.propagators import breit_wigner, charge, z_chiral_couplings
from mlgen.physics.sm import SMParameters

#: The values ``mode`` may take.
MODES = ("full", "photon", "z", "zprime", "interference")


@dataclass(frozen=True)
class ZPrime:
    """A narrow Z' with fixed width and flavour-universal vector/axial couplings (dimensionless).

    Attributes:
        mass, width: GeV.
        gv_q, ga_q: couplings to quarks; ``gv_l, ga_l`` to charged leptons.
    """

    mass: float
    width: float
    gv_q: float = 0.0
    ga_q: float = 0.0
    gv_l: float = 0.0
    ga_l: float = 0.0

    def chiral(self, pdg: int) -> tuple[float, float]:
        """``(g'_L, g'_R)`` of fermion ``pdg`` (quark if ``|pdg| <= 6``)."""
        gv, ga = (self.gv_q, self.ga_q) if abs(pdg) <= 6 else (self.gv_l, self.ga_l)
        return gv + ga, gv - ga


def as_zprime(value: ZPrime | Mapping[str, float] | None) -> ZPrime | None:
    """A :class:`ZPrime` from itself, ``None``, or a mapping of its fields (a run card's inline table)."""
    if value is None or isinstance(value, ZPrime):
        return value
    allowed = [f.name for f in fields(ZPrime)]
    unknown = sorted(set(value) - set(allowed))
    if unknown or "mass" not in value or "width" not in value:
        raise ValueError(
            f"zprime: expected keys mass, width and optionally gv_q, ga_q, gv_l, ga_l; got {sorted(value)}"
        )
    return ZPrime(**{k: float(v) for k, v in value.items()})


def check_quarks(quarks: Sequence[int]) -> tuple[int, ...]:
    """``quarks`` as a tuple if every entry is a light-quark PDG id 1..5, else a ``ValueError``."""
    quarks = tuple(int(q) for q in quarks)
    if not quarks or any(q not in (1, 2, 3, 4, 5) for q in quarks):
        raise ValueError(f"quarks: expected PDG ids among 1, 2, 3, 4, 5, got {list(quarks)}")
    return quarks


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`MODES`, else a ``ValueError`` naming the choices."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    return mode


def couplings(pdgs: list[int], parameters: SMParameters, zprime: ZPrime | None) -> list[list[float]]:
    """Per fermion: ``[e^2 Q, e^2 g^Z_L, e^2 g^Z_R, g'_L, g'_R]`` (photon and Z carry ``e``
    on both vertices, so one vertex carries ``e^2`` here and the other ``1``)."""
    rows = []
    for pdg in pdgs:
        gl, gr = z_chiral_couplings(pdg, parameters.sw2)
        zl, zr = zprime.chiral(pdg) if zprime is not None else (0.0, 0.0)
        rows.append([charge(pdg), gl, gr, zl, zr])
    return rows


def neutral_current_amplitudes(
    s: Tensor, f_in: Tensor, f_out: Tensor, parameters: SMParameters, zprime: ZPrime | None, mode: str
) -> tuple[Tensor, Tensor]:
    """``(|A_LL|^2 + |A_RR|^2, |A_LR|^2 + |A_RL|^2)`` in GeV^-4, shapes ``(B, K)``.

    Arguments:
        s: ``(B,)`` invariant mass squared of the exchanged boson in GeV^2.
        f_in, f_out: ``(K, 5)`` rows of :func:`couplings` for the incoming and outgoing fermion.
        parameters: masses, widths and ``alpha``.
        zprime: an optional Z'.
        mode: one of :data:`MODES`.
    """
    check_mode(mode)
    if mode == "zprime" and zprime is None:
        raise ValueError("mode: 'zprime' needs a Z' (the zprime option)")
    e2 = parameters.e2
    s = s[:, None]
    prop_a = (1.0 / s).to(torch.complex128)
    prop_z = breit_wigner(s, parameters.mz, parameters.wz)
    prop_zp = breit_wigner(s, zprime.mass, zprime.width) if zprime is not None else torch.zeros_like(prop_z)
    same: list[Tensor] = []
    opposite: list[Tensor] = []
    for i, j, out in ((1, 1, same), (2, 2, same), (1, 2, opposite), (2, 1, opposite)):
        parts = {
            "photon": e2 * f_in[:, 0] * f_out[:, 0] * prop_a,
            "z": e2 * f_in[:, i] * f_out[:, j] * prop_z,
            "zprime": f_in[:, i + 2] * f_out[:, j + 2] * prop_zp,
        }
        if mode == "full" or mode == "interference":
            total = (parts["photon"] + parts["z"] + parts["zprime"]).abs() ** 2
            if mode == "interference":
                total = total - sum(a.abs() ** 2 for a in parts.values())
        else:
            total = parts[mode].abs() ** 2
        out.append(total)
    return same[0] + same[1], opposite[0] + opposite[1]


def chiral_sum(t: Tensor, u: Tensor, same: Tensor, opposite: Tensor) -> Tensor:
    """Spin-averaged ``|M|^2 = u^2 (LL + RR) + t^2 (LR + RL)`` (the ``4 x 1/4`` of spin
    sum and average cancel); all ``(B, K)``."""
    return u * u * same + t * t * opposite
