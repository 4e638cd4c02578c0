"""Amplification of an event sample: more events than trained on, written as valid LHE.

One generator per record layout (:mod:`mlgen.generative.representation`; Z + 0, 1, 2
jets get one each, with the layout fractions of the input; MadGraph's Z line,
written in some events of a final state and not in others, is completed first
and restored after, :mod:`mlgen.generative.records`). The features follow
the record's decay tree, so resonance masses are features of their own, with
helicity frames and the scattering angle chosen so that the features are nearly
independent, and are mapped onto the unit cube by a smoothed CDF
(:mod:`mlgen.generative.preprocess`) whose resonance masses start from their line
shapes (:mod:`mlgen.generative.lineshapes`). The generator is a normalizing flow
trained by weighted maximum likelihood (:mod:`mlgen.generative.training`; the
models ``flow`` and ``discflow``, :data:`~mlgen.generative.config.MODELS`);
:mod:`mlgen.generative.sampling` makes the events, :mod:`mlgen.generative.persist`
keeps the generators. Negative weights are refused.

The amplification actually achieved is measured, not assumed: ``mlgen compare``
against a held-out truth sample (:mod:`mlgen.generative.quality`).
"""

from __future__ import annotations

__all__ = ["AmplifyReport", "LayoutReport", "amplify"]

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from mlgen.events import EventBatch, RunInfo
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.lineshapes import header_spectrum
from mlgen.generative.model import GroupModel
from mlgen.generative.persist import load_models, save_models
from mlgen.generative.records import complete_records
from mlgen.generative.refine import RefineConfig, RefineReport
from mlgen.generative.refine import refine as refine_events
from mlgen.generative.representation import EventGroup, group_events
from mlgen.generative.sampling import layout_sampler
from mlgen.generative.training import train_group
from mlgen.lhe.weights import per_event_pb
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


@dataclass
class LayoutReport:
    """One record layout's training and generation (``n_generated`` and ``rejected`` count up as
    events are drawn; ``losses`` per epoch: training and held-out NLL, discriminator loss, MMD)."""

    layout: list[list[Any]]
    n_train: int
    fraction: float
    features: list[str]
    train_seconds: float
    best_epoch: int
    line_shapes: list[dict[str, Any]]
    losses: list[tuple[float, float, float, float]]
    n_generated: int = 0
    rejected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "n_train": self.n_train,
            "fraction": self.fraction,
            "n_generated": self.n_generated,
            "features": self.features,
            "rejected": self.rejected,
            "train_seconds": self.train_seconds,
            "best_epoch": self.best_epoch,
            "line_shapes": self.line_shapes,
            "losses": self.losses,
        }


