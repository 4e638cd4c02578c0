"""Neural importance sampling end to end: VEGAS adaptation and probe, flow training, integration, coverage.

``flow_integrate`` spends its integrand calls in five stages, all counted in
``n_eval``: VEGAS adaptation (the probe's grid, the defensive mixture's grid
component, and the flow's base with ``warm_start``), a VEGAS probe with the
frozen grid, an exploration (hill climbs that find the integrand's modes,
:mod:`mlgen.integrate.explore`, and a probe with a mixture around them), flow
training (the exploration's points stay in its replay pool; afterwards the
defensive shares are re-chosen on the last training batches), and the final
independent iterations with the frozen flow that give the quoted sigma.
The VEGAS estimate of the coverage check combines the probe with the second
half of the adaptive VEGAS+ iterations (stratified, already paid for); the
coverage check also asks each probe's points about the sampler's density and the
sampler's points about each probe's, to say where they disagree
(:mod:`mlgen.integrate.coverage`).
"""

from __future__ import annotations

__all__ = [
    "Budget",
    "FlowSettings",
    "evidence",
    "exploration_stream",
    "explore",
    "flow_integrate",
    "flow_settings",
]

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mlgen.flows.coupling import Flow
from mlgen.initialise import fresh_module
from mlgen.integrate.base import Budget, Integrand, Sampler
from mlgen.integrate.coverage import (
    ProbeEvidence,
    coverage_check,
    informative_probe,
    settle_heavy_tail,
    uncovered_share,
)
from mlgen.integrate.defensive import tune_shares
from mlgen.integrate.explore import ModeMixture, mode_probe_density
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.loop import integrate, vegas_integrate
from mlgen.integrate.result import IntegrationResult
from mlgen.integrate.train import TrainConfig, train_flow
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


@dataclass(frozen=True)
class FlowSettings:
    """Everything :func:`flow_integrate` needs besides the integrand.

    Attributes:
        vegas_adapt_iter, vegas_per_iter: VEGAS adaptation (the probe's grid; the flow's base with
            ``warm_start``).
        probe_iter: iterations of ``vegas_per_iter`` points with the frozen grid: the probe.
        warm_start: put the flow on top of the VEGAS grid. By default it learns on the plain cube: a
            grid adapted on a small budget is a jagged, piecewise-constant density in high dimensions,
            which the smooth splines cannot undo (Gaussian 16-d at 10^6 calls: weight spread 1.57 on
            the grid, 0.36 on the cube). The VEGAS adaptation still runs, for the probe and the
            defensive share. The same holds for the multi-channel flows: on the cube their
            unweighting efficiency eps(q) rose from 0.35 to 0.42 on t tbar -> six partons and from
            0.36 to 0.41 on e+e- -> q q~ g, and stayed at 0.82-0.84 on Drell-Yan with a Z'
            (spread 0.13-0.15 against 0.13 on the grids).
        defensive: share of points drawn from the VEGAS grid alone, while training.
        uniform: share of points drawn uniformly on the cube (covers what VEGAS missed), while training.
        tune_shares: after training, re-choose the two shares on the last training batches: the
            least estimated variance that keeps 95% of the unweighting efficiency
            (:mod:`mlgen.integrate.defensive`); the uniform share stays at least ``min_uniform``.
        min_uniform: the least uniform share after tuning.
        flow: keyword arguments of :class:`~mlgen.flows.coupling.Flow` (n_bins, hidden, layers, n_blocks).
        train: the training settings.
        n_iter, n_per_iter: final integration with the frozen sampler.
        coverage_threshold: pull that fails the coverage check.
        explore: run the exploration (mode discovery, a second probe, anchors for training).
        explore_starts, explore_steps: hill climbs run side by side and their steps (one call each
            per step); 64 x 200 found both peaks of the 16-d camel (alpha = 0.1) in 10 of 10 seeds.
        explore_channels: the multi-channel kind runs the exploration too, after training, on the
            channel sum with the learned channel weights (the extended cube): a second probe of its
            coverage check, whose points are asked about the sampler's density (off by default: it
            costs ``explore_starts x explore_steps + probe_iter x vegas_per_iter`` calls of the
            channel sum).
        keep_points: points of each probe and of the final iterations kept for the coverage check.
    """

    vegas_adapt_iter: int = 5
    vegas_per_iter: int = 20_000
    probe_iter: int = 2
    warm_start: bool = False
    defensive: float = 0.1
    uniform: float = 0.01
    tune_shares: bool = True
    min_uniform: float = 0.005
    flow: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    n_iter: int = 5
    n_per_iter: int = 100_000
    coverage_threshold: float = 4.0
    explore: bool = True
    explore_starts: int = 64
    explore_steps: int = 200
    explore_channels: bool = False
    keep_points: int = 50_000


