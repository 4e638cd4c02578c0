"""Weighted and unweighted events from a trained sampler and a process.

Unweighting is hit-or-miss against a maximum fixed *before* generation from a
pilot sample (the true maximum of the pilot, or a reduced maximum whose
overweights carry at most a fraction ``q`` of σ). Events above it are kept with
weight > 1 in units of the maximum and counted, so nothing is clipped silently.
"""

from __future__ import annotations

__all__ = [
    "EventSource",
    "GenerationReport",
    "generate_unweighted",
    "generate_weighted",
    "normalise_unweighted",
]

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor

from mlgen.events import EventBatch
from mlgen.integrate.base import Sampler
from mlgen.process.channels import MultiChannelProcess
from mlgen.process.process import Evaluation, Process
from mlgen.process.record import EventBuilder
from mlgen.unweight import choose_max, hit_or_miss

EventSource = Process | MultiChannelProcess
"""What events are generated from: a process, or its channel sum on the extended cube."""


@dataclass
class GenerationReport:
    """What event generation did.

    Attributes:
        n_weighted: weighted points drawn (integrand evaluations), the pilot's included where
            it was drawn here.
        n_nonzero: points with a non-zero weight (inside cuts).
        n_unweighted: events kept (hit-or-miss stops once ``n_events`` are in hand).
        w_max_pb: the maximum used for hit-or-miss, pb.
        mode: ``max`` (pilot's true maximum), ``reduced`` or ``none``.
        n_overweight: kept events whose weight exceeded ``w_max``.
        overweight_fraction: share of σ above ``w_max`` in the generated sample.
        efficiency: accepted / weighted points (all hits, before stopping at ``n_events``).
        sigma_pb, sigma_err_pb: the mean weight of the generated sample and its error.
    """

    n_weighted: int = 0
    n_nonzero: int = 0
    n_unweighted: int = 0
    w_max_pb: float = 0.0
    mode: str = "reduced"
    n_overweight: int = 0
    overweight_fraction: float = 0.0
    efficiency: float = 0.0
    sigma_pb: float = 0.0
    sigma_err_pb: float = 0.0
    weights: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out.pop("weights")
        return out


def _weighted_points(
    process: EventSource, sampler: Sampler, n: int, generator: torch.Generator
) -> tuple[Evaluation, Tensor, Tensor | None]:
    """``n`` points: the evaluation, the weights ``f/q`` in pb and the scale variations' weights."""
    u, log_q = sampler.sample(n, generator)
    ev = process.evaluate(u)
    w = ev.weight / torch.exp(log_q)
    extra = None
    if ev.variations is not None:
        extra = ev.variations / torch.exp(log_q)[:, None]
    return ev, w, extra


def _records(
    builder: EventBuilder,
    ev: Evaluation,
    w: Tensor,
    extra: Tensor | None,
    keep: Tensor,
    generator: torch.Generator,
    alpha_qed: float,
) -> EventBatch:
    """Event records of the points ``keep`` only: the record's choices (flavour, colour flow and, for a
    MadGraph5 process, helicities) cost the matrix element calls of their own, so they are made
    for the events that are kept, not for every weighted point."""
    weight = w[keep]
    return builder.build(
        ev.momenta[keep],
        ev.contributions[keep],
        weight,
        generator,
        scale=ev.mu_f[keep],
        alpha_s=ev.alpha_s[keep],
        alpha_qed=torch.full_like(weight, alpha_qed),
        x1=ev.x1[keep],
        x2=ev.x2[keep],
        mu_r=ev.mu_r[keep],
        mu_f=ev.mu_f[keep],
        extra_weights=None if extra is None else extra[keep],
    )


def generate_weighted(
    process: EventSource, sampler: Sampler, n: int, generator: torch.Generator, builder: EventBuilder
) -> tuple[EventBatch, Tensor]:
    """``n`` weighted events: the event record (weights ``f/q`` in pb) and the raw weights."""
    ev, w, extra = _weighted_points(process, sampler, n, generator)
    everything = torch.arange(n, device=w.device)
    return _records(builder, ev, w, extra, everything, generator, process.alpha_qed), w


