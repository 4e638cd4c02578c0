"""Asymmetries of a sample, with their statistical errors: what ``result.json`` reports next to sigma.

The forward-backward asymmetry of a charged-lepton pair (one l-, one l+ in the final state),
``A_FB = (sigma_F - sigma_B) / (sigma_F + sigma_B)``, with "forward" meaning:

* at a lepton collider, the l- goes along the incoming lepton (the beam particle with a positive
  PDG id, e-), in the lab frame (the centre-of-mass frame of symmetric beams): the LEP definition,
  ``A_FB = 3/4 A_e A_mu`` on the Z pole;
* at a hadron collider, ``cos theta* > 0`` in the Collins-Soper frame
  (:func:`mlgen.observables.cos_theta_cs`), the frame in which the LHC experiments measure it.

Events without such a pair do not enter. The built-in ``ttbar`` process is LO QCD, whose t t~
asymmetry vanishes; no other built-in process defines one.
"""

from __future__ import annotations

__all__ = ["Asymmetry", "asymmetries", "weighted_asymmetry"]

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mlgen.events import EventBatch
from mlgen.observables import cos_theta_cs

_LEPTONS = (11, 13, 15)


@dataclass(frozen=True)
class Asymmetry:
    """One asymmetry: its name, what "forward" means, the value and its standard error, and the
    number of events it was measured from."""

    name: str
    definition: str
    value: float
    error: float
    n_events: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "definition": self.definition,
            "value": self.value,
            "error": self.error,
            "n_events": self.n_events,
        }


def weighted_asymmetry(sign: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """``A = sum w s / sum w`` over events with ``s = +1`` (forward), ``-1`` (backward), and its
    standard error by the delta method, ``sqrt(sum (w s - A w)^2) / |sum w|``: ``sqrt((1 - A^2) / N)``
    for unweighted events; it holds for signed weights too.

    >>> value, error = weighted_asymmetry(np.array([1.0, 1.0, 1.0, -1.0]), np.ones(4))
    >>> value, round(error**2, 6)  # (1 - 0.25) / 4
    (0.5, 0.1875)
    """
    total = float(weight.sum())
    if total == 0:
        return float("nan"), float("nan")
    value = float((weight * sign).sum()) / total
    error = float(np.sqrt(((weight * sign - value * weight) ** 2).sum())) / abs(total)
    return value, error


def asymmetries(batch: EventBatch) -> list[Asymmetry]:
    """The asymmetries ``batch`` has (see the module): today A_FB of a charged-lepton pair, or none."""
    found = _lepton_pair_cos(batch)
    if found is None:
        return []
    cos, definition = found
    pair = np.isfinite(cos)
    value, error = weighted_asymmetry(np.sign(cos[pair]), batch.weight.cpu().numpy()[pair])
    return [Asymmetry("A_FB", definition, value, error, int(pair.sum()))]


def _lepton_pair_cos(batch: EventBatch) -> tuple[np.ndarray, str] | None:
    """Per event, the cos of the l- angle that defines forward (NaN without a pair), and its words."""
    lepton = torch.isin(batch.pdg.abs(), torch.tensor(_LEPTONS, device=batch.device))
    incoming = batch.status == -1
    if not bool(((incoming & lepton).sum(1) == 2).all()):  # hadron beams
        cos = cos_theta_cs(batch)
        return None if cos is None else (cos, "cos theta* > 0 of the l- in the Collins-Soper frame")
    charged = (batch.status == 1) & lepton
    minus, plus = charged & (batch.pdg > 0), charged & (batch.pdg < 0)
    pair = (minus.sum(1) == 1) & (plus.sum(1) == 1)
    if not bool(pair.any()):
        return None
    beam = (batch.momenta[..., 1:] * (incoming & (batch.pdg > 0))[..., None]).sum(1)
    outgoing = (batch.momenta[..., 1:] * minus[..., None]).sum(1)
    cos = (beam * outgoing).sum(1) / (beam.norm(dim=1) * outgoing.norm(dim=1)).clamp_min(1e-300)
    words = "the l- along the incoming lepton (e-), lab frame"
    return np.where(pair.cpu().numpy(), cos.cpu().numpy(), np.nan), words
