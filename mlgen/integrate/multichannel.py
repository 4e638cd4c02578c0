"""Multi-channel neural importance sampling: a flow per channel, learned channel weights, stratification.

The integrand is the channel sum of :class:`~mlgen.integrate.channels.ChannelMaps`
on the extended cube ``(t, u)`` (a process's propagator channels, or a plain
integrand's maps of the cube). :class:`MultiChannelSampler` draws the channel ``c``
with probability ``p_c`` (the allocation), ``t`` uniform in the channel's slice
and ``u`` from channel ``c``'s :class:`~mlgen.integrate.flow_sampler.FlowSampler`,
so ``q(t, u) = C p_c q_c(u)`` and the weight is ``alpha_c f |J_c| / (p_c q_c)``.

:func:`multichannel_integrate` spends its calls like :func:`~mlgen.integrate.nis.flow_integrate`:

1. a VEGAS adaptation per channel on ``alpha_c^prior f |J_c|``, then a probe
   with the frozen grids (the sum of the channel probes is the independent
   estimate of the coverage check); each channel's flow learns on the plain
   cube, the grid giving its defensive share (on top of the grid with
   ``settings.warm_start``);
2. joint training of the channel flows and the channel-weight network on the
   stratified variance ``(sum_c sigma_c)^2`` (arXiv:2311.01548), while the
   allocation moves to ``p_c ~ r_c``, ``r_c`` the rms of ``alpha_c f / q_c`` in
   channel ``c``: the channels of a sample are drawn at random, so the weights'
   variance is ``sum_c r_c^2 / p_c - I^2`` (``I`` the integral), least there (``p_c ~ sigma_c``,
   the optimum of fixed channel counts, left the channels' mean weights apart:
   on Drell-Yan + Z' a weight spread of 0.16 against 0.13);
3. re-choosing each channel's defensive shares on the last training batches
   (:mod:`mlgen.integrate.defensive`), and dropping channels whose optimal
   share (``p_c ~ r_c``, without the training's floor) is below ``drop_below``;
4. independent iterations with everything frozen;
5. the allocation for event generation: ``p_c ~ M_c``, ``M_c`` the (reduced) maximum of channel
   ``c``'s weights per unit allocation in those iterations (:func:`unweighting_allocation`), so that
   every channel reaches the same maximum weight. The variance's optimum ``p_c ~ r_c`` lets a
   channel with a small rms but rare large weights set the maximum for all (g g -> t t~ g on
   MadEvent's 15 channels: hit-or-miss efficiency 0.0088 with it); sigma comes from step 4.
"""

from __future__ import annotations

__all__ = ["MultiChannelSampler", "multichannel_integrate", "train_multichannel"]

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from mlgen.flows.coupling import Flow
from mlgen.initialise import fresh_module
from mlgen.integrate.base import Integrand
from mlgen.integrate.channel_weights import ChannelWeights
from mlgen.integrate.channels import ChannelMaps
from mlgen.integrate.coverage import ProbeEvidence, coverage_check, settle_heavy_tail
from mlgen.integrate.defensive import tune_shares
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.loop import integrate, vegas_integrate
from mlgen.integrate.losses import stratified_variance_loss
from mlgen.integrate.nis import FlowSettings, evidence, explore
from mlgen.integrate.result import IntegrationResult, Iteration, PointSample
from mlgen.integrate.train import TrainReport, guarded_step
from mlgen.metrics import reduced_max
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