def generate_unweighted(
    process: EventSource,
    sampler: Sampler,
    n_events: int,
    *,
    generator: torch.Generator,
    mode: str = "reduced",
    overweight_fraction: float = 1e-3,
    batch_size: int = 200_000,
    pilot: Tensor | None = None,
    max_batches: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[EventBatch, GenerationReport]]:
    """Yield unweighted event batches until ``n_events`` are kept.

    Arguments:
        process, sampler: what to generate from.
        n_events: number of unweighted events.
        generator: randomness (sampling, flavour and colour choice, hit-or-miss).
        mode: ``max``, ``reduced`` or ``none`` (``none`` yields weighted events).
        overweight_fraction: ``q`` for ``reduced``.
        batch_size: weighted points per step.
        pilot: weights of a pilot sample to fix ``w_max``; if ``None``, ``batch_size`` points are
            drawn, fix it, and are the first batch of the hit-or-miss (their cost is not lost).
        progress: called with the number of events kept so far.

    Yields:
        ``(batch, report)``: each batch's weights are in units of ``w_max`` times
        ``sign(w)`` (1 for ordinary events, more for overweights); the caller fixes
        the overall normalisation (see :func:`normalise_unweighted`). ``report``
        is updated in place and final after the last batch.
    """
    builder = EventBuilder(process.matrix_element)
    report = GenerationReport(mode=mode)
    first: tuple[Evaluation, Tensor, Tensor | None] | None = None
    if pilot is None:
        # the pilot's points are events too: hit-or-miss runs on them first, against the maximum
        # they fixed (as MadEvent unweights the very points its maximum comes from); overweights
        # keep their weight above 1, so no point is clipped
        first = _weighted_points(process, sampler, batch_size, generator)
        pilot = first[1]
    magnitudes = pilot.abs()
    w_max = choose_max(pilot, mode, overweight_fraction)
    report.w_max_pb = w_max
    total = total2 = above = 0.0
    kept = accepted = 0
    for _ in range(max_batches):
        if kept >= n_events:
            break
        # no more points than the expected efficiency needs for the events still missing
        expected = float(magnitudes.mean()) / w_max if mode != "none" else float((pilot != 0).double().mean())
        if first is not None:
            (ev, w, extra), first = first, None
            step = int(w.shape[0])
        else:
            step = min(batch_size, max(1000, int(1.3 * (n_events - kept) / max(expected, 1e-9))))
            ev, w, extra = _weighted_points(process, sampler, step, generator)
        report.n_weighted += step
        report.n_nonzero += int((w != 0).sum())
        total += float(w.sum())
        total2 += float((w * w).sum())
        if mode == "none":
            keep = torch.nonzero(w != 0).squeeze(1)[: n_events - kept]
            out = _records(builder, ev, w, extra, keep, generator, process.alpha_qed)
        else:
            above += float((w.abs() - w_max).clamp(min=0).sum())
            accept, units = hit_or_miss(w, w_max, generator)
            accepted += int(accept.sum())
            keep = torch.nonzero(accept).squeeze(1)[: n_events - kept]
            out = _records(builder, ev, w, extra, keep, generator, process.alpha_qed)
            units = units[keep]
            if out.extra_weights is not None:
                out.extra_weights = out.extra_weights / out.weight[:, None] * units[:, None]
            out.weight = units
            report.n_overweight += int((units.abs() > 1).sum())
        kept += len(out)
        if progress is not None:
            progress(kept)
        n = report.n_weighted
        report.n_unweighted = kept
        report.sigma_pb = total / n
        report.sigma_err_pb = max(total2 / n - (total / n) ** 2, 0.0) ** 0.5 / n**0.5
        report.overweight_fraction = above / abs(total) if total else 0.0
        report.efficiency = (accepted if mode != "none" else kept) / n
        if not report.weights:
            report.weights = w[:1_000_000].cpu().tolist()
        yield out, report
    if kept < n_events:
        raise RuntimeError(f"only {kept} of {n_events} events after {max_batches} batches")


def normalise_unweighted(weights_in_units: Tensor, sigma_pb: float) -> Tensor:
    """Event weights in pb whose sum is ``sigma_pb``, proportional to the units."""
    return weights_in_units * (sigma_pb / float(weights_in_units.sum()))
