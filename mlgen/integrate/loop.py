"""Integration drivers: a fixed sampler, and VEGAS adaptation followed by integration in torch."""

from __future__ import annotations

__all__ = ["integrate", "vegas_integrate"]

import numpy as np
import torch
from torch import Tensor

from mlgen.integrate.base import Integrand, Sampler
from mlgen.integrate.result import IntegrationResult, Iteration, PointSample
from mlgen.integrate.vegas_grid import VegasSampler
from mlgen.seeds import SeedLike, numpy_rng, torch_generator


def integrate(
    f: Integrand,
    sampler: Sampler,
    *,
    n_iter: int,
    n_per_iter: int,
    generator: torch.Generator,
    n_eval_before: int = 0,
    keep_weights: int = 1_000_000,
    q: float = 1e-3,
    name: str = "",
    keep_points: int = 0,
) -> IntegrationResult:
    """``n_iter`` independent estimates of ``int f`` with points from ``sampler``.

    The sampler is fixed, so the iterations are independent and the combined
    error is honest. Weight diagnostics use up to ``keep_weights`` weights of the
    iterations; up to ``keep_points`` points of the last iterations are kept as
    ``result.sample`` (for the coverage check).
    """
    iterations = []
    kept: list[Tensor] = []
    points: list[tuple[Tensor, Tensor, Tensor]] = []
    n_kept = 0
    for _ in range(n_iter):
        u, log_q = sampler.sample(n_per_iter, generator)
        fu = f(u)
        w = fu / torch.exp(log_q)
        if not bool(torch.isfinite(w).all()):
            bad = int((~torch.isfinite(w)).sum())
            raise FloatingPointError(f"integrand returned {bad} non-finite values out of {n_per_iter}")
        iterations.append(Iteration(float(w.mean()), float(w.std()) / n_per_iter**0.5, n_per_iter))
        if n_kept < keep_weights:
            kept.append(w[: keep_weights - n_kept])
            n_kept += len(kept[-1])
        if keep_points > 0:
            points = [*points, (u, fu, log_q)]
            while len(points) > 1 and sum(len(p[0]) for p in points[1:]) >= keep_points:
                points = points[1:]
    result = IntegrationResult(
        iterations, n_eval_before + n_iter * n_per_iter, sampler=name or type(sampler).__name__
    )
    result.add_weight_stats(torch.cat(kept), q)
    if points:
        u_all, f_all, lq_all = (torch.cat(parts)[-keep_points:] for parts in zip(*points, strict=True))
        result.sample = PointSample(u_all, f_all, lq_all)
    return result


def vegas_integrate(
    f: Integrand,
    dim: int,
    *,
    n_adapt_iter: int = 10,
    n_per_iter: int = 100_000,
    n_iter: int = 5,
    seed: SeedLike = 1,
    device: torch.device | str = "cpu",
    n_bins: int = 1000,
    keep_adaptation: int = 0,
    keep_points: int = 0,
) -> tuple[IntegrationResult, VegasSampler]:
    """Adapt a VEGAS grid with the ``vegas`` package, then integrate with the frozen grid in torch.

    Adaptation (``n_adapt_iter`` iterations of ``n_per_iter`` points, VEGAS+
    defaults) draws from the numpy generator of ``seed``, the final iterations from its torch
    generator (:mod:`mlgen.seeds`); its estimates are discarded,
    so the quoted sigma comes from ``n_iter`` independent iterations with the
    same density that event generation uses. ``keep_adaptation = k`` keeps the
    last ``k`` adaptive (stratified VEGAS+) iterations in the result as well:
    each is an unbiased estimate from points already paid for, which is what an
    independent cross-check (the coverage probe) wants, but not the density
    events are generated with. ``keep_points`` keeps that many frozen-grid points as
    ``result.sample``.

    Returns:
        ``(result, sampler)``.
    """
    import vegas

    device = torch.device(device)
    rng = numpy_rng(seed)
    amap = vegas.AdaptiveMap(dim * [[0.0, 1.0]], ninc=n_bins)
    integ = vegas.Integrator(amap, ran_array_generator=rng.random, sync_ran=False)

    @vegas.lbatchintegrand
    def batch_f(x: np.ndarray) -> np.ndarray:
        u = torch.from_numpy(np.ascontiguousarray(x)).to(device)
        return f(u).cpu().numpy()

    n_adapt = 0
    kept: list[Iteration] = []
    if n_adapt_iter > 0:
        adapt = integ(batch_f, nitn=n_adapt_iter, neval=n_per_iter)
        n_adapt = int(getattr(adapt, "sum_neval", n_adapt_iter * n_per_iter))
        if keep_adaptation > 0:
            per_iter = n_adapt // n_adapt_iter
            kept = [
                Iteration(float(r.mean), float(r.sdev), per_iter)
                for r in adapt.itn_results[-keep_adaptation:]
            ]
    sampler = VegasSampler.from_adaptive_map(integ.map)
    generator = torch_generator(seed, device)
    result = integrate(
        f,
        sampler,
        n_iter=n_iter,
        n_per_iter=n_per_iter,
        generator=generator,
        n_eval_before=n_adapt,
        keep_points=keep_points,
        name=f"VEGAS grid ({int(sampler.n_bins.max())} bins/dim)",
    )
    if kept:
        result.iterations = kept + result.iterations
        result.sampler += f" + {len(kept)} adaptive VEGAS+ iterations"
    return result, sampler