def flow_integrate(
    f: Integrand,
    dim: int,
    settings: FlowSettings | None = None,
    *,
    seed: SeedLike = 1,
    device: torch.device | str = "cpu",
    progress: Callable[[int, float], None] | None = None,
    exploration: tuple[IntegrationResult | None, ModeMixture | None] | None = None,
) -> tuple[IntegrationResult, FlowSampler]:
    """Integrate ``f`` over ``[0, 1]^dim`` with a trained flow; returns ``(result, sampler)``.

    ``seed`` (an integer or a node of a seed tree) drives the VEGAS adaptation and probe itself
    and spawns the streams of the network's initialisation and of training and the final
    iterations. ``exploration`` is what :func:`explore` returned on the stream
    :func:`exploration_stream` gives for ``seed`` (kind ``auto`` runs it first): it is used instead
    of exploring again, so the result is the same.

    The result carries ``flags["coverage"]`` (a :class:`CoverageCheck` as a dict) and
    ``flags["training"]`` (the :class:`TrainReport`); a coverage check that does not confirm the
    estimate (failed, or a weak probe) also sets
    ``flags["warning"]``.
    """
    settings = settings or FlowSettings()
    device = torch.device(device)
    seeds = as_seed_sequence(seed)
    probe, grid = vegas_integrate(
        f,
        dim,
        n_adapt_iter=settings.vegas_adapt_iter,
        n_per_iter=settings.vegas_per_iter,
        n_iter=settings.probe_iter,
        seed=seeds,
        device=device,
        keep_adaptation=(settings.vegas_adapt_iter + 1) // 2,
        keep_points=settings.keep_points,
    )
    init_seed, train_seed, explore_seed = seeds.spawn(3)
    flow = fresh_module(lambda: Flow(dim, **settings.flow), init_seed).to(device)
    sampler = FlowSampler(flow, grid, settings.defensive, settings.uniform, composed=settings.warm_start)
    if not settings.explore:
        explored, mixture = None, None
    elif exploration is not None:
        explored, mixture = exploration
    else:
        explored, mixture = explore(f, dim, settings, torch_generator(explore_seed, device))

    def g(v: Tensor) -> Tensor:
        u, log_jac = sampler.to_cube(v)
        return f(u) * torch.exp(log_jac)

    anchors = None
    # the exploration's points guide training only where its mixture describes f (an informative
    # probe): on a ridge, a chain of narrow Gaussians across it costs the flow (BW ridge 4-d: weight
    # spread 3.5 with such anchors, 2.5 without)
    if (
        explored is not None
        and explored.sample is not None
        and not sampler.composed
        and informative_probe(explored)[0]
    ):
        s = explored.sample
        batch = settings.train.batch
        anchors = [
            (s.u[i : i + batch], s.f[i : i + batch], s.log_q[i : i + batch])
            for i in range(0, len(s.u), batch)
        ][: settings.train.buffer_batches]
    generator = torch_generator(train_seed, device)
    report = train_flow(sampler, g, settings.train, generator, progress, anchors=anchors)
    shares = None
    if settings.tune_shares and report.pilot is not None:
        v, fv, log_qs = report.pilot
        shares = tune_shares(sampler, v, fv, log_qs, min_uniform=settings.min_uniform)
    result = integrate(
        f,
        sampler,
        n_iter=settings.n_iter,
        n_per_iter=settings.n_per_iter,
        generator=generator,
        n_eval_before=probe.n_eval + (explored.n_eval if explored else 0) + report.n_calls,
        keep_points=settings.keep_points,
        name=f"flow ({len(flow.couplings)} RQS couplings, defensive {sampler.defensive:g}, "
        f"uniform {sampler.uniform:g}" + (", on VEGAS grid)" if settings.warm_start else ")"),
    )
    probes = [evidence(result, sampler, "VEGAS probe", probe, grid)]
    if explored is not None and mixture is not None:
        probes.append(evidence(result, sampler, "mode-mixture probe", explored, mixture))
    check = coverage_check(result, probes, threshold=settings.coverage_threshold)
    result.sample = None  # the check's points; the sampler draws more at will
    result.flags["coverage"] = check.to_dict()
    if explored is not None and mixture is not None:
        result.flags["exploration"] = {"modes": mixture.describe(), "n_calls": explored.n_eval}
    result.flags["training"] = {k: v for k, v in report.to_dict().items() if k not in ("rel_std", "loss")} | {
        "rel_std_first": report.rel_std[0] if report.rel_std else None,
        "rel_std_last": report.rel_std[-1] if report.rel_std else None,
        # the weight spread of the adapted VEGAS grid (its frozen-grid probe): what training beat
        "vegas_spread": probe.weight_stats.get("spread"),
    }
    if shares is not None:
        result.flags["defensive"] = shares.to_dict()
    if not check.confirmed:
        result.warn(check.message)
    settle_heavy_tail(result, check)
    return result, sampler


