"""A generator of B - S: two flows fitted to the two samples as a mixture with fixed class fractions.

The subtraction GAN of arXiv:1912.08824 generates events with a label (B - S
or S), asks one discriminator whether the events of both labels together look
like B and another whether the S-labelled ones look like S, and fixes the
label fractions to ``sigma_S / sigma_B`` by a normalisation loss. Here the same
model is fitted by likelihood instead of by discriminators (as the
amplification's generator is, :mod:`mlgen.generative.training`, where the likelihood
was far more precise than a GAN):

    sigma_B p_B(x) = sigma_S q_S(x) + (sigma_B - sigma_S) q_D(x),

with ``q_S`` and ``q_D`` normalizing flows on the unit cube of the decay-tree
features (:mod:`mlgen.generative.representation`), and ``alpha = sigma_S / sigma_B``
fixed, so that each input sample has its own term in the loss:

    -log L = -sum_S w log q_S(x) - sum_B w log(alpha q_S(x) + (1 - alpha) q_D(x)).

``q_S`` learns from both samples; ``q_D`` is a normalised density of B - S and
is sampled directly, as many events as asked. The label output of an event is
the class assignment ``P(S | x) = alpha q_S / (alpha q_S + (1 - alpha) q_D)``;
its mean over B must come out as ``alpha`` (reported as a check of the fit).
A mixture cannot be negative: where B - S < 0 the fit is strained, and
:mod:`mlgen.generative.subtract` reports such regions from an independent classifier.
"""

from __future__ import annotations

__all__ = ["MixtureModel", "mixture_map", "train_mixture"]

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from mlgen.events import EventBatch
from mlgen.flows.coupling import Flow
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.layoutmap import feature_bounds, knots_per_column
from mlgen.generative.model import GroupModel
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup, features_of
from mlgen.generative.training import split_held_out
from mlgen.initialise import fresh_module
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


