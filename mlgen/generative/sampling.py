"""Generation: events of a trained layout generator, and of several layouts in their proportions.

A generated event's flavours, colour flows, mothers and scales are those of its
nearest training event in feature space (the frequencies of the input, conditioned
on the kinematics); its momenta are the generator's, rebuilt exactly from the
features (:func:`~mlgen.generative.representation.momenta_of`).

Generated events stay inside the input's support: the feature map keeps each feature
in its range where the generator cut it (:func:`~mlgen.generative.layoutmap.feature_bounds`:
jet pT, resonance masses, angles), and what no single feature bounds, the momentum
fractions ``x1, x2`` and ``sqrt(s-hat)``, is held to the training events' range
(:class:`Support`, all layouts together) by rejection: a flow trained on 3000 Z + jets events put
55 of 2·10^4 events beyond it, with ``sqrt(s-hat)`` up to 4384 GeV where the input stops at 1895.
"""

from __future__ import annotations

__all__ = ["CHUNK", "Support", "generate_group", "layout_sampler"]

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mlgen.events import EventBatch
from mlgen.generative.model import GroupModel
from mlgen.generative.representation import EventGroup, features_of, momenta_of, reference_azimuth
from mlgen.seeds import torch_generator

#: Events generated at a time (:func:`generate_group`).
CHUNK = 100_000


#: Relative slack of the support's edges: the training events' own x rebuilt from their features
#: differ from the file's by rounding.
SUPPORT_SLACK = 1e-9


@dataclass(frozen=True)
class Support:
    """The training events' ranges of ``x1``, ``x2`` and ``sqrt(s-hat)`` (GeV), ``(low, high)`` each,
    computed as the generated events' are: from the features."""

    x1: tuple[float, float]
    x2: tuple[float, float]
    sqrt_shat: tuple[float, float]

    @classmethod
    def of(cls, batch: EventBatch, groups: list[EventGroup], sqrt_s: float) -> Support:
        """The support of the ``groups``' events in ``batch`` together: the input's, not one layout's
        (a layout of one event has no range of its own)."""
        x1s, x2s = [], []
        for group in groups:
            features = features_of(batch, group)
            phi0 = reference_azimuth(batch, group).to(features)
            _, x1, x2 = momenta_of(features, group, phi0, sqrt_s)
            x1s.append(x1.cpu())
            x2s.append(x2.cpu())
        x1, x2 = torch.cat(x1s), torch.cat(x2s)

        def span(t: Tensor) -> tuple[float, float]:
            t = t[torch.isfinite(t)]
            return (float(t.min()), float(t.max())) if len(t) else (-math.inf, math.inf)

        return cls(span(x1), span(x2), span(torch.sqrt(x1 * x2) * sqrt_s))

    def contains(self, x1: Tensor, x2: Tensor, sqrt_s: float) -> Tensor:
        """Which events lie inside (with a relative slack of :data:`SUPPORT_SLACK`)."""

        def inside(t: Tensor, edges: tuple[float, float]) -> Tensor:
            low, high = edges
            slack = SUPPORT_SLACK * max(abs(low), abs(high))
            return (t >= low - slack) & (t <= high + slack)

        return (
            inside(x1, self.x1) & inside(x2, self.x2) & inside(torch.sqrt(x1 * x2) * sqrt_s, self.sqrt_shat)
        )