class MultiChannelSampler:
    """A density on the extended cube ``[0, 1]^(1 + d)``: channel allocation times per-channel flow samplers.

    Arguments:
        samplers: one :class:`FlowSampler` per channel (all of dimension ``d``).
        weights: the channel-weight network (part of the integrand; saved with the sampler).
        allocation: ``(C,)`` channel probabilities ``p_c`` (normalised here).
    """

    def __init__(self, samplers: list[FlowSampler], weights: ChannelWeights, allocation: Tensor) -> None:
        self.samplers = samplers
        self.weights = weights
        self.n_channels = len(samplers)
        self.dim = 1 + samplers[0].dim
        self.allocation = (allocation / allocation.sum()).to(torch.float64).cpu()

    def _counts(self, n: int, generator: torch.Generator) -> Tensor:
        channel = torch.multinomial(
            self.allocation.to(generator.device), n, replacement=True, generator=generator
        )
        return channel

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` points of the extended cube and ``log q`` (float64), in random channel order."""
        device = generator.device
        channel = self._counts(n, generator)
        u_ext = torch.empty(n, self.dim, dtype=torch.float64, device=device)
        log_q = torch.empty(n, dtype=torch.float64, device=device)
        t = torch.rand(n, generator=generator, dtype=torch.float64, device=device)
        for c in range(self.n_channels):
            idx = torch.nonzero(channel == c).squeeze(1)
            if idx.numel() == 0:
                continue
            u, lq = self.samplers[c].sample(idx.numel(), generator)
            u_ext[idx, 1:] = u
            u_ext[idx, 0] = (c + t[idx]) / self.n_channels
            log_q[idx] = lq + math.log(self.n_channels * float(self.allocation[c]))
        return u_ext, log_q

    def log_prob(self, u_ext: Tensor) -> Tensor:
        """``log q`` at extended points (``-inf`` in a channel with no allocation)."""
        channel = (u_ext[:, 0] * self.n_channels).long().clamp(0, self.n_channels - 1)
        out = torch.full((u_ext.shape[0],), -math.inf, dtype=torch.float64, device=u_ext.device)
        for c in range(self.n_channels):
            sel = channel == c
            p = float(self.allocation[c])
            if bool(sel.any()) and p > 0:
                out[sel] = self.samplers[c].log_prob(u_ext[sel, 1:]) + math.log(self.n_channels * p)
        return out

    def integrand(self, channels: ChannelMaps) -> Integrand:
        """The integrand on the extended cube that this sampler was trained for: the channel sum of
        ``channels`` with the sampler's learned channel weights."""
        return channels.weighted(self.weights)

    def to(self, device: torch.device | str) -> MultiChannelSampler:
        for s in self.samplers:
            s.to(device)
        self.weights.to(device)
        return self

    def state(self) -> dict[str, Any]:
        """The channels' flow samplers, the channel-weight network and the allocation, on the CPU."""
        return {
            "channels": [s.state() for s in self.samplers],
            "weights_config": self.weights.config,
            "weights": {k: v.cpu() for k, v in self.weights.state_dict().items()},
            "allocation": self.allocation,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> MultiChannelSampler:
        weights = ChannelWeights(**state["weights_config"])
        weights.load_state_dict(state["weights"])
        samplers = [FlowSampler.from_state(s, device) for s in state["channels"]]
        return cls(samplers, weights.to(device), state["allocation"])


def train_multichannel(
    channels: ChannelMaps,
    sampler: MultiChannelSampler,
    settings: FlowSettings,
    generator: torch.Generator,
    progress: Callable[[int, float], None] | None = None,
) -> TrainReport:
    """Train the channel flows and channel weights jointly; moves ``sampler.allocation`` to ``p_c ~ r_c``.

    The weights of ``channels`` are ``sampler.weights``.
    """
    config = settings.train
    params = [p for s in sampler.samplers for p in s.flow.parameters()] + list(sampler.weights.parameters())
    optimizer = torch.optim.Adam(params, lr=config.lr, fused=True)
    n_fresh = config.n_calls // config.batch
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, n_fresh * (1 + config.replay), eta_min=config.lr / 20
    )
    report = TrainReport()
    buffer: list[list[tuple[int, Tensor, Tensor, Tensor, Tensor, Tensor]]] = []
    rms_ema = torch.ones(sampler.n_channels, dtype=torch.float64)
    dtype = params[0].dtype  # the flows train in their networks' dtype (train_flow)
    start = time.perf_counter()
    for step in range(n_fresh):
        channel = sampler._counts(config.batch, generator)
        latent: list[tuple[int, Tensor, Tensor, Tensor]] = []
        for c in range(sampler.n_channels):
            n_c = int((channel == c).sum())
            if n_c < 2:
                continue
            s = sampler.samplers[c]
            v, _ = s.sample_latent(n_c, generator, dtype, density=False)
            u, log_jac = s.to_cube(v)
            latent.append((c, v, u, log_jac))
        # all channels' points in one evaluation of the integrand
        points = channels.channel_values([(c, u) for c, _, u, _ in latent]) if latent else []
        drawn: list[tuple[int, Tensor, Tensor, Tensor, Tensor]] = [
            # f |J_c| in the channel's latent space
            (c, v, point.value * torch.exp(log_jac), point.features, point.log_prior)
            for (c, v, _, log_jac), point in zip(latent, points, strict=True)
        ]
        report.n_calls += config.batch
        if not all(bool(torch.isfinite(b[2]).all()) for b in drawn):
            report.n_skipped += 1
            continue
        # the densities the points were drawn from come out of the first step's own pass (train_flow)
        log_ps = [sampler.samplers[c].log_prob_latent(v, dtype, mixed=False) for c, v, *_ in drawn]
        batch = [
            (c, v, f, sampler.samplers[c].mix(log_p.detach(), v), feats, log_prior)
            for (c, v, f, feats, log_prior), log_p in zip(drawn, log_ps, strict=True)
        ]
        buffer = [*buffer[-(config.buffer_batches - 1) :], batch] if config.buffer_batches > 1 else [batch]
        chosen = [batch] + [
            buffer[int(torch.randint(len(buffer), (1,), generator=generator, device=generator.device))]
            for _ in range(config.replay)
        ]
        for i, b in enumerate(chosen):
            optimizer.zero_grad(set_to_none=True)
            f_all: list[Tensor] = []
            lqs_all: list[Tensor] = []
            lq_all: list[Tensor] = []
            ch_all: list[Tensor] = []
            for k, (c, v, f, lqs, feats, log_prior) in enumerate(b):
                alpha = torch.exp(sampler.weights(feats, log_prior)[:, c]).to(f.dtype)
                log_p = log_ps[k] if i == 0 else sampler.samplers[c].log_prob_latent(v, dtype, mixed=False)
                lq = sampler.samplers[c].mix(log_p, v) if config.fit == "mixture" else log_p
                f_all.append(alpha * f)
                lqs_all.append(lqs)
                lq_all.append(lq)
                ch_all.append(torch.full_like(f, c, dtype=torch.long))
            f_cat, lqs_cat, lq_cat = torch.cat(f_all), torch.cat(lqs_all), torch.cat(lq_all)
            ch_cat = torch.cat(ch_all)
            loss = stratified_variance_loss(f_cat, lqs_cat, lq_cat, ch_cat, sampler.n_channels)
            if i == 0:  # fresh points: the channels' rms weights for the allocation, and the report
                with torch.no_grad():
                    log_p = torch.log(sampler.allocation.to(ch_cat.device))[ch_cat]
                    w = f_cat / torch.exp(lqs_cat + log_p)  # weights of the whole mixture
                    total = float(w.mean())
                    rms = torch.zeros(sampler.n_channels, dtype=torch.float64)
                    for c in range(sampler.n_channels):
                        sel = ch_cat == c
                        if int(sel.sum()) > 1:
                            rms[c] = float((f_cat[sel] / torch.exp(lqs_cat[sel])).pow(2).mean().sqrt())
                    rms_ema = 0.8 * rms_ema + 0.2 * rms if step else rms.clone()
                    report.rel_std.append(float(w.std()) / abs(total) if total else math.inf)
                    if progress is not None:
                        progress(report.n_calls, report.rel_std[-1])
            guarded_step(loss, optimizer, schedule, params, config.clip, report)
        # the allocation of least variance, p_c ~ r_c, with a floor so that no active channel starves
        active = sampler.weights.active.cpu()
        target = rms_ema.clamp(min=0) * active
        if float(target.sum()) > 0:
            target = target / target.sum()
            target = torch.where(active, target.clamp(min=0.02 / int(active.sum())), torch.zeros_like(target))
            sampler.allocation = target / target.sum()
    report.seconds = time.perf_counter() - start
    report.channel_rms = (rms_ema.clamp(min=0) * sampler.weights.active.cpu()).tolist()
    # the buffer's fresh batches, per channel: the pilot sample of tune_channel_shares
    report.pilot = [
        tuple(torch.cat(parts) for parts in zip(*[b[1:] for fresh in buffer for b in fresh if b[0] == c]))
        for c in range(sampler.n_channels)
    ]
    return report


def unweighting_allocation(sample: PointSample, allocation: Tensor, q: float = 1e-3) -> Tensor:
    """The allocation under which every channel's largest weights are equal: ``p_c ~ M_c``, with
    ``M_c`` the maximum whose larger weights carry a fraction ``q`` of channel ``c``'s part of sigma
    (:func:`~mlgen.metrics.reduced_max`), of the weights per unit allocation ``w p_c`` of channel
    ``c``'s points in ``sample`` (drawn with ``allocation``). Hit-or-miss then has the efficiency
    ``sigma / sum_c M_c``; a channel with no points keeps its share."""
    n_ch = len(allocation)
    channel = (sample.u[:, 0] * n_ch).long().clamp(0, n_ch - 1).cpu()
    g = (sample.f / torch.exp(sample.log_q)).abs().cpu() * allocation[channel]
    m = allocation.clone()
    seen = torch.zeros(n_ch, dtype=torch.bool)
    for c in range(n_ch):
        sel = channel == c
        if float(allocation[c]) > 0 and bool((g[sel] > 0).any()):
            m[c] = reduced_max(g[sel], q)
            seen[c] = True
    if not bool(seen.any()):
        return allocation
    # a channel with no non-zero weight in the sample: its old share, in units of the others' maxima
    scale = float(m[seen].sum()) / max(float(allocation[seen].sum()), 1e-300)
    m = torch.where(seen, m, allocation * scale)
    return m / m.sum()


def tune_channel_shares(sampler: MultiChannelSampler, pilot: list[tuple], min_uniform: float) -> list[dict]:
    """Re-choose each channel's defensive shares (:func:`~mlgen.integrate.defensive.tune_shares`).

    ``pilot[c]`` holds channel ``c``'s last fresh points ``(v, f |J_c|, log q_s, features,
    log prior)``; its integrand is ``alpha_c f |J_c|`` with the learned channel weights.
    """
    choices: list[dict[str, Any]] = []
    for c, points in enumerate(pilot):
        if not points or not bool(sampler.weights.active[c]):
            choices.append({})
            continue
        v, f, log_qs, feats, log_prior = points
        with torch.no_grad():
            alpha = torch.exp(sampler.weights(feats, log_prior)[:, c]).to(f.dtype)
        if not bool((alpha * f != 0).any()):
            choices.append({})
            continue
        choices.append(tune_shares(sampler.samplers[c], v, alpha * f, log_qs, min_uniform).to_dict())
    return choices


def multichannel_integrate(
    channels: ChannelMaps,
    settings: FlowSettings | None = None,
    *,
    seed: SeedLike = 1,
    device: torch.device | str = "cpu",
    drop_below: float = 1e-3,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[IntegrationResult, MultiChannelSampler]:
    """Integrate the channel sum of ``channels``; returns ``(result, sampler)``.

    The sampler draws points of the extended cube ``[0, 1]^(1 + d)``; the integrand it belongs to
    is ``channels.weighted(sampler.weights)`` (:meth:`MultiChannelSampler.integrand`): integrate
    and generate events with that. Streams spawned from ``seed``: the VEGAS grids (one per
    channel), the networks' initialisation, training and the final iterations.
    """
    settings = settings or FlowSettings()
    device = torch.device(device)
    n_ch = channels.n_channels
    seeds = as_seed_sequence(seed)
    grid_seeds, weights_seed, flow_seeds, train_seed = seeds.spawn(4)
    weights = fresh_module(lambda: ChannelWeights(channels.n_features, n_ch), weights_seed).to(device)
    grids, probes = [], []
    for c, grid_seed in enumerate(grid_seeds.spawn(n_ch)):

        def f_prior(u: Tensor, c: int = c) -> Tensor:
            point = channels.channel_value(c, u)
            return point.value * torch.exp(point.log_prior[:, c])

        probe, grid = vegas_integrate(
            f_prior,
            channels.channel_dim,
            n_adapt_iter=settings.vegas_adapt_iter,
            n_per_iter=max(settings.vegas_per_iter // n_ch, 1000),
            n_iter=settings.probe_iter,
            seed=grid_seed,
            device=device,
            keep_adaptation=(settings.vegas_adapt_iter + 1) // 2,
        )
        grids.append(grid)
        probes.append(probe)
    probe_all = IntegrationResult(
        [Iteration(sum(p.mean for p in probes), math.sqrt(sum(p.sdev**2 for p in probes)), 0)],
        sum(p.n_eval for p in probes),
        sampler="VEGAS probe, sum of channels",
    )
    samplers = []
    for grid, flow_seed in zip(grids, flow_seeds.spawn(n_ch), strict=True):
        flow = fresh_module(lambda: Flow(channels.channel_dim, **settings.flow), flow_seed)
        samplers.append(
            FlowSampler(
                flow.to(device), grid, settings.defensive, settings.uniform, composed=settings.warm_start
            )
        )
    # start from the allocation the probes suggest, p_c ~ sigma_c of the VEGAS channel estimates
    # (training moves it to p_c ~ r_c within a few batches)
    start = torch.tensor(
        [p.iterations[-1].sdev * math.sqrt(p.iterations[-1].n) for p in probes], dtype=torch.float64
    )
    start = start.clamp(min=1e-3 * float(start.max())) if float(start.max()) > 0 else torch.ones(n_ch)
    sampler = MultiChannelSampler(samplers, weights, start)
    generator = torch_generator(train_seed, device)
    report = train_multichannel(channels, sampler, settings, generator, progress)
    shares = None
    if settings.tune_shares and report.pilot is not None:
        shares = tune_channel_shares(sampler, report.pilot, settings.min_uniform)
    # drop by the optimal share, p_c ~ r_c: the training's floor on the allocation (so that no channel
    # starves while it learns) would otherwise keep a channel that carries nothing, whose points all
    # weigh ~0 (Drell-Yan + Z': the photon's, at 0.1% of sigma)
    rms = torch.tensor(report.channel_rms, dtype=torch.float64)
    optimal = rms / rms.sum() if float(rms.sum()) > 0 else sampler.allocation
    dropped = []
    for c in range(n_ch):
        if float(optimal[c]) < drop_below and int(weights.active.sum()) > 1:
            weights.drop(c)
            dropped.append(c)
    if dropped:
        alloc = sampler.allocation.clone()
        alloc[dropped] = 0.0
        sampler.allocation = alloc / alloc.sum()
    result = integrate(
        sampler.integrand(channels),
        sampler,
        n_iter=settings.n_iter,
        n_per_iter=settings.n_per_iter,
        generator=generator,
        n_eval_before=probe_all.n_eval + report.n_calls,
        name=f"multi-channel flow ({n_ch} channels, {len(dropped)} dropped)",
        keep_points=min(settings.n_iter * settings.n_per_iter, 1_000_000),  # for the generation allocation
    )
    probe_evidence = [ProbeEvidence("VEGAS probe", probe_all)]
    if settings.explore_channels:  # a second probe, on the channel sum itself (issue 30)
        explored, mixture = explore(
            sampler.integrand(channels), sampler.dim, settings, torch_generator(seeds.spawn(1)[0], device)
        )
        if explored is not None and mixture is not None:
            probe_evidence.append(evidence(result, sampler, "mode-mixture probe", explored, mixture))
            result.n_eval += explored.n_eval
            result.flags["exploration"] = {"modes": mixture.describe(), "n_calls": explored.n_eval}
    check = coverage_check(result, probe_evidence, threshold=settings.coverage_threshold)
    result.flags["coverage"] = check.to_dict()
    integration_allocation = sampler.allocation.clone()
    if result.sample is not None:
        sampler.allocation = unweighting_allocation(result.sample, integration_allocation)
    result.flags["training"] = {k: v for k, v in report.to_dict().items() if k not in ("rel_std", "loss")} | {
        "rel_std_first": report.rel_std[0] if report.rel_std else None,
        "rel_std_last": report.rel_std[-1] if report.rel_std else None,
    }
    result.flags["channels"] = {
        "labels": channels.labels,
        "allocation": [float(a) for a in integration_allocation],
        "optimal_allocation": [float(a) for a in optimal],
        "generation_allocation": [float(a) for a in sampler.allocation],
        "dropped": dropped,
    }
    if shares is not None:
        result.flags["defensive"] = shares
    if not check.confirmed:
        result.warn(check.message)
    settle_heavy_tail(result, check)
    return result, sampler
