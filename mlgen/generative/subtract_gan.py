"""The subtraction GAN of arXiv:1912.08824: a generator of events with a class label, sampled for B - S.

One generator makes an event ``x`` and a label output ``c``; the class assignment
``f(c) = sigmoid(c)`` (:func:`class_assignment`) is the event's share in the class S, and
``1 - f(c)`` its share in B - S. Two discriminators judge the generated events:

* ``D_B`` compares all of them with B (the weighted cross entropy of
  :func:`~mlgen.generative.gan.discriminator_loss`, the real events' weights as in
  arXiv:2012.07873), so that the generator's events follow ``p_B``;
* ``D_S`` compares them, each weighted by ``f(c)``, with S, so that the S-labelled part
  follows ``p_S``;
* the normalisation loss ``normalisation * (<f(c)> - sigma_S / sigma_B)^2`` fixes the class
  fractions, so the B - S class carries ``sigma_B - sigma_S``.

With both discriminators satisfied, ``(1 - f) p_G = p_B - (sigma_S / sigma_B) p_S``, the
normalised B - S. An event is written as B - S with probability ``1 - f(c)``
(:meth:`SubtractionGANModel.gaussian_sample`): for a near-binary ``f`` these are the events
labelled B - S, and for any ``f`` they are unweighted events of B - S. Where B - S < 0 no
``f`` in [0, 1] can hold: the discriminators cannot be satisfied there (the classifier that
runs beside every route, :mod:`mlgen.generative.subtract`, reports such regions).

The networks, the Jensen-Shannon gradient regulariser (arXiv:1705.09367), the two time
scales, Adam's ``beta_1 = 0.5``, the generator's moving average and the early stopping on a
held-out sliced chi2 are those of the amplification GAN (:mod:`mlgen.generative.gan_training`),
on the Gaussian image of a feature map fitted to both samples over the range they fill.

References: arXiv:1912.08824, arXiv:2012.07873, arXiv:1705.09367.
"""

from __future__ import annotations

__all__ = ["LabelledGenerator", "SubtractionGANModel", "class_assignment", "train_subtraction_gan"]

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mlgen.events import EventBatch
from mlgen.generative.config import AmplifyConfig, GANConfig
from mlgen.generative.gan import (
    GANGenerator,
    _mlp,
    discriminator_loss,
    gan_discriminator,
    generator_loss,
    to_gaussian,
)
from mlgen.generative.gan_training import projection_directions, sliced_chi2
from mlgen.generative.layoutmap import knots_per_column
from mlgen.generative.model import GANModel
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup, features_of
from mlgen.generative.training import split_held_out
from mlgen.initialise import fresh_module
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator

#: Candidates generated at a time when drawing B - S events.
CANDIDATES = 200_000


class LabelledGenerator(GANGenerator):
    """A GAN's generator of ``dim`` event columns and, last, the label output ``c``.

    The event columns are residual (:class:`~mlgen.generative.gan.GANGenerator`: the untrained
    generator is the Gaussian the feature map makes of both samples). The label is a function of
    the generated event, by a network of its own (:attr:`label`) that sees the event but moves
    it not: ``D_S`` and the normalisation teach the labels, ``D_B`` the events. Through shared
    layers the labels' gradients bent B's upper edge on the toy by 6 to 8 sigma, and a learning
    rate that moves the labels fast enough tore the events apart. The label starts at
    ``c = logit(alpha)`` for every event (:meth:`start_labels_at`).
    """

    def __init__(self, dim: int, noise: int, hidden: int, layers: int):
        super().__init__(dim, 0, noise, hidden, layers, residual=True)
        self.label = _mlp(dim, 1, hidden, 2)

    def start_labels_at(self, alpha: float) -> LabelledGenerator:
        """Every event's label at ``f = alpha`` (after :func:`~mlgen.initialise.fresh_module`, which
        draws a layer again unless it is all zero); returns the generator."""
        last = self.label[-1]
        assert isinstance(last, torch.nn.Linear)
        with torch.no_grad():
            last.weight.zero_()
            last.bias.fill_(math.log(max(alpha, 1e-6) / (1 - alpha)))
        return self

    def forward(self, z: Tensor, context: Tensor | None = None) -> Tensor:
        """``(N, dim + 1)``: the event columns' Gaussian image and the label, from noise ``z (N, n_noise)``."""
        events = super().forward(z)
        return torch.cat([events, self.label(events.detach())], 1)


