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


def _knots(raw: Tensor, n_bins: int) -> Tensor:
    """Knot positions ``(..., K + 1)`` from 0 to 1, bins at least ``MIN_BIN`` wide (softmax shares)."""
    # the softmax by hand: torch.softmax over a last dimension this short is 4x slower on a CPU.
    # Shares below e^-60 are lost under MIN_BIN anyway; further down they would turn into
    # subnormal numbers, on which CPU arithmetic is some 5x slower (a trained flow's training and
    # sampling went from 52 s to 250 s with them)
    e = torch.exp((raw - raw.amax(-1, keepdim=True).detach()).clamp(min=-60.0))
    sizes = MIN_BIN + (1 - MIN_BIN * n_bins) * (e / e.sum(-1, keepdim=True))
    inner = torch.cumsum(sizes[..., :-1], dim=-1)
    return torch.cat([torch.zeros_like(sizes[..., :1]), inner, torch.ones_like(sizes[..., :1])], dim=-1)


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
    # widths and heights in one pass: (..., d, 2, K)
    knots = _knots(params[..., : 2 * n_bins].unflatten(-1, (2, n_bins)), n_bins)
    derivs = MIN_DERIVATIVE + F.softplus(params[..., 2 * n_bins :] + _SHIFT)
    return _apply(x, knots[..., 0, :], knots[..., 1, :], derivs, inverse)


def rq_spline_knots(
    x: Tensor, xk: Tensor, yk: Tensor, derivs: Tensor, *, inverse: bool = False
) -> tuple[Tensor, Tensor]:
    """The spline through explicit knots: ``xk``, ``yk`` ``(..., d, K + 1)`` increasing from 0 to 1,
    ``derivs`` ``(..., d, K + 1)`` positive; otherwise as :func:`rq_spline`."""
    return _apply(x, xk, yk, derivs, inverse)


def _apply(x: Tensor, xk: Tensor, yk: Tensor, derivs: Tensor, inverse: bool) -> tuple[Tensor, Tensor]:
    n_bins = xk.shape[-1] - 1
    x = x.clamp(0.0, 1.0)
    knots = yk if inverse else xk
    idx = torch.searchsorted(knots[..., 1:-1].contiguous(), x[..., None].contiguous(), right=True)
    # each bin's two ends with one gather per tensor (a gather's backward is a scatter into zeros)
    ends = torch.cat([idx, idx + 1], dim=-1).clamp(0, n_bins)
    x0, x1 = torch.gather(xk, -1, ends).unbind(-1)
    y0, y1 = torch.gather(yk, -1, ends).unbind(-1)
    d0, d1 = torch.gather(derivs, -1, ends).unbind(-1)
    w, h = x1 - x0, y1 - y0
    s = h / w
    if inverse:
        dy = x - y0
        curve = dy * (d1 + d0 - 2 * s)
        a = h * (s - d0) + curve
        b = h * d0 - curve
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
