"""Figures of merit for weighted samples, defined once and used everywhere.

All functions take a 1-D tensor of weights (pb per event, possibly signed) and
return Python floats or tensors; the maximum of signed weights means ``max |w|``.
"""

from __future__ import annotations

__all__ = [
    "cross_section",
    "effective_sample_size",
    "error_uncertainty",
    "reduced_max",
    "relative_error",
    "unweighting_efficiency",
    "weight_spread",
]

import math

import numpy as np
import torch
from torch import Tensor


def cross_section(w: Tensor | np.ndarray) -> tuple[float, float]:
    """``(sigma, error)`` in pb from weights in pb per event: the mean and its standard error.

    ``sigma = sum w / N``, ``error = sqrt((sum w^2 - (sum w)^2 / N) / (N (N - 1)))``: the one
    formula for every cross section mlgen prints or writes (``<init>`` lines, reports, merges).
    For one process of a sample, pass the sample's weights with the other processes' set to 0.
    One event: error ``inf``.
    """
    a = np.asarray(w.detach().cpu().double().numpy() if isinstance(w, Tensor) else w, dtype=np.float64)
    n = len(a)
    if n == 0:
        raise ValueError("no events: no cross section")
    total = float(a.sum())
    if n == 1:
        return total, math.inf
    variance = max(float((a * a).sum()) - total * total / n, 0.0) / (n * (n - 1))
    return total / n, math.sqrt(variance)


def relative_error(mean: float, sdev: float) -> float:
    """``sdev / |mean|``."""
    return abs(sdev / mean) if mean else float("inf")


def weight_spread(w: Tensor) -> float:
    """``std(w) / mean(w)``: the per-point relative standard deviation."""
    return float(w.std() / w.mean())


def effective_sample_size(w: Tensor) -> float:
    """``N_eff = (sum w)^2 / sum w^2``."""
    return float(w.sum() ** 2 / (w * w).sum())


def error_uncertainty(w: Tensor) -> float:
    """The relative standard deviation of the sample variance of ``w``: how well the error is known.

    ``sqrt((m4 - m2^2) / N) / m2`` with the central moments ``m2``, ``m4``. Weights
    with a finite fourth moment give ``O(1/sqrt(N))``; when a handful of points
    carry the variance (a sampler that found a region only through its defensive
    share, a VEGAS grid across a ridge) it is ``O(1)``, and the quoted error, and
    so any pull, means little. 0 for constant weights.
    """
    d = w.to(torch.float64) - w.to(torch.float64).mean()
    d2 = d * d
    m2 = float(d2.mean())
    if m2 == 0:
        return 0.0
    m4 = float((d2 * d2).mean())
    return max(m4 - m2 * m2, 0.0) ** 0.5 / (len(w) ** 0.5 * m2)


def unweighting_efficiency(w: Tensor, w_max: float | None = None) -> float:
    """``epsilon = mean(|w|) / w_max``; ``w_max`` defaults to the sample's true maximum."""
    a = w.abs()
    top = float(a.max()) if w_max is None else w_max
    return float(a.mean()) / top


def reduced_max(w: Tensor, q: float, density_ratio: Tensor | None = None) -> float:
    """The smallest ``w_max`` whose overweights carry at most a fraction ``q`` of the total.

    Finds ``w_max`` with ``sum max(|w| - w_max, 0) = q sum |w|`` exactly (piecewise
    linear in ``w_max`` between sorted weights), by one sort and a cumulative sum.
    ``q = 0`` gives the true maximum. With ``density_ratio`` ``r_i`` the points stand
    for another sampling density (``r = q_new / q_drawn``) and both sums carry ``r_i``.
    """
    order = torch.argsort(w.abs(), descending=True)
    a = w.abs().to(torch.float64)[order]
    r = torch.ones_like(a) if density_ratio is None else density_ratio.to(torch.float64)[order]
    total = float((r * a).sum())
    if q <= 0 or total == 0:
        return float(a[0])
    target = q * total
    # excess(a_k) = sum_{i<k} r_i (a_i - a_k) = S_k - R_k a_k, increasing in k
    s = torch.cumsum(r * a, 0) - r * a
    big_r = torch.cumsum(r, 0) - r
    excess = s - big_r * a
    j = int(torch.searchsorted(excess, torch.tensor([target], dtype=a.dtype, device=a.device)).item())
    if j >= len(a):
        # below the smallest weight: every point is an overweight, sum r (a - x) = target
        return max((total - target) / float(r.sum()), 0.0)
    # between a_j (excess >= target) and a_{j-1}: excess(x) = S_j - R_j x
    return (float(s[j]) - target) / float(big_r[j]) if j > 0 else float(a[0])
