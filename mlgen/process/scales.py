"""Dynamical scale choices for mu_R and mu_F, on whole batches of momenta."""

from __future__ import annotations

__all__ = ["scale"]

from collections.abc import Sequence

import torch
from torch import Tensor

from mlgen.physics import vectors as v
from mlgen.physics.sm import GMU


def scale(
    choice: str,
    p: Tensor,
    *,
    lepton_indices: Sequence[int] = (),
    fixed: float = GMU.mz,
    top_mass: float = GMU.mt,
) -> Tensor:
    """A scale in GeV for each event.

    Arguments:
        choice: ``fixed`` (``fixed``), ``m_ll`` (invariant mass of the leptons,
            neutrinos included), ``m_final`` / ``sqrt_shat`` (mass of the whole
            final state, i.e. sqrt(s-hat)), ``ht`` (scalar sum of final-state pT),
            ``ht_half`` (half of it), ``mt_half`` (half the sum of transverse
            masses sqrt(m^2 + pT^2), MadGraph's ``dynamical_scale_choice = 3``),
            ``mt_sum`` (the whole sum, MadGraph's ``2``), ``et`` (sum of transverse
            energies E pT / |p|, MadGraph's ``1``), ``m_t`` (the top mass, fixed).
        p: ``(B, n, 4)`` momenta, incoming first (two of them).
        lepton_indices: indices of the leptons, for ``m_ll``.
        fixed: the value for ``fixed``, GeV.
        top_mass: the value for ``m_t``, GeV.

    Returns:
        ``(B,)`` float64 scale in GeV.
    """
    final = p[:, 2:]
    if choice == "fixed":
        return torch.full(p.shape[:1], fixed, dtype=p.dtype, device=p.device)
    if choice == "m_t":
        return torch.full(p.shape[:1], top_mass, dtype=p.dtype, device=p.device)
    if choice == "m_ll":
        if not lepton_indices:
            raise ValueError("scale choice 'm_ll' needs leptons in the final state")
        return v.mass(p[:, list(lepton_indices)].sum(1))
    if choice in ("m_final", "sqrt_shat"):
        return v.mass(final.sum(1))
    if choice == "ht":
        return v.pt(final).sum(1)
    if choice == "ht_half":
        return 0.5 * v.pt(final).sum(1)
    if choice in ("mt_half", "mt_sum"):
        mt = torch.sqrt(v.pt2(final) + v.mass2(final).clamp(min=0))
        return (0.5 if choice == "mt_half" else 1.0) * mt.sum(1)
    if choice == "et":
        momentum = torch.linalg.vector_norm(final[..., 1:], dim=-1)
        return (final[..., 0] * v.pt(final) / momentum.clamp(min=1e-300)).sum(1)
    raise ValueError(f"unknown scale choice {choice!r}")