@dataclass(frozen=True)
class AmplifyReport:
    """What :func:`amplify` did: the sizes, the cross section written (pb) and where it came from
    (``init``: the ``<init>`` block; ``weights``: the input weights' mean, the block having none),
    the model, each layout's :class:`LayoutReport`, and the refinement's report if any."""

    n_train: int
    n_out: int
    sigma_pb: float
    sigma_from: str
    model: str
    groups: list[LayoutReport] = field(default_factory=list)
    refine: RefineReport | None = None

    @property
    def rejected(self) -> int:
        """Generated events rejected (``x > 1``, outside the input's x or sqrt(s-hat) range, or a resonance
        below threshold), all layouts."""
        return sum(g.rejected for g in self.groups)

    @property
    def train_seconds(self) -> float:
        return sum(g.train_seconds for g in self.groups)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the keys of ``mlgen amplify --report``)."""
        out: dict[str, Any] = {} if self.refine is None else {"refine": self.refine.to_json()}
        out |= {"n_train": self.n_train, "n_out": self.n_out, "sigma_pb": self.sigma_pb}
        out |= {"sigma_from": self.sigma_from, "model": self.model}
        return out | {"groups": [g.to_json() for g in self.groups]}


def _check_weights(w: torch.Tensor) -> None:
    if bool((w < 0).any()):
        raise ValueError(
            f"{int((w < 0).sum())} events have negative weights: amplification needs positive weights; "
            "remove them first with 'mlgen positive'"
        )
    if not bool((w > 0).any()):
        raise ValueError("no event has a positive weight")


def _layout_report(group: EventGroup, fraction: float, model: GroupModel) -> LayoutReport:
    return LayoutReport(
        layout=[list(x) for x in group.key],
        n_train=len(group.index),
        fraction=fraction,
        features=group.columns,
        train_seconds=model.seconds,
        best_epoch=model.best_epoch,
        line_shapes=model.line_shapes,
        losses=model.losses,
    )


def _cross_section(info: RunInfo, batch: EventBatch) -> tuple[float, str]:
    """The input's sigma (pb) and its source: the ``<init>`` lines, else the weights' mean."""
    sigma = sum(p.xsec_pb for p in info.processes) if info.processes else math.nan
    if math.isfinite(sigma) and sigma > 0:
        return sigma, "init"
    # POWHEG writes -1 before it knows the cross section: the weights' mean in pb is the estimate
    return float(per_event_pb(info, batch)[0].mean()), "weights"


def amplify(
    batch: EventBatch,
    info: RunInfo,
    n_out: int,
    *,
    config: AmplifyConfig | None = None,
    device: torch.device | str = "cpu",
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, float, float], None] | None = None,
    save: str | os.PathLike[str] | None = None,
    load: str | os.PathLike[str] | None = None,
    refine: RefineConfig | None = None,
    seed: SeedLike | None = None,
) -> tuple[EventBatch, AmplifyReport]:
    """Train on ``batch`` and generate ``n_out`` unweighted events with the input's cross section.

    Returns the events (every weight ``sigma / n_out`` in pb: they sum to sigma, as in
    MadGraph's and mlgen's unweighted files) and an :class:`AmplifyReport`. ``config``: the
    training settings (default :class:`~mlgen.generative.config.AmplifyConfig`). ``save`` writes the
    trained generators to a file; ``load`` takes them from one instead of training (more events
    later, from the same input: its events give the flavours, colours and scales of the new ones).
    ``seed`` (default ``config.seed``) is the root of the streams: training (a child per layout),
    the events, the layouts, their order and the refinement each take a child, so the events of
    a seed are the same whether the generators were trained or loaded.
    """
    device = torch.device(device)
    config = config if config is not None else AmplifyConfig()
    config.validate()
    w = batch.weight.double()
    _check_weights(w)
    training, events_seed, layouts_seed, order_seed, refine_seed = as_seed_sequence(
        config.seed if seed is None else seed
    ).spawn(5)
    sqrt_s = info.sqrt_s
    # MadGraph's Z line in some events of a final state and not in others: one generator for both
    input_batch = batch
    records = complete_records(batch)
    batch = records.batch
    groups = group_events(batch, sqrt_s, by_process=True)
    total = float(w.sum())
    fractions = [float(w[g.index].sum()) / total for g in groups]
    fractions_t = torch.tensor(fractions, dtype=torch.float64)
    # the counts the first draw will give (the same stream): for the log
    counts = torch.multinomial(fractions_t, n_out, replacement=True, generator=torch_generator(layouts_seed))
    loaded = load_models(load, groups, device, config.model) if load is not None else None
    spectrum = header_spectrum(info)
    models, layouts = [], []
    for k, (group, frac, group_seed) in enumerate(zip(groups, fractions, training.spawn(len(groups)))):
        if log is not None:
            n_k = int((counts == k).sum())
            log(f"layout {k + 1}/{len(groups)}: {len(group.index)} events ({frac:.1%} of sigma) -> {n_k} new")
        if loaded is not None:
            model = loaded[k]
            model.fraction = frac
        else:
            model = train_group(batch, group, sqrt_s, config, frac, device, progress, spectrum, group_seed)
        models.append(model)
        layouts.append(_layout_report(group, frac, model))
    if save is not None:
        save_models(save, models, config)

    def tally(k: int, generated: int, rejected: int) -> None:
        layouts[k].n_generated += generated
        layouts[k].rejected += rejected

    draw = layout_sampler(
        dict(enumerate(models)),
        fractions_t,
        batch,
        sqrt_s,
        (events_seed, layouts_seed, order_seed),
        device,
        records.restore,
        tally,
    )
    refined = None
    if refine is None:
        out = draw(n_out)
    else:
        out, refined = refine_events(
            draw, input_batch, w.cpu().numpy(), n_out, refine, device=str(device), seed=refine_seed
        )
    sigma, source = _cross_section(info, batch)
    out.weight = torch.full((len(out),), sigma / len(out), dtype=torch.float64)
    return out, AmplifyReport(len(batch), len(out), sigma, source, config.model, layouts, refined)
