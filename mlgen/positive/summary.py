"""What a signed-weight sample is worth, before and after treatment, and what the treatment changed.

* :func:`summarize`: ``r_-`` (the fraction of events with a negative weight),
  the cross section and its Monte Carlo error (mean weight, ``std / sqrt(N)``),
  the histogram-style error ``sqrt(sum w^2) / N`` (what a histogram of the
  sample puts on a bin, here the bin holding everything), and the effective
  sample size ``N_eff = (sum w)^2 / sum w^2`` per stored event — for ``N``
  events of weights ``+-1`` it is ``(1 - 2 r_-)^2``.
* :func:`distortion`: for every observable of :mod:`mlgen.observables`, the
  histograms (in pb per bin, not normalised: the cross section must stay) of
  the treated and the original sample, and the per-bin pulls in units of the
  original's statistical error, with their ``chi2/ndf``. An observable the
  method did not use to build its cells or train on is a fair test of it.
"""

from __future__ import annotations

__all__ = ["WeightSummary", "distortion", "summarize"]

import math
from dataclasses import asdict, dataclass

import numpy as np

from mlgen.events import EventBatch
from mlgen.metrics import cross_section
from mlgen.observables import observables


@dataclass(frozen=True)
class WeightSummary:
    """A sample's weights: sigma and its errors (pb), ``r_minus``, ``n_eff`` and ``n_eff / n``."""

    n: int
    sigma_pb: float
    error_pb: float
    sumw2_error_pb: float
    r_minus: float
    n_eff: float
    n_eff_per_event: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def line(self) -> str:
        return (
            f"sigma = {self.sigma_pb:.6g} +- {self.error_pb:.3g} pb, r- = {self.r_minus:.4f}, "
            f"N_eff = {self.n_eff:.4g} ({self.n_eff_per_event:.3f} per event, N = {self.n})"
        )


def summarize(weights: np.ndarray) -> WeightSummary:
    """Summary of ``(N,)`` weights in pb per event (their mean estimates the cross section)."""
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    if n == 0:
        raise ValueError("no events to summarise")
    square = float((w * w).sum())
    n_eff = float(w.sum()) ** 2 / square if square > 0 else 0.0
    return WeightSummary(
        n=n,
        sigma_pb=float(w.mean()),
        error_pb=cross_section(w)[1],
        sumw2_error_pb=math.sqrt(square) / n,
        r_minus=float((w < 0).mean()),
        n_eff=n_eff,
        n_eff_per_event=n_eff / n,
    )


def _edges(finite: np.ndarray, n_bins: int) -> np.ndarray:
    """One bin per value of a multiplicity; log bins (and one from 0) for a non-negative observable
    spanning more than three decades (an event shape at NLO); else regular over the central 99%."""
    values = np.unique(finite)
    if len(values) <= 12:
        return np.append(values - 0.5, values[-1] + 0.5)
    positive = finite[finite > 0]
    if (finite >= 0).all() and len(positive) > n_bins:
        lo, hi = np.quantile(positive, [0.005, 1.0])
        if hi > 1e3 * lo:
            return np.concatenate(
                [[min(0.0, finite.min()) - 1e-300], np.geomspace(lo, hi * (1 + 1e-12), n_bins)]
            )
    lo, hi = np.quantile(finite, [0.005, 0.995])
    return np.linspace(float(lo), float(hi), n_bins + 1)


def distortion(
    before: EventBatch,
    after: EventBatch,
    *,
    n_bins: int = 20,
    same_events: bool = True,
    skip: tuple[str, ...] = (),
) -> dict[str, dict[str, float]]:
    """Per observable: ``chi2/ndf`` and the largest ``|pull|`` of ``after`` against ``before``.

    Both samples' weights are in pb per event (``sigma = mean weight``); the bins
    are regular over the central 99% of ``before`` (one per value for a
    multiplicity), the error is the original sample's ``sqrt(sum w^2) / N`` per
    bin. With ``same_events`` (new weights on the same events: cell, neural) the
    pulls are correlated with the original's fluctuations and read as "how much
    of the error bar the treatment moved"; otherwise (new events: unweighted,
    GAN) ``after``'s own error is added in quadrature.
    """
    ob, oa = observables(before), observables(after)
    wb = before.weight.detach().cpu().double().numpy()
    wa = after.weight.detach().cpu().double().numpy()
    out: dict[str, dict[str, float]] = {}
    for name in sorted(set(ob) & set(oa)):
        if name in skip:
            continue
        xb, xa = ob[name], oa[name]
        finite = xb[np.isfinite(xb)]
        if len(finite) < 2:
            continue
        edges = _edges(finite, n_bins)
        hb = np.histogram(xb, edges, weights=wb)[0] / len(wb)
        eb = np.sqrt(np.histogram(xb, edges, weights=wb * wb)[0]) / len(wb)
        ha = np.histogram(xa, edges, weights=wa)[0] / len(wa)
        if not same_events:
            eb = np.hypot(eb, np.sqrt(np.histogram(xa, edges, weights=wa * wa)[0]) / len(wa))
        used = eb > 0
        if not used.any():
            continue
        pull = (ha[used] - hb[used]) / eb[used]
        out[name] = {
            "chi2_ndf": float((pull**2).mean()),
            "max_abs_pull": float(np.abs(pull).max()),
            "ndf": int(used.sum()),
        }
    return out
