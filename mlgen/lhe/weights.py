"""What an event weight in an LHE file means: pb per event, or a share of the cross section.

Generators disagree. POWHEG and mlgen's weighted files give pb per event (the
*mean* weight estimates the cross section); MadGraph's unweighted files,
aMC@NLO's and mlgen's unweighted ones give weights that *sum* to it. A file
does not say which, so the ``<init>`` cross section decides: the convention
whose estimate lies nearer to it. Inside mlgen a weight is pb per event (mean).
"""

from __future__ import annotations

__all__ = ["per_event_pb", "weight_convention"]

import math

import numpy as np

from mlgen.events import EventBatch, RunInfo


def weight_convention(info: RunInfo, w: np.ndarray) -> str:
    """``"mean"`` or ``"sum"``: the estimate of sigma nearer the ``<init>`` value ("mean" without one)."""
    xsec = info.xsec_pb
    if not math.isfinite(xsec) or xsec == 0 or len(w) < 2:
        return "mean"
    total = float(np.sum(w))
    return "sum" if abs(total - xsec) < abs(total / len(w) - xsec) else "mean"


def per_event_pb(info: RunInfo, batch: EventBatch) -> tuple[np.ndarray, str]:
    """The events' weights in pb per event (their mean is sigma) and the file's convention."""
    w = batch.weight.detach().cpu().double().numpy()
    convention = weight_convention(info, w)
    return (w * len(w) if convention == "sum" else w), convention