def class_assignment(c: Tensor) -> Tensor:
    """``f(c) = sigmoid(c)``: the share in the class S of an event with label output ``c``."""
    return torch.sigmoid(c)


@dataclass
class SubtractionGANModel(GANModel):
    """A trained subtraction GAN of one record layout. Its generator's last output is the label ``c``;
    ``alpha = sigma_S / sigma_B``; ``label_mean`` the generated events' mean ``f(c)`` after training
    (``alpha`` when the normalisation holds). ``losses`` per epoch: ``D_B``'s and ``D_S``'s cross
    entropies, the held-out sliced chi2 per degree of freedom (NaN between checks), the
    normalisation loss."""

    alpha: float = 0.0
    label_mean: float = math.nan

    def labelled_sample(
        self, n: int, gen: torch.Generator, network: GANGenerator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(t, f)``: ``n`` generated events' Gaussian image ``(n, dim)`` and their class assignment
        ``f(c) (n,)``, by ``network`` (default: the model's generator)."""
        network = self.gan if network is None else network
        device = self.features.lo.device
        out = network(torch.randn(n, network.n_noise, generator=gen, device=device))
        t = torch.empty(n, self.features.dim, device=device, dtype=out.dtype)
        t[:, self.free] = out[:, :-1]
        for j, value in self.fixed.items():
            t[:, j] = value
        return t, class_assignment(out[:, -1])

    def gaussian_sample(self, n: int, gen: torch.Generator, network: GANGenerator | None = None) -> Tensor:
        """``(n, dim)`` events of B - S: generated events, each kept with probability ``1 - f(c)``."""
        parts, have = [], 0
        keep_share = max(1.0 - self.alpha, 1e-3)
        while have < n:
            m = min(int(1.2 * (n - have) / keep_share) + 64, CANDIDATES)
            t, f = self.labelled_sample(m, gen, network)
            keep = torch.rand(m, generator=gen, device=t.device) >= f
            parts.append(t[keep])
            have += int(keep.sum())
        return torch.cat(parts)[:n]


def _sample_tensors(
    samples: list[tuple[EventBatch, EventGroup]], device: torch.device
) -> tuple[list[Tensor], list[Tensor]]:
    """Each sample's features ``(N, n_features)`` and weights at mean 1 (float64)."""
    xs, ws = [], []
    for batch, group in samples:
        xs.append(features_of(batch, group).to(device))
        w = batch.weight[group.index.to(batch.device)].double().to(device)
        ws.append(w / w.mean())
    return xs, ws


def _fixed_columns(ts: list[Tensor], trains: list[Tensor]) -> dict[int, float]:
    """Gaussian-image columns that are the same in every training event of both samples."""
    first = ts[0][trains[0][0]]
    same = torch.ones_like(first, dtype=torch.bool)
    for t, train in zip(ts, trains):
        same &= (t[train] == first).all(0)
    return {j: float(first[j]) for j in range(len(first)) if bool(same[j])}


def _sample_range_map(group: EventGroup, xs: list[Tensor], ws: list[Tensor], config: AmplifyConfig) -> FeatureMap:
    """The feature map of both samples' quantiles (the mixture's, :func:`~mlgen.generative.mixture.mixture_map`)
    over the range the samples fill, not a feature's physical range.

    In the Gaussian image a range with no events at the end of the map is a wall the generator must
    learn to stop at: with cos(theta) in [-1, 1] and the toy's events from -0.98, 3.7% of the unit
    interval was empty below the events, and 10 epochs left B's densest decile 21 sigma short, its
    events generated below the wall.
    """
    x_all = torch.cat(xs)
    low, high = x_all.min(0).values, x_all.max(0).values
    bounds: list[tuple[float | None, float | None] | None] = [
        (float(lo), float(hi)) if hi > lo else None for lo, hi in zip(low, high)
    ]
    fmap = FeatureMap.fit(
        x_all, torch.cat(ws), bounds=bounds, n_knots=knots_per_column(group, config), tails=False
    )
    if fmap.dim == 0:
        raise ValueError(f"layout {group.key}: every feature is the same in all events; nothing to learn")
    return fmap


@dataclass
class _Game:
    """The networks, optimisers and data of one layout's subtraction GAN (B first, then S)."""

    model: SubtractionGANModel
    network: LabelledGenerator
    disc_b: torch.nn.Module
    disc_s: torch.nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ts: list[Tensor]
    ws: list[Tensor]
    gan: GANConfig

    def step(self, rows: list[Tensor], fakes: torch.Generator) -> Tensor:
        """One step of the discriminators and one of the generator on the minibatch ``rows`` of each
        sample; returns ``(D_B cross entropy, D_S cross entropy, normalisation loss)``."""
        gan, size = self.gan, len(rows[0])
        with torch.no_grad():
            fake, f = self.model.labelled_sample(size, fakes, self.network)
        d_loss, cross_b = discriminator_loss(self.disc_b, self.ts[0][rows[0]], self.ws[0][rows[0]], fake, gan.regulariser)
        cross_s = torch.zeros(())
        if self.disc_s is not None:
            loss_s, cross_s = discriminator_loss(
                self.disc_s, self.ts[1][rows[1]], self.ws[1][rows[1]], fake, gan.regulariser, fake_weight=f
            )
            d_loss = d_loss + loss_s
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        fake, f = self.model.labelled_sample(size, fakes, self.network)
        norm = (f.mean() - self.model.alpha) ** 2
        g_loss = generator_loss(self.disc_b, fake) + gan.normalisation * norm
        if self.disc_s is not None:
            # D_S teaches the labels only: through the events it pulls them towards S's shape, and
            # with f near 1 as hard as D_B pulls them towards B's (the toy's upper edge, where B - S
            # is, lost 8 sigma of B's events); the equilibrium is the same, p_G = p_B and f p_G ~ p_S
            g_loss = g_loss + generator_loss(self.disc_s, fake.detach(), f)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        return torch.tensor([cross_b.item(), cross_s.item(), norm.item()], dtype=torch.float64)

    def held_out(self, checks: list[Tensor], directions: Tensor, fakes: torch.Generator) -> tuple[float, int]:
        """The averaged generator's sliced chi2 per dof against the held-out events: all generated
        events against B's, those drawn as S (probability ``f``) against S's; and its dof."""
        n = self.gan.check_factor * len(checks[0])
        with torch.no_grad():
            t, f = self.model.labelled_sample(n, fakes)
        chi2, ndf = sliced_chi2(t, self.ts[0][checks[0]], self.ws[0][checks[0]].float(), directions)
        if self.disc_s is None:
            return chi2, ndf
        as_s = torch.rand(n, generator=fakes, device=t.device) < f
        chi2_s, ndf_s = sliced_chi2(t[as_s], self.ts[1][checks[1]], self.ws[1][checks[1]].float(), directions)
        return (chi2 * ndf + chi2_s * ndf_s) / (ndf + ndf_s), ndf + ndf_s


def _game(
    model: SubtractionGANModel, network: LabelledGenerator, ts: list[Tensor], ws: list[Tensor], gan: GANConfig,
    seed: np.random.SeedSequence, device: torch.device,
) -> _Game:
    """The discriminators (``D_S`` only where there is an S) and the optimisers."""
    dim = ts[0].shape[1]
    seeds = seed.spawn(2)
    discs = [fresh_module(lambda: gan_discriminator(dim, gan.hidden, gan.layers), s).to(device) for s in seeds]
    disc_s = discs[1] if len(ts) == 2 else None
    params = list(discs[0].parameters()) + (list(disc_s.parameters()) if disc_s is not None else [])
    # the labels learn a density ratio from D_S, at the discriminators' time scale
    groups = [
        {"params": list(network.net.parameters()), "lr": gan.lr_generator},
        {"params": list(network.label.parameters()), "lr": gan.lr_discriminator},
    ]
    opt_g = torch.optim.Adam(groups, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(params, lr=gan.lr_discriminator, betas=(0.5, 0.9))
    return _Game(model, network, discs[0], disc_s, opt_g, opt_d, ts, [w.float() for w in ws], gan)


def train_subtraction_gan(
    base: tuple[EventBatch, EventGroup],
    sub: tuple[EventBatch, EventGroup] | None,
    alpha: float,
    config: AmplifyConfig,
    fraction: float,
    device: torch.device,
    seed: SeedLike | None = None,
) -> SubtractionGANModel:
    """Train the subtraction GAN on B's and S's events of one layout; ``alpha = sigma_S / sigma_B``.

    ``sub`` is ``None`` (and ``alpha`` 0) for a layout that S does not have: then the generator learns
    B alone, its labels pushed to B - S. ``config.gan`` the settings (default :class:`GANConfig`),
    ``config.epochs`` the passes over B's training events; ``validation`` the held-out share of each
    sample, whose sliced chi2 picks the weights kept. ``seed`` (default ``config.seed``): the split,
    the generator, the discriminators, the batches and the generated events each take a child.
    """
    if not 0 <= alpha < 1:
        raise ValueError(f"alpha = sigma_S / sigma_B must be in [0, 1), got {alpha}")
    gan = config.gan if config.gan is not None else GANConfig()
    split_seed, gen_seed, disc_seed, batch_seed, fake_seed = as_seed_sequence(
        config.seed if seed is None else seed
    ).spawn(5)
    samples = [base] + ([sub] if sub is not None and alpha > 0 else [])
    xs, ws = _sample_tensors(samples, device)
    group = base[1]
    fmap = _sample_range_map(group, xs, ws, config)
    ts = [to_gaussian(fmap.to_unit(x).float()) for x in xs]
    split = torch_generator(split_seed, device)
    splits = [split_held_out(len(t), config.validation, split, device) for t in ts]
    fixed = _fixed_columns(ts, [train for train, _ in splits])
    n_out = fmap.dim - len(fixed)
    # residual: the feature map makes B + S's marginals Gaussian here, so the untrained generator is
    # close already (without, 10 epochs on the toy left B's densest decile 38% short)
    alpha = alpha if len(samples) == 2 else 0.0
    network = fresh_module(lambda: LabelledGenerator(n_out, gan.noise, gan.hidden, gan.layers), gen_seed)
    network = network.start_labels_at(alpha).to(device)
    average = copy.deepcopy(network)
    model = SubtractionGANModel(group, average, fmap, fraction, fixed=fixed, alpha=alpha)
    game = _game(model, network, ts, ws, gan, disc_seed, device)
    batches, fakes = torch_generator(batch_seed, device), torch_generator(fake_seed, device)
    directions = projection_directions(fmap.dim, torch_generator(fake_seed.spawn(1)[0], device), device)
    checks = [val if len(val) else train for train, val in splits]
    size = min(gan.batch, len(splits[0][0]))
    steps = max(len(splits[0][0]) // size, 1)
    kept: list[tuple[float, int, dict[str, Tensor]]] = []  # (chi2 / ndf, epoch, weights)
    spread, step = 0.0, 0
    start = time.perf_counter()
    for epoch in range(config.epochs):
        perms = [train[torch.randperm(len(train), generator=batches, device=device)] for train, _ in splits]
        sums = torch.zeros(3, dtype=torch.float64)
        for s in range(steps):
            # S's minibatch as large a share of S as B's is of B
            rows = [perm[s * (len(perm) // steps) : (s + 1) * (len(perm) // steps)] for perm in perms]
            sums += game.step(rows, fakes)
            step += 1
            decay = min(gan.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for mine, trained in zip(average.parameters(), network.parameters()):
                    mine.lerp_(trained, 1 - decay)
        means = sums / steps
        held_chi2 = math.nan
        if (epoch + 1) % gan.check_every == 0 or epoch + 1 == config.epochs:
            held_chi2, ndf = game.held_out(checks, directions, fakes)
            kept.append((held_chi2, epoch, copy.deepcopy(average.state_dict())))
            spread = math.sqrt(2 / ndf)
        model.losses.append((float(means[0]), float(means[1]), held_chi2, float(means[2])))
    best = min(chi2 for chi2, _, _ in kept)
    _, model.best_epoch, weights = [c for c in kept if c[0] <= best + spread][-1]
    average.load_state_dict(weights)
    with torch.no_grad():
        model.label_mean = float(model.labelled_sample(100_000, fakes)[1].double().mean())
    model.seconds = time.perf_counter() - start
    return model
