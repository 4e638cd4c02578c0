"""The generator routes of the subtraction, per record layout of B, sampled for B - S: mixture flows
(:mod:`mlgen.generative.mixture`, the route ``flow``) or the subtraction GAN
(:mod:`mlgen.generative.subtract_gan`, the route ``gan``, with ``config.gan`` set)."""

from __future__ import annotations

__all__ = ["SubtractLayout", "generate_difference", "match_layout"]

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mlgen.events import EventBatch, RunInfo
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.mixture import train_mixture
from mlgen.generative.model import GroupModel
from mlgen.generative.refine import RefineConfig, RefineReport
from mlgen.generative.refine import refine as refine_events
from mlgen.generative.representation import EventGroup, group_events
from mlgen.generative.sampling import layout_sampler
from mlgen.generative.subtract_gan import train_subtraction_gan


@dataclass
class SubtractLayout:
    """One record layout of B in a generator route; the training figures stay ``None`` where B - S
    has no positive part (no generator trained). The check of the class fractions: the flows' mean
    label ``P(S | x)`` over B's events, or the GAN's mean class assignment ``f(c)`` over its generated
    events; either is ``alpha = sigma_S / sigma_B`` when the fractions hold."""

    layout: list[list[Any]]
    sigma_base_pb: float
    sigma_subtracted_pb: float
    n_base: int
    n_subtracted: int
    n_generated: int = 0
    alpha: float | None = None
    label_s_mean_over_base: float | None = None
    label_s_mean_generated: float | None = None
    train_seconds: float | None = None
    best_epoch: int | None = None
    losses: list[tuple[float, float]] | list[tuple[float, float, float, float]] | None = None
    rejected: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def match_layout(key: tuple, keys: list[tuple]) -> tuple:
    """The layout of B that S's layout ``key`` is a part of: the same, or the same but for the ids of
    intermediate lines (a photon's record in S, a Z's in B)."""
    if key in keys:
        return key

    def shape(k: tuple) -> tuple:
        return tuple((s, "resonance") if s == 2 else (s, p) for s, p in k)

    same = [k for k in keys if shape(k) == shape(key)]
    if len(same) != 1:
        raise ValueError(
            f"S has a record layout {key} that B does not have"
            + (f" ({len(same)} of B's differ from it only in intermediate lines)" if same else "")
            + ": S must be a part of B"
        )
    return same[0]


def _layouts_of_sub(groups_b: list[EventGroup], s: EventBatch, sqrt_s: float) -> dict[tuple, EventGroup]:
    """S's layouts by the layout of B each is a part of."""
    groups_s: dict[tuple, EventGroup] = {}
    for g in group_events(s, sqrt_s):
        key = match_layout(g.key, [h.key for h in groups_b])
        if key in groups_s:
            raise ValueError(
                f"S has two record layouts that match B's {key}: {groups_s[key].key} and {g.key}"
            )
        groups_s[key] = g
    return groups_s


def generate_difference(
    base: tuple[RunInfo, EventBatch],
    sub: tuple[RunInfo, EventBatch],
    w_b: np.ndarray,
    w_s: np.ndarray,
    weights: np.ndarray,
    n_out: int,
    config: AmplifyConfig,
    warm_epochs: int,
    device: str,
    refine: RefineConfig | None,
    seed: np.random.SeedSequence,
) -> tuple[EventBatch, list[SubtractLayout], RefineReport | None, list[str]]:
    """``n_out`` unweighted events from the mixture flows, or the subtraction GAN with ``config.gan``,
    one per record layout; returns them, the layouts, the refinement's report and the warnings.

    ``weights`` are the classifier route's B - S on B's events: their share of ``w_b`` starts the
    flows' class labels (``warm_epochs``; the GAN's labels start at ``alpha``), and ``refine``
    refines the generated events towards their positive part.
    """
    (info_b, b), (_, s) = base, sub
    training, events_seed, layouts_seed, order_seed, refine_seed = seed.spawn(5)
    label_d = np.clip(weights / w_b, 0.0, 1.0)
    groups_b = group_events(b, info_b.sqrt_s)
    groups_s = _layouts_of_sub(groups_b, s, info_b.sqrt_s)
    sigma_b = {g.key: float(w_b[g.index.numpy()].sum()) / len(w_b) for g in groups_b}
    sigma_s = {key: float(w_s[g.index.numpy()].sum()) / len(w_s) for key, g in groups_s.items()}
    diff = {key: sigma_b[key] - sigma_s.get(key, 0.0) for key in sigma_b}
    positive = {key: max(d, 0.0) for key, d in diff.items()}
    total = sum(positive.values())
    shares = torch.tensor([positive[g.key] / total for g in groups_b], dtype=torch.float64)
    models: dict[int, GroupModel] = {}
    layouts: list[SubtractLayout] = []
    warnings: list[str] = []
    for group, group_seed in zip(groups_b, training.spawn(len(groups_b))):
        sub_group = groups_s.get(group.key)
        entry = SubtractLayout(
            layout=[list(x) for x in group.key],
            sigma_base_pb=sigma_b[group.key],
            sigma_subtracted_pb=sigma_s.get(group.key, 0.0),
            n_base=len(group.index),
            n_subtracted=len(sub_group.index) if sub_group is not None else 0,
        )
        layouts.append(entry)
        if diff[group.key] <= 0:
            warnings.append(
                f"layout {group.key}: sigma_S >= sigma_B ({diff[group.key]:.4g} pb): B - S has no positive "
                "part there; no events written for it"
            )
            continue
        alpha = sigma_s.get(group.key, 0.0) / sigma_b[group.key]
        pair = ((b, group), (s, sub_group) if sub_group is not None else None)
        entry.alpha, entry.rejected = alpha, 0
        if config.gan is not None:
            gan = train_subtraction_gan(
                *pair, alpha, config, positive[group.key] / total, torch.device(device), seed=group_seed
            )
            entry.label_s_mean_generated = gan.label_mean
            entry.train_seconds, entry.best_epoch, entry.losses = gan.seconds, gan.best_epoch, gan.losses
            models[len(layouts) - 1] = gan
            continue
        model = train_mixture(
            *pair,
            alpha,
            config,
            positive[group.key] / total,
            torch.device(device),
            label_d=torch.as_tensor(label_d[group.index.numpy()]),
            warm_epochs=warm_epochs,
            seed=group_seed,
        )
        label = model.label_s(b, group)
        wg = torch.as_tensor(w_b[group.index.numpy()], dtype=torch.float64)
        # the label output's mean over B: alpha when the mixture describes both samples
        entry.label_s_mean_over_base = float((label.cpu() * wg).sum() / wg.sum())
        entry.train_seconds, entry.best_epoch, entry.losses = model.seconds, model.best_epoch, model.losses
        models[len(layouts) - 1] = model.generator()

    def tally(k: int, generated: int, rejected: int) -> None:
        layouts[k].n_generated += generated
        layouts[k].rejected = (layouts[k].rejected or 0) + rejected

    streams = (events_seed, layouts_seed, order_seed)
    draw = layout_sampler(models, shares, b, info_b.sqrt_s, streams, device, tally=tally)
    if refine is None:
        return draw(n_out), layouts, None, warnings
    out, refined = refine_events(
        draw, b, np.clip(weights, 0.0, None), n_out, refine, device=device, seed=refine_seed
    )
    warnings += refined.warnings
    return out, layouts, refined, warnings
