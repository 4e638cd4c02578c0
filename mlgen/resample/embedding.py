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

__all__ = ["TAU", "embed_events", "network_features", "object_layout"]

import numpy as np
import torch

from mlgen.events import EventBatch
from mlgen.physics.jets import anti_kt
from mlgen.physics.vectors import mass, pt, rapidity

#: Default pT weight. cres defaults to 0; on Drell-Yan above the Z (signed events, cells unbounded)
#: the m_ll histogram moves by chi2/ndf (in units of the input's errors) 2.4, 1.7, 0.74 for tau = 0, 1,
#: 3 at 3 * 10^5 events, and 0.40, 0.74, 1.22 for tau = 3 against 0.16, 0.43, 0.69 for tau = 10 at
#: 10^5, 3 * 10^5, 10^6: with pT weighted, neighbours are events of similar hardness, not just of
#: similar boost (pz differences dominate the plain distance). ``benchmarks/positive.py --tau``.
TAU = 10.0


def _coloured(pdg: torch.Tensor) -> torch.Tensor:
    a = pdg.abs()
    return ((a >= 1) & (a <= 5)) | (a == 21)


Layout = tuple[tuple[int, int], ...]


def _types(batch: EventBatch, jet_radius: float) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """The jets' momenta, and the mask of each object type: code 0 the jets, then the other PDG ids."""
    final = batch.status == 1
    jets, is_jet = anti_kt(batch.momenta, final & _coloured(batch.pdg), jet_radius)
    others = final & ~_coloured(batch.pdg)
    codes = torch.unique(batch.pdg[others]).tolist()
    return jets, {0: is_jet} | {int(code): others & (batch.pdg == code) for code in codes}


def _layout(masks: dict[int, torch.Tensor]) -> Layout:
    return tuple((code, int(mask.sum(1).max())) for code, mask in masks.items() if mask.any())


def object_layout(*batches: EventBatch, jet_radius: float = 0.4) -> Layout:
    """The final state's object types and the most objects of each in one event, over all ``batches``:
    ``((code, slots), ...)``, code 0 for the jets, then the other PDG ids in increasing order (the
    order of the features)."""
    slots: dict[int, int] = {}
    for batch in batches:
        for code, n in _layout(_types(batch, jet_radius)[1]):
            slots[code] = max(n, slots.get(code, 0))
    return tuple((code, slots[code]) for code in sorted(slots, key=lambda c: (c != 0, c)))


def _objects(batch: EventBatch, jet_radius: float, layout: Layout | None = None) -> torch.Tensor:
    """``(B, K, 4)`` the final-state objects, type by type in order of falling pT, zero where missing.

    ``layout`` (:func:`object_layout` of another sample) fixes the types and slots, so that two samples'
    features line up: a type the batch lacks is zeros, objects beyond a type's slots are dropped.
    """
    jets, masks = _types(batch, jet_radius)
    blocks = []
    for code, slots in _layout(masks) if layout is None else layout:
        mask = masks.get(code, torch.zeros_like(batch.status, dtype=torch.bool))
        mom = jets if code == 0 else batch.momenta
        key = torch.where(mask, pt(mom), torch.full_like(mom[..., 0], -1.0))
        order = key.argsort(1, descending=True)[:, :slots]
        block = torch.take_along_dim(torch.where(mask[..., None], mom, 0.0), order[..., None], 1)
        if block.shape[1] < slots:  # fewer particle slots in this batch than the layout has objects
            block = torch.cat([block, block.new_zeros(len(block), slots - block.shape[1], 4)], 1)
        blocks.append(block)
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


def network_features(
    batch: EventBatch, *, jet_radius: float = 0.4, layout: Layout | None = None
) -> np.ndarray:
    """``(B, F)`` inputs for a network: the objects' momenta, and what a physicist would compute from them.

    Per object (as in :func:`embed_events`): ``(px, py, pz)``, ``log(1 + pT)`` and the rapidity (0
    where the object is missing); per pair of objects their invariant mass and rapidity
    difference (the decay angle, ``tanh(dy / 2) = cos theta*`` at small pT); the whole final
    state's mass, ``log(1 + pT)`` (0 where it balances to rounding) and rapidity. Networks learn
    ratios of cross sections far more easily from masses than from momentum components (a
    resonance is a function of one of them).
    ``layout`` (:func:`object_layout`) lines the columns up with another sample's.
    """
    objects = _objects(batch, jet_radius, layout)
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
    # a final state that balances the beams has pT 0, up to rounding that depends on how the event
    # was made: standardised, that rounding told generated t tbar events from MadGraph-like ones
    # (log rho spread 0.46 where the physics observables had an AUC of 0.50)
    balanced = pt(total) <= 1e-9 * pt(objects).sum(1)
    total_pt = torch.where(balanced, 0.0, pt(total))
    columns.append(torch.stack([mass(total), torch.log1p(total_pt), rapidity(total)], 1))
    out = torch.cat(columns, 1).cpu().numpy().astype(np.float64)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
