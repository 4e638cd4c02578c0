"""The colour flow of events whose file gives none (ICOLUP = 0 0 for every parton).

Pythia showers only colour-connected partons. Some writers leave the tags out
(Sherpa 3.0.1's e+e- -> jets LHE output). Where the flow is unique it is not a
guess: from a colourless initial state, q qbar has one flow (q -> qbar) and
q qbar g has one (q -> g -> qbar). Anything else (more gluons, several quark
pairs, coloured beams) has several flows weighted by the matrix element, which
the file does not carry; those are refused.
"""

from __future__ import annotations

__all__ = ["assign_unique_colour_flow", "lacks_colour_flow"]

import torch

from mlgen.events import EventBatch

_FIRST_TAG = 501


def _coloured(pdg: torch.Tensor) -> torch.Tensor:
    return ((pdg.abs() >= 1) & (pdg.abs() <= 6)) | (pdg == 21)


def lacks_colour_flow(batch: EventBatch) -> bool:
    """Whether some event has a parton without colour tags."""
    untagged = (batch.colors == 0).all(-1) & _coloured(batch.pdg)
    return bool(untagged.any())


def assign_unique_colour_flow(batch: EventBatch) -> EventBatch:
    """``batch`` with the colour tags of q qbar (g) from a colourless initial state.

    Raises:
        ValueError: an event whose flow is not unique (it names the first such event, 1-based).
    """
    pdg, status = batch.pdg, batch.status
    final = status == 1
    quark = final & (pdg >= 1) & (pdg <= 6)
    antiquark = final & (pdg <= -1) & (pdg >= -6)
    gluon = final & (pdg == 21)
    coloured_beam = ((status == -1) & _coloured(pdg)).any(-1)
    n_g = gluon.sum(-1)
    unique = (quark.sum(-1) == 1) & (antiquark.sum(-1) == 1) & (n_g <= 1) & ~coloured_beam
    unique &= ~(_coloured(pdg) & ~final & (pdg != 0)).any(-1)
    if not bool(unique.all()):
        k = int((~unique).nonzero()[0, 0])
        raise ValueError(
            f"event {k + 1} has no colour tags and no unique colour flow (only q qbar and q qbar g from "
            "colourless beams have one)"
        )
    tag, other = _FIRST_TAG, _FIRST_TAG + 1
    colours = torch.zeros_like(batch.colors)
    last = torch.where(n_g == 1, other, tag)[:, None]  # the tag the antiquark closes
    colours[..., 0] = torch.where(quark, tag, 0) + torch.where(gluon, other, 0)
    colours[..., 1] = torch.where(gluon, tag, 0) + torch.where(antiquark, last, 0)
    out = batch[:]
    out.colors = colours
    return out