def _nearest(train: Tensor, query: Tensor, chunk: int = 4096) -> Tensor:
    out = []
    for s in range(0, len(query), chunk):
        out.append(torch.cdist(query[s : s + chunk], train).argmin(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def generate_group(
    model: GroupModel,
    batch: EventBatch,
    sqrt_s: float,
    n: int,
    gen: torch.Generator,
    max_tries: int = 50,
    support: Support | None = None,
) -> tuple[EventBatch, int, Tensor]:
    """``n`` events of the model's layout; returns them, the number rejected and each event's donor
    (the index in ``batch`` of the training event its flavours, colours and scales come from).

    Rejected are generated events with ``x > 1``, outside the ``support`` (default: that of the
    model's layout), or with a resonance below its children's threshold.
    Events are made ``CHUNK`` at a time: the splines of the feature map hold their knots per event,
    and 10^6 t tbar events in one piece peaked at 24 GB and took 217 s; in chunks, 5.9 GB (mostly
    the events themselves) and 106 s, on 2 CPU cores.
    """
    feats_train = model.features.to_unit(features_of(batch, model.group).to(model.features.lo.device)).float()
    support = support if support is not None else Support.of(batch, [model.group], sqrt_s)
    parts = [
        _generate_chunk(model, batch, sqrt_s, min(CHUNK, n - start), gen, feats_train, support, max_tries)
        for start in range(0, n, CHUNK)
    ]
    events = EventBatch.concat([events for events, _, _ in parts])
    return events, sum(rejected for _, rejected, _ in parts), torch.cat([near for _, _, near in parts])


def layout_sampler(
    models: dict[int, GroupModel],
    shares: Tensor,
    batch: EventBatch,
    sqrt_s: float,
    seeds: tuple[np.random.SeedSequence, np.random.SeedSequence, np.random.SeedSequence],
    device: torch.device | str = "cpu",
    restore: Callable[[EventBatch, Tensor], EventBatch] | None = None,
    tally: Callable[[int, int, int], None] | None = None,
) -> Callable[[int], EventBatch]:
    """``draw(n)``: ``n`` fresh events, layout ``k`` drawn with probability ``shares[k]`` from
    ``models[k]``, in random order; ``tally(k, generated, rejected)`` after each layout's part.

    ``seeds`` are the streams of the events, of the layouts and of the order; each is started
    once, so successive draws continue them: the first draw of a seed is always the same.
    ``restore(events, donors)`` completes a layout's events (MadGraph's optional lines).
    """
    events_seed, layouts_seed, order_seed = seeds
    gen = torch_generator(events_seed, device)
    share = torch_generator(layouts_seed)
    shuffle = torch_generator(order_seed)
    support = Support.of(batch, [model.group for model in models.values()], sqrt_s)

    def draw(n: int) -> EventBatch:
        counts = torch.multinomial(shares, n, replacement=True, generator=share)
        parts = []
        for k, model in models.items():
            n_k = int((counts == k).sum())
            if n_k:
                events, rejected, donors = generate_group(model, batch, sqrt_s, n_k, gen, support=support)
                parts.append(events if restore is None else restore(events, donors))
                if tally is not None:
                    tally(k, n_k, rejected)
        out = EventBatch.concat(parts)
        return out[torch.randperm(len(out), generator=shuffle)]

    return draw


def _valid_features(
    model: GroupModel, sqrt_s: float, n: int, gen: torch.Generator, support: Support, max_tries: int
) -> tuple[Tensor, Tensor, int]:
    """``n`` generated features with ``x1, x2 <= 1``, inside the ``support`` and with finite momenta,
    their orientations, and how many were rejected on the way."""
    kept: list[Tensor] = []
    rejected = have = 0
    for _ in range(max_tries):
        want = int((n - have) * 1.2) + 16
        f = model.sample_features(want, gen)
        phi0 = (torch.rand(want, generator=gen, device=f.device, dtype=torch.float64) * 2 - 1) * math.pi
        p, x1, x2 = momenta_of(f, model.group, phi0, sqrt_s)
        # x = 1 up to rounding: lepton beams, whose energy is a constant feature
        ok = (x1 > 0) & (x1 <= 1 + 1e-12) & (x2 > 0) & (x2 <= 1 + 1e-12) & torch.isfinite(p).all(-1).all(-1)
        ok &= support.contains(x1, x2, sqrt_s)
        rejected += int((~ok).sum())
        kept.append(torch.cat([f[ok], phi0[ok, None]], 1))
        have += int(ok.sum())
        if have >= n:
            break
    if have < n:
        raise RuntimeError(
            f"layout {model.group.key}: only {have} of {n} generated events have x1, x2 <= 1 and lie inside "
            f"the input's x and sqrt(s-hat) ranges {support}"
        )
    fz = torch.cat(kept)[:n]
    return fz[:, :-1], fz[:, -1], rejected


def _record(
    donors: EventBatch, group: EventGroup, p: Tensor, x1: Tensor, x2: Tensor, sqrt_s: float
) -> EventBatch:
    """The ``donors``' records with the generated final state ``p``, the beams' ``x1, x2`` and the
    resonances rebuilt from their daughters (on the CPU)."""
    out = donors.to("cpu")
    mom = out.momenta.clone()
    mom[:, group.final] = p.cpu().to(mom.dtype)
    zero = torch.zeros_like(x1)
    mom[:, 0] = torch.stack([x1, zero, zero, x1], -1).cpu() * sqrt_s / 2
    mom[:, 1] = torch.stack([x2, zero, zero, -x2], -1).cpu() * sqrt_s / 2
    for slot, daughters in group.resonances.items():
        mom[:, slot] = mom[:, daughters].sum(1)
    masses = out.masses.clone()
    masses[:, :2] = 0.0
    masses[:, group.final] = group.masses.to(masses.dtype)
    for slot in group.resonances:
        q = mom[:, slot]
        masses[:, slot] = torch.sqrt((q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(-1)).clamp(min=0))
    out.momenta, out.masses = mom, masses
    out.x1, out.x2 = x1.cpu(), x2.cpu()
    # the donor's reweighting weights and per-event blocks (<mgrwt>, <clustering>) describe the
    # donor's kinematics, not these: dropped (the command says so); its tag attributes (npLO,
    # npNLO: the process's multiplicities) are the layout's and stay
    out.extra_weights = None
    out.trailer = None
    return out


def _generate_chunk(
    model: GroupModel,
    batch: EventBatch,
    sqrt_s: float,
    n: int,
    gen: torch.Generator,
    feats_train: Tensor,
    support: Support,
    max_tries: int,
) -> tuple[EventBatch, int, Tensor]:
    group = model.group
    feats, phi0, rejected = _valid_features(model, sqrt_s, n, gen, support, max_tries)
    p, x1, x2 = momenta_of(feats, group, phi0, sqrt_s)
    x1, x2 = x1.clamp(max=1), x2.clamp(max=1)
    # flavours, colours, mothers, scales: those of the nearest training event
    near = group.index.to(batch.device)[_nearest(feats_train, model.features.to_unit(feats).float()).cpu()]
    return _record(batch[near], group, p, x1, x2, sqrt_s), rejected, near
