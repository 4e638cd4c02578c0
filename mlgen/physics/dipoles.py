"""Catani-Seymour final-state dipoles for a quark (or antiquark) emitting a gluon, in four dimensions.

For emitter ``i`` (the quark), emitted gluon ``j`` and spectator ``k``, all
massless and in the final state:

    y = p_i.p_j / (p_i.p_j + p_i.p_k + p_j.p_k),    z_i = p_i.p_k / (p_i.p_k + p_j.p_k),
    p~_ij = p_i + p_j - y / (1 - y) p_k,            p~_k = p_k / (1 - y),

which keeps ``p~_ij + p~_k = p_i + p_j + p_k`` and both mapped momenta massless,
and the dipole

    D_ij,k = 8 pi alpha_s C_F / (2 p_i.p_j) [2 / (1 - z_i (1 - y)) - (1 + z_i)] |M_Born(p~_ij, p~_k)|^2

for a Born with two coloured partons (``-T_k.T_ij / T_ij^2 = 1``). Summed over
the two dipoles it has the real emission's soft and collinear limits; its
integral over the emission, added to the virtual correction, is finite.

References:
    S. Catani, M. H. Seymour, Nucl. Phys. B485 (1997) 291, arXiv:hep-ph/9605323, sec. 5.1.
"""

from __future__ import annotations

__all__ = ["final_final_map", "quark_gluon_kernel"]

import math

from torch import Tensor

from mlgen.physics.vectors import dot

C_F = 4.0 / 3.0


def final_final_map(pi: Tensor, pj: Tensor, pk: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(p~_ij, p~_k, y, z_i)`` of the final-final dipole; momenta ``(..., 4)``, scalars ``(...)``."""
    pij, pik, pjk = dot(pi, pj), dot(pi, pk), dot(pj, pk)
    y = pij / (pij + pik + pjk)
    z = pik / (pik + pjk)
    ratio = (y / (1 - y))[..., None]
    return pi + pj - ratio * pk, pk / (1 - y)[..., None], y, z


def quark_gluon_kernel(pi: Tensor, pj: Tensor, y: Tensor, z: Tensor, alpha_s: float | Tensor) -> Tensor:
    """``8 pi alpha_s C_F / (2 p_i.p_j) [2 / (1 - z (1 - y)) - (1 + z)]``, GeV^-2; times the Born: ``D``."""
    return 8.0 * math.pi * alpha_s * C_F / (2.0 * dot(pi, pj)) * (2.0 / (1.0 - z * (1.0 - y)) - (1.0 + z))
