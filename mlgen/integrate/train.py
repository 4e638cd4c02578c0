"""Training a flow sampler on an integrand: online, with a replay buffer for expensive integrands.

Each *fresh* step draws a batch from the current sampler, evaluates the
integrand once and stores ``(v, f, log q_sampled)`` in a buffer; ``replay``
further steps reuse buffered points (the losses reweight them by ``q / q_s``),
so an integrand call is used ``1 + replay`` times. Adam with a cosine learning-
rate schedule and gradient-norm clipping; a batch whose loss or gradient is not
finite is skipped and counted, never applied. Early stopping watches the
relative standard deviation of the weights of the fresh batches (points the
network has not been trained on yet) and stops when it has not improved by 1%
for ``patience`` fresh batches.

Annealing (``anneal > 0``) trains on ``|f|^beta`` with ``beta`` rising linearly
from ``beta0`` to 1 over the first ``anneal`` share of the fresh batches, with
the ``anneal_loss`` (KL: scale-free, so the changing normalisation of
``|f|^beta`` does not matter), then on ``|f|`` with ``loss``. A flattened
target spreads the training signal over the whole support, so narrow
structures that a uniform start rarely hits (a Breit-Wigner ridge along a
diagonal, one peak of a camel) are found before the target sharpens; no extra
integrand calls are spent (the points' ``f`` are raised to the power). On the
8-d Breit-Wigner ridge at 10^6 calls this took the weight spread from 122 to
1.8; the variance loss after it keeps the camel's unweighting efficiency, which
KL throughout lowered (measured when the annealing came in: ``git log -p -- benchmarks/README.md``).

The loss fits the flow's own density (``fit = "flow"``): the points drawn
from the defensive shares are exploration, reweighted like the rest, and the
flow learns the whole integrand, tails included, so that the shares can be
lowered after training (:mod:`mlgen.integrate.defensive`). The last
``PILOT_BATCHES`` fresh batches are kept for that (``TrainReport.pilot``).
"""

from __future__ import annotations

__all__ = ["TrainConfig", "TrainReport", "guarded_step", "train_flow"]

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import Tensor

from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.losses import LOSSES