@dataclass
class MixtureModel:
    """The fitted flows of one record layout.

    ``losses`` per epoch: training and held-out negative log-likelihood per event (unit cube).
    """

    group: EventGroup
    features: FeatureMap
    flow_s: Flow
    flow_d: Flow
    alpha: float
    fraction: float
    losses: list[tuple[float, float]] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0

    def log_mixture(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """``log(alpha q_S)`` and ``log((1 - alpha) q_D)`` at unit-cube points ``u``."""
        _, log_s = self.flow_s.inverse(u)
        _, log_d = self.flow_d.inverse(u)
        log_s = log_s + math.log(self.alpha) if self.alpha > 0 else torch.full_like(log_s, -math.inf)
        return log_s, log_d + math.log1p(-self.alpha)

    def label_s(self, batch: EventBatch, group: EventGroup) -> Tensor:
        """The class assignment ``P(S | x)`` of ``group``'s events in ``batch`` (float64)."""
        u = self.features.to_unit(features_of(batch, group).to(self.features.lo.device)).float()
        with torch.no_grad():
            log_s, log_d = self.log_mixture(u)
        return torch.sigmoid((log_s - log_d).double())

    def generator(self) -> GroupModel:
        """The B - S flow as a layout generator (:func:`mlgen.generative.sampling.generate_group`)."""
        return GroupModel(self.group, self.flow_d, self.features, self.fraction, best_epoch=self.best_epoch)


#: One sample's part of the fit: unit-cube points, weights (mean 1), fixed ``P(D | x)`` labels.
Part = tuple[Tensor, Tensor, Tensor]


def mixture_map(group: EventGroup, xs: list[Tensor], ws: list[Tensor], config: AmplifyConfig) -> FeatureMap:
    """One map for both samples' generators (for the flows, its Jacobian cancels in the mixture), from
    both samples' quantiles.

    Without the extra tail knots: B - S can sit in B + S's tail (the toy's flat part at large x),
    and there they moved the toy's last bin from -0.7 to -1.1 binned errors.
    """
    x_all = torch.cat(xs)
    fmap = FeatureMap.fit(
        x_all,
        torch.cat(ws),
        bounds=feature_bounds(group, x_all),
        n_knots=knots_per_column(group, config),
        tails=False,
    )
    if fmap.dim == 0:
        raise ValueError(f"layout {group.key}: every feature is the same in all events; nothing to learn")
    return fmap


@dataclass
class _MixtureFit:
    """The optimiser and data of one layout's mixture fit (B first, then S if it is fitted)."""

    model: MixtureModel
    us: list[Tensor]
    ws: list[Tensor]
    labels: list[Tensor]
    splits: list[tuple[Tensor, Tensor]]
    params: list[nn.Parameter]
    opt: torch.optim.Optimizer
    steps: int

    def nll(self, parts: list[Part], fixed: bool) -> Tensor:
        """Mean negative log-likelihood per unit of weight over B's (first) and S's events; with
        ``fixed`` class assignments of B's events, else the mixture's."""
        (u_b, w_b, p_d), *rest = parts
        log_s, log_d = self.model.log_mixture(u_b)
        if fixed:
            total = -(w_b * ((1 - p_d) * log_s + p_d * log_d)).sum()
        else:
            total = -(w_b * torch.logaddexp(log_s, log_d)).sum()
        if rest:
            (u_s, w_s, _), *_ = rest
            _, log_q = self.model.flow_s.inverse(u_s)
            total = total - (w_s * log_q).sum()
        return total / sum(float(w.sum()) for _, w, _ in parts)

    def epoch(self, fixed: bool, sched: torch.optim.lr_scheduler.LRScheduler, gen: torch.Generator) -> float:
        """One pass over the training events in random minibatches; the mean loss per step."""
        perms = [
            train[torch.randperm(len(train), generator=gen, device=train.device)] for train, _ in self.splits
        ]
        running = 0.0
        for step in range(self.steps):
            parts = []
            for u, w, p_d, perm in zip(self.us, self.ws, self.labels, perms):
                size = len(perm) // self.steps
                idx = perm[step * size : (step + 1) * size]
                parts.append((u[idx], w[idx].float(), p_d[idx]))
            loss = self.nll(parts, fixed)
            self.opt.zero_grad()
            loss.backward()
            if torch.isfinite(loss):
                nn.utils.clip_grad_norm_(self.params, 10.0)
                self.opt.step()
            sched.step()
            running += loss.item() / self.steps
        return running

    def held_out(self) -> float:
        """The mixture's likelihood on the held-out events (it judges every epoch, the warm ones too)."""
        with torch.no_grad():
            held = []
            for u, w, p_d, (train, val) in zip(self.us, self.ws, self.labels, self.splits):
                rows = val if len(val) else train
                held.append((u[rows], w[rows].float(), p_d[rows]))
            return float(self.nll(held, fixed=False))


def _mixture_fit(
    model: MixtureModel,
    us: list[Tensor],
    ws: list[Tensor],
    config: AmplifyConfig,
    label_d: Tensor | None,
    split_seed: np.random.SeedSequence,
) -> _MixtureFit:
    device = us[0].device
    gen = torch_generator(split_seed, device)
    splits = [split_held_out(len(u), config.validation, gen, device) for u in us]
    fitted = len(us) == 2
    params = list(model.flow_d.parameters()) + (list(model.flow_s.parameters()) if fitted else [])
    n_max = max(len(train) for train, _ in splits)
    steps = max(n_max // min(config.batch, n_max), 1)
    # the fixed class labels P(D | x) of B's events (S's events are all S)
    labels = [torch.zeros(len(u), device=device) for u in us]
    if label_d is not None:
        labels[0] = label_d.to(device).float()
    opt = torch.optim.Adam(params, lr=config.lr)
    return _MixtureFit(model, us, ws, labels, splits, params, opt, steps)


def train_mixture(
    base: tuple[EventBatch, EventGroup],
    sub: tuple[EventBatch, EventGroup] | None,
    alpha: float,
    config: AmplifyConfig,
    fraction: float,
    device: torch.device,
    progress: Callable[[int, float, float], None] | None = None,
    label_d: Tensor | None = None,
    warm_epochs: int = 0,
    seed: SeedLike | None = None,
) -> MixtureModel:
    """Fit ``q_S`` and ``q_D`` to B's and S's events of one layout; ``alpha = sigma_S / sigma_B`` in it.

    ``sub`` is ``None`` (and ``alpha`` 0) for a layout that S does not have: then ``q_D`` is a fit of B.
    The epoch with the best held-out likelihood (a tenth of each sample) is kept.

    ``label_d``, an estimate of ``P(D | x)`` for B's events of the layout (from a classifier), starts
    the fit: ``warm_epochs`` with these class assignments fixed (each B event weighs into ``q_D``
    by ``label_d``, into ``q_S`` by ``1 - label_d``), before the mixture's own likelihood takes over.
    With S nearly B the mixture alone moves ``q_D`` slowly, as EM does for overlapping classes.
    ``seed`` (default ``config.seed``): the split, each flow and the batches take a child.
    """
    if not 0 <= alpha < 1:
        raise ValueError(f"alpha = sigma_S / sigma_B must be in [0, 1), got {alpha}")
    split_seed, s_seed, d_seed, batch_seed = as_seed_sequence(config.seed if seed is None else seed).spawn(4)
    samples = [base] + ([sub] if sub is not None and alpha > 0 else [])
    xs, ws = [], []
    for batch, group in samples:
        xs.append(features_of(batch, group).to(device))
        w = batch.weight[group.index.to(batch.device)].double().to(device)
        ws.append(w / w.mean())
    group = base[1]
    fmap = mixture_map(group, xs, ws, config)
    us = [fmap.to_unit(x).float() for x in xs]
    dim = us[0].shape[1]

    def make_flow(flow_seed: np.random.SeedSequence) -> Flow:
        build = lambda: Flow(dim, n_bins=config.bins, hidden=config.hidden, layers=2, n_blocks=config.blocks)  # noqa: E731
        return fresh_module(build, flow_seed).to(device)

    flow_s, flow_d = make_flow(s_seed), make_flow(d_seed)
    model = MixtureModel(group, fmap, flow_s, flow_d, alpha if len(samples) == 2 else 0.0, fraction)
    fit = _mixture_fit(model, us, ws, config, label_d, split_seed)
    warm = warm_epochs if label_d is not None and len(samples) == 2 else 0
    gen = torch_generator(batch_seed, device)
    best, best_state = math.inf, copy.deepcopy((flow_s.state_dict(), flow_d.state_dict()))
    start = time.perf_counter()
    for epoch in range(warm + config.epochs):
        fixed = epoch < warm
        if epoch in (0, warm):
            n_epochs = warm if fixed else config.epochs
            sched = torch.optim.lr_scheduler.OneCycleLR(
                fit.opt, max_lr=config.lr, total_steps=n_epochs * fit.steps
            )
        running = fit.epoch(fixed, sched, gen)
        nll_val = fit.held_out()
        if nll_val < best:
            best, model.best_epoch = nll_val, epoch
            best_state = copy.deepcopy((flow_s.state_dict(), flow_d.state_dict()))
        model.losses.append((running, nll_val))
        if progress is not None:
            progress(epoch, running, nll_val)
    flow_s.load_state_dict(best_state[0])
    flow_d.load_state_dict(best_state[1])
    model.seconds = time.perf_counter() - start
    return model
