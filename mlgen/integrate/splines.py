"""Monotonic rational-quadratic splines on ``[0, 1]`` with an exact inverse.

Each spline has ``K`` bins with widths and heights summing to 1 and ``K + 1``
positive knot derivatives (C. Durkan, A. Bekasov, I. Murray, G. Papamakarios,
*Neural Spline Flows*, arXiv:1906.04032, eqs. 4-8). On the unit interval the
end knots are fixed at 0 and 1, so the map is a bijection of ``[0, 1]`` with no
tails. Unconstrained parameters of zeros give the identity.

The arithmetic runs in the dtype of ``x`` (float64 at the sampler's boundary);
parameters from a float32 network are promoted.
"""

from __future__ import annotations

__all__ = ["n_spline_params", "rq_spline", "rq_spline_knots"]

import math

import torch
import torch.nn.functional as F
from torch import Tensor

MIN_BIN = 1e-3
MIN_DERIVATIVE = 1e-3
# softplus(_SHIFT) + MIN_DERIVATIVE == 1, so zero parameters give slope 1 everywhere
_SHIFT = math.log(math.expm1(1.0 - MIN_DERIVATIVE))


def n_spline_params(n_bins: int) -> int:
    """Unconstrained parameters per transformed dimension: widths, heights, derivatives."""
    return 3 * n_bins + 1


def _knots(raw: Tensor, n_bins: int) -> tuple[Tensor, Tensor]:
    """Bin sizes summing to 1 (each at least ``MIN_BIN``) and knot positions ``(..., K + 1)``."""
    # softmax shares below e^-60 are lost under MIN_BIN anyway; further down they would turn
    # into subnormal numbers, on which CPU arithmetic is some 5x slower (a trained flow's
    # training and sampling went from 52 s to 250 s with them)
    raw = torch.maximum(raw, raw.amax(-1, keepdim=True) - 60.0)
    sizes = MIN_BIN + (1 - MIN_BIN * n_bins) * torch.softmax(raw, dim=-1)
    knots = F.pad(torch.cumsum(sizes, dim=-1), (1, 0))
    knots = torch.cat([knots[..., :-1], torch.ones_like(knots[..., -1:])], dim=-1)
    return sizes, knots


def rq_spline(x: Tensor, params: Tensor, *, inverse: bool = False) -> tuple[Tensor, Tensor]:
    """Apply the spline elementwise.

    Arguments:
        x: ``(..., d)`` points in ``[0, 1]``.
        params: ``(..., d, 3K + 1)`` unconstrained parameters (widths, heights, derivatives).
        inverse: apply the inverse map.

    Returns:
        ``(y, log|dy/dx|)`` with ``log|dy/dx|`` of shape ``(..., d)`` (for the inverse,
        the log-Jacobian of the inverse map, i.e. ``-log|dx/dy|`` at the preimage).
    """
    n_bins = (params.shape[-1] - 1) // 3
    params = params.to(x.dtype)
    widths, xk = _knots(params[..., :n_bins], n_bins)
    heights, yk = _knots(params[..., n_bins : 2 * n_bins], n_bins)
    derivs = MIN_DERIVATIVE + F.softplus(params[..., 2 * n_bins :] + _SHIFT)
    return _apply(x, xk, widths, yk, heights, derivs, inverse)


def rq_spline_knots(
    x: Tensor, xk: Tensor, yk: Tensor, derivs: Tensor, *, inverse: bool = False
) -> tuple[Tensor, Tensor]:
    """The spline through explicit knots: ``xk``, ``yk`` ``(..., d, K + 1)`` increasing from 0 to 1,
    ``derivs`` ``(..., d, K + 1)`` positive; otherwise as :func:`rq_spline`."""
    return _apply(x, xk, torch.diff(xk, dim=-1), yk, torch.diff(yk, dim=-1), derivs, inverse)


def _apply(
    x: Tensor, xk: Tensor, widths: Tensor, yk: Tensor, heights: Tensor, derivs: Tensor, inverse: bool
) -> tuple[Tensor, Tensor]:
    n_bins = xk.shape[-1] - 1
    x = x.clamp(0.0, 1.0)
    knots = yk if inverse else xk
    idx = (torch.searchsorted(knots[..., 1:-1].contiguous(), x[..., None].contiguous(), right=True)).clamp(
        0, n_bins - 1
    )

    def pick(t: Tensor) -> Tensor:
        return torch.gather(t, -1, idx)[..., 0]

    x0, w, y0, h = pick(xk), pick(widths), pick(yk), pick(heights)
    d0, d1 = pick(derivs[..., :-1]), pick(derivs[..., 1:])
    s = h / w
    if inverse:
        dy = x - y0
        a = h * (s - d0) + dy * (d1 + d0 - 2 * s)
        b = h * d0 - dy * (d1 + d0 - 2 * s)
        c = -s * dy
        disc = (b * b - 4 * a * c).clamp(min=0.0)
        xi = (2 * c / (-b - torch.sqrt(disc))).clamp(0.0, 1.0)
        out = x0 + xi * w
    else:
        xi = ((x - x0) / w).clamp(0.0, 1.0)
    t = xi * (1 - xi)
    denom = s + (d1 + d0 - 2 * s) * t
    log_deriv = (
        2 * torch.log(s) + torch.log(d1 * xi * xi + 2 * s * t + d0 * (1 - xi) ** 2) - 2 * torch.log(denom)
    )
    if inverse:
        return out, -log_deriv
    y = y0 + h * (s * xi * xi + d0 * t) / denom
    return y.clamp(0.0, 1.0), log_deriv