PILOT_BATCHES = 20
"""Fresh batches kept after training as the pilot sample (``TrainReport.pilot``)."""


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train_flow`.

    Attributes:
        n_calls: integrand calls to spend on training (the budget).
        batch: points per fresh batch.
        replay: buffered steps per fresh step (0: purely online).
        buffer_batches: fresh batches kept in the buffer.
        loss: ``"variance"`` or ``"kl"``.
        lr: initial learning rate (cosine decay to ``lr / 20``).
        clip: gradient-norm clip.
        patience: fresh batches without a 1% improvement of rel. std before stopping (0: never).
        anneal: share of the fresh batches over which the target goes from ``|f|^beta0`` to ``|f|``
            (0: no annealing).
        beta0: the first exponent of annealing, in ``(0, 1]``.
        anneal_loss: the loss while annealing (``"kl"`` or ``"variance"``).
        fit: the density the loss fits: ``"flow"``, the flow's alone (the defensive points are then
            only exploration, reweighted like any other), or ``"mixture"``, the whole defensive
            mixture. A flow fitted inside the mixture leaves the tails to the defensive shares, so
            they cannot be lowered after training without losing unweighting efficiency; fitted
            alone it covers them itself (camel 8-d at 10^6 calls, shares re-chosen: weight spread
            0.27 and eps(q) 0.52 against 0.32 and 0.20).
    """

    n_calls: int = 200_000
    batch: int = 1_024
    replay: int = 1
    buffer_batches: int = 10
    loss: str = "variance"
    lr: float = 3e-3
    clip: float = 10.0
    patience: int = 0
    anneal: float = 0.5
    beta0: float = 0.25
    anneal_loss: str = "kl"
    fit: str = "flow"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; expected one of {sorted(LOSSES)}")
        if self.batch <= 0 or self.n_calls < self.batch:
            raise ValueError(f"need 0 < batch <= n_calls, got batch={self.batch}, n_calls={self.n_calls}")
        if not 0 <= self.anneal <= 1:
            raise ValueError(f"anneal: expected a share of the training in [0, 1], got {self.anneal}")
        if self.anneal_loss not in LOSSES:
            raise ValueError(f"unknown anneal_loss {self.anneal_loss!r}; expected one of {sorted(LOSSES)}")
        if self.fit not in ("flow", "mixture"):
            raise ValueError(f"fit: expected 'flow' or 'mixture', got {self.fit!r}")
        if not 0 < self.beta0 <= 1:
            raise ValueError(f"beta0: expected an exponent in (0, 1], got {self.beta0}")


@dataclass
class TrainReport:
    """What training did: calls, steps, skipped batches, rel. std per fresh batch, wall time."""

    n_calls: int = 0
    n_steps: int = 0
    n_skipped: int = 0
    stopped_early: bool = False
    rel_std: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    channel_rms: list[float] | None = None
    """Multi-channel trainer: each channel's rms weight ``r_c`` (smoothed over the last batches); the
    allocation of least variance is proportional to it."""
    pilot: Any = field(default=None, repr=False)
    """The last fresh batches' ``(v, f, log q_sampled)``, already paid for: the pilot sample of
    :func:`~mlgen.integrate.defensive.tune_shares` (per channel for the multi-channel trainer)."""

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "pilot"}


def _rel_std(f: Tensor, log_q: Tensor) -> float:
    w = f * torch.exp(-log_q)
    mean = float(w.mean())
    return float(w.std()) / abs(mean) if mean != 0 else math.inf


def _beta(config: TrainConfig, progress: float) -> float:
    """The annealing exponent after ``progress`` (0 to 1) of the fresh batches."""
    if config.anneal == 0:
        return 1.0
    return min(1.0, config.beta0 + (1 - config.beta0) * progress / config.anneal)


def guarded_step(
    loss: Tensor,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    params: list[torch.nn.Parameter],
    clip: float,
    report: TrainReport,
) -> None:
    """One step on ``loss`` (gradients zeroed before): a non-finite loss or gradient is skipped, counted."""
    if not bool(torch.isfinite(loss)):
        report.n_skipped += 1
        schedule.step()
        return
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(params, clip)
    if bool(torch.isfinite(norm)):
        optimizer.step()
        report.loss.append(float(loss.detach()))
    else:
        report.n_skipped += 1
        optimizer.zero_grad(set_to_none=True)
    report.n_steps += 1
    schedule.step()


def train_flow(
    sampler: FlowSampler,
    g: Callable[[Tensor], Tensor],
    config: TrainConfig,
    generator: torch.Generator,
    progress: Callable[[int, float], None] | None = None,
    anchors: list[tuple[Tensor, Tensor, Tensor]] | None = None,
) -> TrainReport:
    """Train ``sampler.flow`` on ``g``, an integrand over the sampler's *latent* space.

    ``g(v) = f(V(v)) |dV/dv|`` when the sampler has a VEGAS grid ``V``.
    ``progress(calls, rel_std)`` is called after every fresh batch.
    ``anchors``: batches ``(v, g(v), log q_s(v))`` already paid for by another density (an
    exploration's, :mod:`mlgen.integrate.explore`) that stay in the replay pool for the whole
    training, so regions the fresh batches have not reached yet keep pulling the flow there.
    """
    loss_fn = LOSSES[config.loss]
    params = [p for p in sampler.flow.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr, fused=True)
    n_fresh = config.n_calls // config.batch
    total_steps = n_fresh * (1 + config.replay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps, eta_min=config.lr / 20)
    buffer: list[tuple[Tensor, Tensor, Tensor]] = []
    pilot: list[tuple[Tensor, Tensor, Tensor]] = []
    report = TrainReport()
    best, since_best = math.inf, 0
    # the flow runs in its networks' dtype (float32 by default) while training; log q stays float64
    dtype = next(sampler.flow.parameters()).dtype
    start = time.perf_counter()
    for i in range(n_fresh):
        beta = _beta(config, i / n_fresh)
        v, _ = sampler.sample_latent(config.batch, generator, dtype, density=False)
        f = g(v)
        report.n_calls += config.batch
        if not bool(torch.isfinite(f).all()):
            report.n_skipped += 1
            continue
        # the density the points were drawn from comes out of the first step's own pass
        log_p = sampler.log_prob_latent(v, dtype, mixed=False)
        log_qs = sampler.mix(log_p.detach(), v)
        buffer = (
            [*buffer[-(config.buffer_batches - 1) :], (v, f, log_qs)]
            if config.buffer_batches > 1
            else [(v, f, log_qs)]
        )
        pilot = [*pilot[-(PILOT_BATCHES - 1) :], (v, f, log_qs)]
        report.rel_std.append(_rel_std(f, log_qs))
        if progress is not None:
            progress(report.n_calls, report.rel_std[-1])
        batches = [(v, f, log_qs)]
        pool = buffer + (anchors or [])
        for _ in range(config.replay):
            k = int(torch.randint(len(pool), (1,), generator=generator, device=generator.device))
            batches.append(pool[k])
        for j, (vb, fb, lqs) in enumerate(batches):
            optimizer.zero_grad(set_to_none=True)
            if j:
                log_p = sampler.log_prob_latent(vb, dtype, mixed=False)
            guarded_step(
                (loss_fn if beta == 1 else LOSSES[config.anneal_loss])(
                    fb.abs() ** beta if beta < 1 else fb,
                    lqs,
                    sampler.mix(log_p, vb) if config.fit == "mixture" else log_p,
                ),
                optimizer,
                schedule,
                params,
                config.clip,
                report,
            )
        if config.patience:
            if report.rel_std[-1] < 0.99 * best:
                best, since_best = report.rel_std[-1], 0
            else:
                since_best += 1
                if since_best >= config.patience:
                    report.stopped_early = True
                    break
    report.seconds = time.perf_counter() - start
    if pilot:
        report.pilot = tuple(torch.cat(parts) for parts in zip(*pilot, strict=True))
    return report
