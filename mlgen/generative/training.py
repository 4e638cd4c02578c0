"""Training one record layout's generator: a flow on the unit cube, by weighted maximum likelihood
(or, with ``config.gan``, a GAN: :mod:`mlgen.generative.gan_training`, on the same feature map).

The generator is one of mlgen's normalizing flows on the unit cube
(:mod:`mlgen.flows.coupling`), trained by weighted maximum likelihood, the
route of *Generative networks for precision enthusiasts* (arXiv:2110.13632).
An earlier adversarial generator (1907.03764: spectral-normalised discriminator,
Breit-Wigner MMD on the masses) reached an AUC of 0.95 and G ~ 0.01 on
Drell-Yan here; the GAN of :mod:`mlgen.generative.gan_training` (the model ``gan``)
is measured beside the flow in ``benchmarks/generative.py``. The flow:

* the event weights weigh the likelihood, so a weighted input with positive
  weights is learnt directly (the point of arXiv:2012.07873), with no
  hit-or-miss step throwing events away;
* optionally (``adversarial > 0``, the model ``discflow``) a discriminator
  weighs the likelihood of each training event (:mod:`mlgen.generative.losses`).
  At 10^4 Drell-Yan events it lowered G (m_ll tails 0.62 -> 0.13), so it is off by default;
* optionally (``mmd_weight > 0``) an MMD term with a Breit-Wigner (Cauchy)
  kernel of the physical width on every resonance mass;
* the held-out tenth of the events picks the epoch whose weights are kept (early
  stopping on the held-out likelihood).
"""

from __future__ import annotations

__all__ = ["split_held_out", "train_group"]

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from mlgen.events import EventBatch
from mlgen.flows.coupling import Flow
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.gan_training import train_gan
from mlgen.generative.layoutmap import fit_layout_map
from mlgen.generative.lineshapes import mass_widths
from mlgen.generative.losses import discriminator_step, mmd_cauchy
from mlgen.generative.model import GroupModel, LayoutData, discriminator
from mlgen.generative.representation import EventGroup, features_of
from mlgen.initialise import fresh_module
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


def split_held_out(n: int, share: float, gen: torch.Generator, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(train, held out)`` indices of ``n`` events: a random ``share`` held out (none below 100)."""
    order = torch.randperm(n, generator=gen, device=device)
    n_val = int(share * n) if n >= 100 else 0
    return order[n_val:], order[:n_val]


def _flow(dim: int, n_held: int, config: AmplifyConfig, seed: np.random.SeedSequence) -> Flow:
    """The flow of the ``dim - n_held`` free columns, given the ``n_held`` held ones."""
    return fresh_module(
        lambda: Flow(
            dim - n_held,
            n_context=n_held,
            n_bins=config.bins,
            hidden=config.hidden,
            layers=2,
            n_blocks=config.blocks,
        ),
        seed,
    )


@dataclass
class _Trainer:
    """The optimisers and data of one layout's training; :meth:`epoch` runs one pass over ``train``."""

    model: GroupModel
    config: AmplifyConfig
    u: Tensor  # (N, dim) float32 unit-cube points of every event
    x: Tensor  # (N, n_features) float64 features (for the MMD)
    w: Tensor  # (N,) float64 weights, mean 1
    masses: list[tuple[int, float]]  # (column, width) of the MMD term
    disc: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    steps: int
    size: int

    def _step(self, idx: Tensor, fakes: torch.Generator) -> Tensor:
        """One minibatch: returns ``(nll, discriminator loss, MMD)``."""
        config, model = self.config, self.model
        real, wr = self.u[idx], self.w[idx].float()
        zero = torch.zeros((), device=real.device)
        d_loss = mmd = zero
        use_mmd = bool(config.mmd_weight and self.masses)
        if config.adversarial or use_mmd:
            with torch.set_grad_enabled(use_mmd):
                fake = model.unit_sample(len(idx), fakes)
        if config.adversarial:
            d_loss, wr = discriminator_step(self.disc, self.opt_d, real, wr, fake, config.adversarial)
        nll = -(wr * model.log_prob(real)).sum() / wr.sum()
        loss = nll
        if use_mmd:
            fake_x = model.features.from_unit(fake.double().clamp(0, 1))
            for col, width in self.masses:
                mmd = mmd + mmd_cauchy(fake_x[:, col], self.x[idx, col], width).float()
            loss = loss + config.mmd_weight * mmd
        self.opt_g.zero_grad()
        loss.backward()
        if torch.isfinite(loss):
            nn.utils.clip_grad_norm_(model.generator.parameters(), 10.0)
            self.opt_g.step()
        self.sched.step()
        return torch.tensor([nll.item(), d_loss.item(), mmd.item()], dtype=torch.float64)

    def epoch(self, train: Tensor, batches: torch.Generator, fakes: torch.Generator) -> Tensor:
        """One pass in random minibatches; the mean ``(nll, discriminator loss, MMD)`` per step."""
        perm = train[torch.randperm(len(train), generator=batches, device=train.device)]
        sums = torch.zeros(3, dtype=torch.float64)
        for s in range(self.steps):
            sums += self._step(perm[s * self.size : (s + 1) * self.size], fakes)
        return sums / self.steps

    def held_out(self, rows: Tensor) -> float:
        """The weighted negative log-likelihood per unit of weight of the events ``rows``."""
        with torch.no_grad():
            log_q = self.model.log_prob(self.u[rows])
        return float(-(self.w[rows] * log_q.double()).sum() / self.w[rows].sum())


def _trainer(
    model: GroupModel,
    config: AmplifyConfig,
    data: tuple[Tensor, Tensor, Tensor],
    n_train: int,
    masses: list[tuple[int, float]],
    seed: np.random.SeedSequence,
) -> _Trainer:
    """The optimisers (a one-cycle schedule for the flow) and the discriminator, from ``seed``."""
    u, x, w = data
    size = min(config.batch, n_train)
    steps = max(n_train // size, 1)
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt_g, max_lr=config.lr, total_steps=config.epochs * steps)
    disc = fresh_module(lambda: discriminator(u.shape[1], config.hidden), seed).to(u.device)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=(0.5, 0.9))
    return _Trainer(model, config, u, x, w, masses, disc, opt_g, opt_d, sched, steps, size)


