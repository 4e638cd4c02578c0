"""What an event weight in an LHE file means: pb per event, or a share of the cross section.

Generators disagree. POWHEG and mlgen's weighted files give pb per event (the
*mean* weight estimates the cross section); MadGraph's unweighted files,
aMC@NLO's and mlgen's unweighted ones give weights that *sum* to it. A file
does not say which, so the ``<init>`` cross section decides: the convention
whose estimate lies nearer to it. Inside mlgen a weight is pb per event (mean).
"""

from __future__ import annotations

__all__ = ["per_event_pb", "process_lines", "weight_convention"]

import math

import numpy as np

from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.metrics import cross_section


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


def process_lines(
    process_id: np.ndarray,
    w_pb: np.ndarray,
    *,
    unweighted: bool,
    known: tuple[int, ...] = (),
    errors_from: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[ProcessLine, ...]:
    """The ``<init>`` lines of a sample, recomputed from its own weights, one per process id.

    Arguments:
        process_id: ``(N,)`` IDPRUP of each event.
        w_pb: ``(N,)`` weights in pb per event (their mean is sigma).
        unweighted: the file's weights sum to sigma (IDWTUP 3): XMAXUP in that unit.
        known: process ids to keep a line for even without events (the input's), at sigma 0.
        errors_from: ``(process_id, w_pb)`` of the sample whose information the output carries
            (cell resampling keeps each process's sum of weights but correlates its events; a
            generator adds none): each XERRUP is at least the error those weights give.

    XSECUP and XERRUP come from :func:`mlgen.metrics.cross_section` on the weights with the
    other processes' set to 0; XMAXUP is the process's largest ``|w|`` as written.
    """
    ids = np.asarray(process_id)
    w = np.asarray(w_pb, dtype=np.float64)
    scale = 1.0 / len(w) if unweighted and len(w) else 1.0
    lines = []
    for pid in sorted(set(ids.tolist()) | set(known)):
        mine = ids == pid
        sigma, error = cross_section(np.where(mine, w, 0.0)) if len(w) else (0.0, 0.0)
        if errors_from is not None:
            ids_in, w_in = errors_from
            error = max(error, cross_section(np.where(np.asarray(ids_in) == pid, w_in, 0.0))[1])
        xmax = float(np.abs(w[mine]).max()) * scale if mine.any() else 0.0
        lines.append(ProcessLine(sigma, error if math.isfinite(error) else 0.0, xmax, int(pid)))
    return tuple(lines)
