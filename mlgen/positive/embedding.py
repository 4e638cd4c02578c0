"""Events as points of a Euclidean space in which nearby means physically alike.

Cell resampling and the neural weight model need a distance between events.
Following cres (Andersen, Maier, arXiv:2109.07851), the final state is split
by particle type — coloured partons are clustered into anti-kT jets and form
one type, every other PDG id is a type of its own — and two events are
compared type by type, object by object, with

    d(p, q)^2 = sum over matched objects of  tau^2 (pT_p - pT_q)^2 + |p3_p - p3_q|^2.

Objects of one type are matched in order of falling pT (cres finds the optimal
matching, which is not a Euclidean embedding; ordering is what lets a KD-tree
search the space). An event with fewer objects of a type has zero vectors in
the missing slots, so an extra soft jet costs its (small) momentum: with jet
clustering first, the distance is infrared and collinear safe.
"""

from __future__ import annotations

__all__ = ["TAU", "embed_events", "network_features"]

import numpy as np
import torch

from mlgen.events import EventBatch
from mlgen.physics.jets import anti_kt
from mlgen.physics.vectors import mass, pt, rapidity

#: Default pT weight. cres defaults to 0; on Drell-Yan above the Z (3 * 10^5 signed events, cells
#: unbounded) tau = 0, 1, 3 leave the m_ll histogram moved by chi2/ndf = 2.4, 1.7, 0.74 (in units of
#: the input's errors): with pT weighted, neighbours are events of similar hardness, not just of
#: similar boost (pz differences dominate the plain distance). ``benchmarks/positive.py``.
TAU = 3.0


def _coloured(pdg: torch.Tensor) -> torch.Tensor:
    a = pdg.abs()
    return ((a >= 1) & (a <= 5)) | (a == 21)


def _objects(batch: EventBatch, jet_radius: float) -> torch.Tensor:
    """``(B, K, 4)`` the final-state objects, type by type in order of falling pT, zero where missing."""
    final = batch.status == 1
    p = batch.momenta
    jets, is_jet = anti_kt(p, final & _coloured(batch.pdg), jet_radius)
    objects = [(is_jet, jets)]
    others = final & ~_coloured(batch.pdg)
    for code in torch.unique(batch.pdg[others]).tolist():
        objects.append((others & (batch.pdg == code), p))
    blocks = []
    for mask, mom in objects:
        slots = int(mask.sum(1).max())
        if slots == 0:
            continue
        key = torch.where(mask, pt(mom), torch.full_like(mom[..., 0], -1.0))
        order = key.argsort(1, descending=True)[:, :slots]
        blocks.append(torch.take_along_dim(torch.where(mask[..., None], mom, 0.0), order[..., None], 1))
    if not blocks:
        raise ValueError("no final-state particles (status 1) to compare events by")
    return torch.cat(blocks, 1)


def embed_events(batch: EventBatch, *, tau: float = TAU, jet_radius: float = 0.4) -> np.ndarray:
    """``(B, D)`` float64 coordinates (GeV) whose Euclidean distance is the event distance above.

    Arguments:
        batch: the events (their final state: status 1).
        tau: weight of the pT difference (cres' ``--ptweight``; see :data:`TAU`).
        jet_radius: anti-kT radius for the coloured partons.
    """
    if tau < 0:
        raise ValueError(f"tau: expected a pT weight >= 0, got {tau}")
    objects = _objects(batch, jet_radius)
    block = objects[..., 1:]
    if tau > 0:
        block = torch.cat([tau * pt(objects)[..., None], block], -1)
    return block.reshape(len(batch), -1).cpu().numpy().astype(np.float64)


def network_features(batch: EventBatch, *, jet_radius: float = 0.4) -> np.ndarray:
    """``(B, F)`` inputs for a network: the objects' momenta, and what a physicist would compute from them.

    Per object (as in :func:`embed_events`): ``(px, py, pz)``, ``log(1 + pT)`` and the rapidity (0
    where the object is missing); per pair of objects their invariant mass and rapidity
    difference (the decay angle, ``tanh(dy / 2) = cos theta*`` at small pT); the whole final
    state's mass, ``log(1 + pT)`` and rapidity. Networks learn ratios of cross sections far more
    easily from masses than from momentum components (a resonance is a function of one of them).
    """
    objects = _objects(batch, jet_radius)
    present = objects[..., 0] > 0
    columns = [objects[..., 1:].flatten(1)]
    columns.append(torch.log1p(pt(objects)))
    y = torch.where(present, rapidity(objects), 0.0)
    columns.append(y)
    k = objects.shape[1]
    i, j = torch.triu_indices(k, k, 1)
    both = present[:, i] & present[:, j]
    columns.append(torch.where(both, mass(objects[:, i] + objects[:, j]), 0.0))
    columns.append(torch.where(both, y[:, i] - y[:, j], 0.0))
    total = objects.sum(1)
    columns.append(torch.stack([mass(total), torch.log1p(pt(total)), rapidity(total)], 1))
    out = torch.cat(columns, 1).cpu().numpy().astype(np.float64)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