def exploration_stream(seed: SeedLike) -> np.random.SeedSequence:
    """The stream :func:`flow_integrate` explores with for ``seed`` (its third child, not spawned here)."""
    seq = as_seed_sequence(seed)
    key = (*seq.spawn_key, seq.n_children_spawned + 2)
    return np.random.SeedSequence(seq.entropy, spawn_key=key, pool_size=seq.pool_size)


def explore(
    f: Integrand, dim: int, settings: FlowSettings, generator: torch.Generator
) -> tuple[IntegrationResult | None, ModeMixture | None]:
    """Find the modes of ``f`` and estimate ``int f`` with a mixture around them (the second probe).

    The probe spends ``probe_iter x vegas_per_iter`` calls, as the VEGAS probe does; the climbs'
    calls count in its ``n_eval``. ``(None, None)`` when no climb saw ``f != 0``.
    """
    mixture, calls = mode_probe_density(
        f, dim, generator, n_starts=settings.explore_starts, n_steps=settings.explore_steps
    )
    if mixture is None:
        return None, None
    result = integrate(
        f,
        mixture,
        n_iter=max(settings.probe_iter, 2),
        n_per_iter=settings.vegas_per_iter,
        generator=generator,
        n_eval_before=calls,
        keep_points=settings.keep_points,
        name=f"mode mixture ({mixture.describe()})",
    )
    return result, mixture


def evidence(
    result: IntegrationResult, sampler: Sampler, name: str, probe: IntegrationResult, density: Sampler
) -> ProbeEvidence:
    """A probe with its region shares: each side's points asked about the other's density.

    ``result`` and ``probe`` carry their points (``sample``); the largest weight each density gave
    its own points marks where the other is thinner than anything it has shown.
    """
    own, other = result.sample, probe.sample
    if own is None or other is None:
        return ProbeEvidence(name, probe)
    w_max_sampler = float(own.weights.abs().max())
    w_max_probe = float(other.weights.abs().max())
    return ProbeEvidence(
        name,
        probe,
        missed_by_sampler=uncovered_share(other, sampler.log_prob(other.u), w_max_sampler),
        missed_by_probe=uncovered_share(own, density.log_prob(own.u), w_max_probe),
    )


def flow_settings(options: Mapping[str, Any], budget: Budget) -> FlowSettings:
    """The settings of a run card's ``[integrator.flow]`` table (``options``) and budget.

    ``options`` has the table's keys (:class:`mlgen.cards.schema.FlowCard`); a missing key takes
    :class:`FlowSettings`' default.
    """
    base, train = FlowSettings(), TrainConfig()
    flow_keys = {"n_bins", "hidden", "layers", "n_blocks"}
    train_keys = ("n_calls", "batch", "replay", "loss", "lr", "anneal")
    plain: tuple[str, ...] = (
        "vegas_per_iter",
        "probe_iter",
        "defensive",
        "uniform",
        "tune_shares",
        "min_uniform",
    )
    plain += ("warm_start", "coverage_threshold", "explore", "explore_starts", "explore_steps")
    plain += ("explore_channels",)
    return replace(
        base,
        vegas_adapt_iter=budget.n_adapt_iter,
        n_iter=budget.n_iter,
        n_per_iter=budget.n_per_iter,
        flow={k: v for k, v in options.items() if k in flow_keys},
        train=replace(train, **{k: v for k, v in options.items() if k in train_keys}),
        **{k: v for k, v in options.items() if k in plain},
    )
