"""Batched anti-kT clustering of parton momenta (E recombination scheme).

For pseudojets ``i, j`` the distances are ``d_ij = min(pT_i^-2, pT_j^-2) dR_ij^2 / R^2``
and ``d_iB = pT_i^-2`` (rapidity-azimuth ``dR``). At every step each event takes
its smallest distance: a pair is merged (four-momenta added), a beam distance
makes the pseudojet a jet. Every event of a ``(B, n, 4)`` batch advances one
step at a time, so the loop runs ``<= 2 n`` times whatever ``B`` is.

References:
    M. Cacciari, G. P. Salam, G. Soyez, JHEP 04 (2008) 063, arXiv:0802.1189.
"""

from __future__ import annotations

__all__ = ["anti_kt"]

import torch
from torch import Tensor

from mlgen.physics.vectors import phi, pt2, rapidity


def anti_kt(p: Tensor, mask: Tensor, radius: float = 0.4) -> tuple[Tensor, Tensor]:
    """Cluster the masked momenta of each event into anti-kT jets.

    Arguments:
        p: ``(B, n, 4)`` float64 momenta ``(E, px, py, pz)`` in GeV.
        mask: ``(B, n)`` bool, the particles to cluster.
        radius: jet radius ``R``.

    Returns:
        ``(jets, is_jet)``: ``(B, n, 4)`` jet momenta in the slots of the
        particle they grew from, and the ``(B, n)`` bool mask of the slots holding a jet.

    Example:
        >>> p = torch.tensor([[[10.0, 10, 0, 0], [1.0, 1, 0.01, 0], [20.0, -20, 0, 0]]], dtype=torch.float64)
        >>> jets, is_jet = anti_kt(p, torch.ones(1, 3, dtype=torch.bool))
        >>> int(is_jet.sum()), float(jets[0, 0, 0])
        (2, 11.0)
    """
    if radius <= 0:
        raise ValueError(f"jet radius: expected R > 0, got {radius}")
    b, n = mask.shape
    jets = torch.where(mask[..., None], p, torch.zeros_like(p))
    active = mask.clone()
    is_jet = torch.zeros_like(mask)
    rows = torch.arange(b, device=p.device)
    inf = torch.tensor(float("inf"), dtype=p.dtype, device=p.device)
    pair = torch.ones(n, n, dtype=torch.bool, device=p.device).triu(1)
    while bool(active.any()):
        inv_kt2 = 1.0 / pt2(jets).clamp_min(1e-300)
        y, az = rapidity(jets), phi(jets)
        dphi = torch.remainder(az[:, :, None] - az[:, None, :] + torch.pi, 2 * torch.pi) - torch.pi
        dr2 = (y[:, :, None] - y[:, None, :]) ** 2 + dphi**2
        d_ij = torch.minimum(inv_kt2[:, :, None], inv_kt2[:, None, :]) * dr2 / radius**2
        both = active[:, :, None] & active[:, None, :] & pair
        d_ij = torch.where(both, d_ij, inf).reshape(b, n * n)
        d_ib = torch.where(active, inv_kt2, inf)
        best_pair, k = d_ij.min(1)
        best_beam, i_beam = d_ib.min(1)
        alive = active.any(1)
        merge = alive & (best_pair < best_beam)
        final = alive & ~merge
        # a beam distance: that pseudojet is a jet
        f_rows, f_i = rows[final], i_beam[final]
        is_jet[f_rows, f_i] = True
        active[f_rows, f_i] = False
        # a pair: add j into i, retire j
        m_rows, i, j = rows[merge], (k // n)[merge], (k % n)[merge]
        jets[m_rows, i] = jets[m_rows, i] + jets[m_rows, j]
        jets[m_rows, j] = 0.0
        active[m_rows, j] = False
    return torch.where(is_jet[..., None], jets, torch.zeros_like(jets)), is_jet
