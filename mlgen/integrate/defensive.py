"""Re-choosing the defensive shares after training: least estimated variance, unweighting kept.

A flow trains inside a generous defensive mixture (10% VEGAS grid, 1% uniform),
which keeps it from losing what it has not found yet. Once it has learned, that
mixture costs: where the integrand is concentrated, the points it draws carry
almost no weight, which alone puts a floor of ``sqrt(0.11 / 0.89) = 0.35`` under
the relative spread of the weights when all 11% are wasted. The shares are
therefore chosen again, from points the training has already paid for.

With points ``x_i`` drawn from densities ``q_s(x_i)`` (the sampler when each was
drawn), integrand values ``f_i`` and the three component densities of the
mixture at each point, the second moment of the weights under shares
``a = (alpha, beta)``,

    M(a) = (1/N) sum_i f_i^2 / (q_s(x_i) q_a(x_i)),   q_a = (1 - alpha - beta) p + alpha r_grid + beta,

is an unbiased estimate of ``int f^2 / q_a`` and convex in ``a`` (H. Y. He and
A. B. Owen, arXiv:1411.3954, who pick mixture weights from a pilot sample the
same way). The unweighting efficiency under ``q_a`` (mean weight over the
reduced maximum) is estimated from the same points, each standing for
``q_a / q_s`` of a point of ``q_a``.

The rule: least estimated variance among the shares that keep at least 95% of
the training shares' unweighting efficiency (the defensive share also caps the
largest weights, where the flow undershoots: fewer defensive points can lower
the variance and still cost efficiency), with the uniform share never below
``min_uniform``, so ``q >= min_uniform`` everywhere and no region of the cube is
ever left without density. Among shares whose estimated variance is within 5%
of the least, the largest defensive mixture is kept: safety costs nothing
there. The integral quoted afterwards comes from fresh points, so the choice
cannot bias it.
"""

from __future__ import annotations

__all__ = ["SHARES", "ShareChoice", "tune_shares"]

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.metrics import reduced_max

SHARES = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
"""The candidate values of each share."""

TOLERANCE = 0.05
"""Shares within this relative variance of the best count as equally good; the safest is kept."""

EFFICIENCY_LOSS = 0.05
"""The largest share of the training shares' unweighting efficiency the new shares may lose."""

OVERWEIGHT = 1e-3
"""The unweighting efficiency is taken at the reduced maximum leaving this share of sigma in overweights."""


@dataclass(frozen=True)
class ShareChoice:
    """The shares before and after, with the relative standard deviation and unweighting efficiency
    (at the reduced maximum, ``OVERWEIGHT``) estimated for each."""

    defensive: float
    uniform: float
    defensive_before: float
    uniform_before: float
    rel_std_before: float
    rel_std_after: float
    eff_before: float
    eff_after: float
    n_points: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def tune_shares(
    sampler: FlowSampler, v: Tensor, f: Tensor, log_qs: Tensor, min_uniform: float = 0.005
) -> ShareChoice:
    """Set ``sampler``'s shares by the module's rule, estimated on the pilot points; returns the choice.

    Arguments:
        sampler: the trained sampler (its shares are changed in place).
        v: pilot points in the sampler's latent space, ``(N, dim)``.
        f: the integrand in the latent space at ``v`` (``|f|`` is used).
        log_qs: ``log`` of the density each point was drawn from.
        min_uniform: the least uniform share allowed.
    """
    if not 0 <= min_uniform < 0.5:  # the shares' sum stays below 0.5, as in the card
        raise ValueError(f"min_uniform: expected a share in [0, 0.5), got {min_uniform}")
    before = (sampler.defensive, sampler.uniform)
    if sampler.grid is None:  # the two shares are one: uniform points
        before = (0.0, sum(before))
    with torch.no_grad():
        flow_dtype = next(sampler.flow.parameters()).dtype
        log_p = sampler.log_prob_latent(v.double(), flow_dtype, mixed=False)
        log_grid, log_uniform = sampler.defensive_log_densities(v)
        log_f = torch.log(f.double().abs())
        log_qs = log_qs.double()
        mean = float(torch.exp(log_f - log_qs).mean())  # the integral of |f|, whatever the shares
    if not (math.isfinite(mean) and mean > 0):
        raise ValueError("tune_shares: the pilot points carry no integrand (all f = 0 or not finite)")

    def figures(alpha: float, beta: float) -> tuple[float, float]:
        """Estimated relative standard deviation and unweighting efficiency under these shares."""
        terms = [log_p + math.log1p(-alpha - beta)]
        if alpha > 0:
            terms.append(log_grid + math.log(alpha))
        if beta > 0:
            terms.append(log_uniform + math.log(beta))
        log_q = torch.logsumexp(torch.stack(terms), 0)
        w, ratio = torch.exp(log_f - log_q), torch.exp(log_q - log_qs)
        second = float((w * w * ratio).mean())
        eff = mean / reduced_max(w, OVERWEIGHT, density_ratio=ratio)
        return math.sqrt(max(second / mean**2 - 1.0, 0.0)), eff

    alphas = SHARES if sampler.grid is not None else (0.0,)
    betas = sorted({min_uniform, *(s for s in SHARES if s >= min_uniform)})
    candidates = {(a, b): figures(a, b) for a in alphas for b in betas if a + b < 0.5}
    std_before, eff_before = figures(*before)
    allowed = {ab: std for ab, (std, eff) in candidates.items() if eff >= (1 - EFFICIENCY_LOSS) * eff_before}
    if not allowed:  # none keeps the efficiency (the floor forbids the training shares): the best one
        best_eff = max(eff for _, eff in candidates.values())
        allowed = {ab: std for ab, (std, eff) in candidates.items() if eff == best_eff}
    best = min(allowed.values())
    good = [ab for ab, std in allowed.items() if std**2 <= best**2 * (1 + TOLERANCE)]
    alpha, beta = max(good, key=lambda ab: (ab[0] + ab[1], ab[1]))
    sampler.set_shares(alpha, beta)
    return ShareChoice(
        defensive=alpha,
        uniform=beta,
        defensive_before=before[0],
        uniform_before=before[1],
        rel_std_before=std_before,
        rel_std_after=candidates[(alpha, beta)][0],
        eff_before=eff_before,
        eff_after=candidates[(alpha, beta)][1],
        n_points=v.shape[0],
    )