def train_group(
    batch: EventBatch,
    group: EventGroup,
    sqrt_s: float,
    config: AmplifyConfig,
    fraction: float,
    device: torch.device,
    progress: Callable[[int, float, float], None] | None = None,
    spectrum: dict[int, tuple[float, float]] | None = None,
    seed: SeedLike | None = None,
) -> GroupModel:
    """Train one group's generator (a flow, or a GAN with ``config.gan``: its ``progress`` reports the
    discriminator's cross entropy and the held-out sliced chi2 instead of the likelihoods);
    ``progress(epoch, nll_train, nll_held_out)`` after every epoch;
    ``spectrum`` the resonances' masses and widths of the input's header
    (:func:`~mlgen.generative.lineshapes.header_spectrum`); ``seed`` the stream (default
    ``config.seed``), from which the split, the networks, the batches and the flow's samples
    during training each take a child."""
    split_seed, flow_seed, disc_seed, batch_seed, fake_seed = as_seed_sequence(
        config.seed if seed is None else seed
    ).spawn(5)
    x = features_of(batch, group).to(device)
    w = batch.weight[group.index.to(batch.device)].double().to(device)
    w = w / w.mean()
    train, val = split_held_out(len(x), config.validation, torch_generator(split_seed, device), device)
    pdg = batch.pdg[int(group.index[0])].abs().tolist()  # one layout: the same ids in every event
    fmap, described = fit_layout_map(group, x[train], w[train], pdg, config, spectrum)
    u = fmap.to_unit(x).float()
    fitted = [col for col, fit in fmap.line_fits.items() if fit["degree"] is not None]
    held = fmap.unit_columns(fitted) if config.held_lines else []
    if len(held) == u.shape[1]:
        held = []  # nothing left for the flow: it takes the masses too
    if config.gan is not None:
        masses = mass_widths(group, pdg)
        data = LayoutData(group, u, x, w, train, val, fmap, described, held, masses, fraction)
        return train_gan(data, config, (flow_seed, disc_seed, batch_seed, fake_seed), device, progress)
    flow = _flow(u.shape[1], len(held), config, flow_seed).to(device)
    model = GroupModel(group, flow, fmap, fraction, held=held, line_shapes=described)
    trainer = _trainer(model, config, (u, x, w), len(train), mass_widths(group, pdg), disc_seed)
    batches, fakes = torch_generator(batch_seed, device), torch_generator(fake_seed, device)
    check = val if len(val) else train
    best, best_state = math.inf, copy.deepcopy(flow.state_dict())
    start = time.perf_counter()
    for epoch in range(config.epochs):
        means = trainer.epoch(train, batches, fakes)
        nll_val = trainer.held_out(check)
        if nll_val < best:
            best, best_state, model.best_epoch = nll_val, copy.deepcopy(flow.state_dict()), epoch
        model.losses.append((float(means[0]), nll_val, float(means[1]), float(means[2])))
        if progress is not None:
            progress(epoch, float(means[0]), nll_val)
    flow.load_state_dict(best_state)
    model.seconds = time.perf_counter() - start
    return model
