"""How heavy the tail of the importance weights is: the Pareto shape ``k`` of the largest weights.

The sample variance cannot see an infinite variance: until the rare huge weights
turn up, the sample's moments look tame, and the error bar is too small (weights
``u^-0.7`` under uniform points: pulls of -3 to -5 with the variance's own
uncertainty at 0.18-0.33). The shape of the tail can: fitted to the largest
``M = min(N / 5, 3 sqrt(N))`` weights, a generalized Pareto distribution has shape
``k`` with finite moments of order below ``1 / k``; ``k > 1/2`` means an infinite
variance (the central limit theorem no longer gives the error) and ``k > 0.7`` an
estimate that converges too slowly to be relied on (A. Vehtari, D. Simpson,
A. Gelman, Y. Yao, J. Gabry, arXiv:1507.02646, sec. 3, where these thresholds are
calibrated). The fit is Zhang and Stephens' (Technometrics 51 (2009) 316), with
the weak prior towards ``k = 1/2`` of the same paper by Vehtari et al.
"""

from __future__ import annotations

__all__ = ["KHAT_INFINITE_VARIANCE", "KHAT_UNRELIABLE", "pareto_k"]

import math

import torch
from torch import Tensor

KHAT_INFINITE_VARIANCE = 0.5
"""Above this shape the weights' variance is infinite."""

KHAT_UNRELIABLE = 0.7
"""Above this shape the estimate itself converges too slowly to be relied on."""


def _gpd_shape(x: Tensor) -> float:
    """Zhang-Stephens posterior-mean shape ``k`` of a generalized Pareto fitted to exceedances ``x``
    (sorted ascending, positive, float64), with the prior of Vehtari et al."""
    n = x.shape[0]
    m = 30 + int(math.sqrt(n))
    j = torch.arange(1, m + 1, dtype=x.dtype, device=x.device)
    b = 1.0 - torch.sqrt(m / (j - 0.5))
    b = b / (3.0 * x[max(int(n / 4 + 0.5) - 1, 0)]) + 1.0 / x[-1]
    k = torch.log1p(-b[:, None] * x[None, :]).mean(1)
    log_lik = n * (torch.log(-b / k) - k - 1.0)
    weights = torch.softmax(log_lik, 0)
    b_post = float((b * weights).sum())
    k_post = float(torch.log1p(-b_post * x).mean())
    return (n * k_post + 10 * 0.5) / (n + 10)


def _tail_shape(a: Tensor, m: int) -> float:
    """:func:`_gpd_shape` of the exceedances of the ``m`` largest of ``a`` over the next one."""
    top = torch.topk(a, m + 1).values.flip(0)  # ascending: the threshold first
    x = top[1:] - top[0]
    x = x[x > 0]
    if x.shape[0] < 5 or not bool(torch.isfinite(x).all()):
        return -math.inf
    return _gpd_shape(x)


def pareto_k(w: Tensor) -> float:
    """The Pareto shape ``k`` of the tail of ``|w|`` (``-inf`` when the tail is flat or too short).

    Fitted to the largest ``M = min(N / 5, 3 sqrt(N))`` weights. A shape above 1 (no finite mean,
    which weights of a finite integral always have) is not a tail but a cluster of large weights
    seen from below (a peak reached only through a defensive share: 0.5% of the points carrying
    half of sigma, 3.6 on the 3-d camel with a 10% uniform share); the largest ``M / 4`` weights,
    within the cluster, then give the shape (0.26 there).

    Arguments:
        w: ``(N,)`` importance weights (zeros count as weights).
    """
    a = w.detach().abs().double().flatten()
    n = a.shape[0]
    m = int(min(n / 5, 3 * math.sqrt(n)))
    if m < 5:
        return -math.inf
    k = _tail_shape(a, m)
    if k > 1 and m // 4 >= 20:
        k = _tail_shape(a, m // 4)
    return k
