"""Parton luminosities ``f_a(x1) f_b(x2)`` for every subprocess at once."""

from __future__ import annotations

__all__ = ["Luminosity"]

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

_HADRONS = (2212, -2212)


class Luminosity:
    """Products of parton densities for a list of subprocesses.

    Arguments:
        beams: PDG ids of beams A and B (2212 proton, -2212 antiproton, or a
            lepton, which is taken as a pointlike beam: ``f(x) = delta(1 - x)``).
        incoming: ``(a, b)`` parton PDG ids of each of the ``K`` subprocesses.
        pdf: an object with ``xfxQ2_all(x, q2) -> (B, F)`` and ``pids`` (for hadron beams).

    An antiproton's densities are the proton's with every flavour conjugated.
    For a lepton beam only subprocesses whose incoming id equals the beam id
    get luminosity 1; the others get 0.
    """

    def __init__(self, beams: tuple[int, int], incoming: Sequence[tuple[int, int]], pdf: Any | None) -> None:
        self.beams = beams
        self.pdf = pdf
        self.hadronic = tuple(b in _HADRONS for b in beams)
        if any(self.hadronic) and pdf is None:
            raise ValueError("hadron beams need a PDF set")
        columns: list[list[int]] = [[], []]
        lepton_mask: list[list[float]] = [[], []]
        pids = [int(p) for p in pdf.pids] if pdf is not None else []
        for a_b in incoming:
            for side in (0, 1):
                parton = a_b[side]
                if self.hadronic[side]:
                    flavour = parton if beams[side] == 2212 else _conjugate(parton)
                    flavour = 21 if flavour == 0 else flavour
                    columns[side].append(pids.index(flavour) if flavour in pids else -1)
                    lepton_mask[side].append(1.0)
                else:
                    columns[side].append(-1)
                    lepton_mask[side].append(1.0 if parton == beams[side] else 0.0)
        self._columns = [torch.tensor(c, dtype=torch.long) for c in columns]
        self._lepton_mask = [torch.tensor(m, dtype=torch.float64) for m in lepton_mask]

    def __call__(self, x1: Tensor, x2: Tensor, q2: Tensor) -> Tensor:
        """``(B, K)`` luminosity ``f_a(x1, Q^2) f_b(x2, Q^2)`` (densities, not ``x f``)."""
        sides = []
        for side, x in ((0, x1), (1, x2)):
            mask = self._lepton_mask[side].to(x.device)
            if not self.hadronic[side]:
                sides.append(mask.expand(x.shape[0], -1))
                continue
            xf = self.pdf.xfxQ2_all(x, q2)  # type: ignore[union-attr]
            cols = self._columns[side].to(x.device)
            dens = xf[:, cols.clamp(min=0)] / x[:, None]
            sides.append(torch.where(cols >= 0, dens, torch.zeros_like(dens)))
        return sides[0] * sides[1]


def _conjugate(pid: int) -> int:
    return pid if pid in (21, 22, 0, 23, 25) else -pid
