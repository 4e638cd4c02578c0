"""Training one record layout's GAN (:mod:`mlgen.generative.gan`), with early stopping on held-out events.

Each minibatch takes one discriminator step and one generator step:

* the discriminator: the real events' weighted cross entropy against generated
  events (arXiv:2012.07873), with the Jensen-Shannon gradient regulariser
  (arXiv:1705.09367) as in arXiv:1907.03764;
* the generator: the non-saturating adversarial loss plus, on every resonance mass
  it generates, the MMD with a Breit-Wigner kernel of the physical width
  (arXiv:1907.03764) against the minibatch's masses;
* what makes it train stably: two time scales (the discriminator learns faster,
  arXiv:1706.08500), Adam with ``beta_1 = 0.5`` (arXiv:1907.03764), and the
  generator that generates is the moving average of the trained one's weights
  (arXiv:1806.04498), which smooths the oscillation of the adversarial game;
* every ``check_every`` epochs the averaged generator is compared with the held-out
  events by a sliced chi2 (:func:`sliced_chi2`): early stopping on a held-out metric.
  The weights kept are those of the latest check within the statistic's spread
  (``sqrt(2 / ndf)``) of the best one: with a small held-out set the lowest value is
  often a lucky dip of a generator still converging (10^3 toy events, 10^2 held out:
  a check at chi2/ndf 1.02 among 1.2-1.5, whose generator came out at 7 against the truth).

The feature map, the held lines and the resonance masses are the flow's
(:func:`mlgen.generative.training.train_group` prepares them and hands them here).
"""

from __future__ import annotations

__all__ = ["projection_directions", "sliced_chi2", "train_gan"]

import copy
import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mlgen.generative.config import AmplifyConfig, GANConfig
from mlgen.generative.gan import (
    GANGenerator,
    discriminator_loss,
    gan_discriminator,
    generator_loss,
    mmd_breit_wigner,
    to_gaussian,
    to_unit,
)
from mlgen.generative.model import GANModel, LayoutData
from mlgen.generative.quality import histogram_pulls
from mlgen.initialise import fresh_module
from mlgen.seeds import torch_generator


def sliced_chi2(fake: Tensor, real: Tensor, weight: Tensor, directions: Tensor) -> tuple[float, int]:
    """chi2 per degree of freedom of ``fake (N, d)`` against ``real (M, d)`` with ``weight (M,)``,
    summed over the projections on ``directions (K, d)``, and the degrees of freedom.

    Each projection is cut into bins of equal real weight (about 20 real events each, 5 to 20 bins)
    and compared by the pooled two-sample pulls of :func:`~mlgen.generative.quality.histogram_pulls`;
    1 for two samples of one distribution.
    """
    a = (fake.double() @ directions.double().T).cpu().numpy()
    b = (real.double() @ directions.double().T).cpu().numpy()
    wb = weight.double().cpu().numpy()
    n_eff = wb.sum() ** 2 / (wb**2).sum()
    bins = int(min(max(n_eff // 20, 5), 20))
    chi2, ndf = 0.0, 0
    for k in range(directions.shape[0]):
        order = np.argsort(b[:, k])
        cum = np.cumsum(wb[order]) / wb.sum()
        cuts = np.searchsorted(cum, np.arange(1, bins) / bins)
        edges = np.r_[-np.inf, b[order, k][np.minimum(cuts, len(order) - 1)], np.inf]
        pull = histogram_pulls(a[:, k], np.ones(len(a)), b[:, k], wb, np.unique(edges))[4]
        pull = pull[np.isfinite(pull)]
        chi2, ndf = chi2 + float((pull**2).sum()), ndf + max(len(pull) - 1, 1)
    return chi2 / ndf, ndf


def projection_directions(dim: int, gen: torch.Generator, device: torch.device) -> Tensor:
    """The ``dim`` axes and ``2 dim`` random unit directions of the Gaussian image."""
    random = torch.randn(2 * dim, dim, generator=gen, device=device)
    return torch.cat([torch.eye(dim, device=device), random / random.norm(dim=1, keepdim=True)])


def _mmd_columns(data: LayoutData) -> list[tuple[int, float]]:
    """The resonance masses the generator makes (not held, not constant): ``(feature column, width)``."""
    out = []
    for col, width in data.masses:
        unit = data.features.unit_columns([col])
        if unit and unit[0] not in data.held:
            out.append((col, width))
    return out


def train_gan(
    data: LayoutData,
    config: AmplifyConfig,
    seeds: tuple[np.random.SeedSequence, ...],
    device: torch.device,
    progress: Callable[[int, float, float], None] | None = None,
) -> GANModel:
    """Train a GAN on one layout's ``data``; ``seeds`` the streams of the generator, the
    discriminator, the batches and the generated events; ``progress(epoch, discriminator cross
    entropy, held-out sliced chi2 per dof)`` after each check."""
    gan = config.gan if config.gan is not None else GANConfig()
    gen_seed, disc_seed, batch_seed, fake_seed = seeds
    t = to_gaussian(data.u)
    dim, n_held = data.u.shape[1], len(data.held)
    first = t[data.train[0]]
    same = (t[data.train] == first).all(0)
    fixed = {j: float(first[j]) for j in range(dim) if bool(same[j]) and j not in data.held}
    n_out = dim - n_held - len(fixed)
    network = fresh_module(lambda: GANGenerator(n_out, n_held, gan.noise, gan.hidden, gan.layers), gen_seed)
    network = network.to(device)
    average = copy.deepcopy(network)
    model = GANModel(
        data.group,
        average,
        data.features,
        data.fraction,
        held=data.held,
        line_shapes=data.line_shapes,
        fixed=fixed,
    )
    disc = fresh_module(lambda: gan_discriminator(dim, gan.hidden, gan.layers), disc_seed).to(device)
    opt_g = torch.optim.Adam(network.parameters(), lr=gan.lr_generator, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=gan.lr_discriminator, betas=(0.5, 0.9))
    batches, fakes = torch_generator(batch_seed, device), torch_generator(fake_seed, device)
    w = data.w.float()
    check = data.held_out if len(data.held_out) else data.train
    directions = projection_directions(dim, torch_generator(fake_seed.spawn(1)[0], device), device)
    masses = _mmd_columns(data) if gan.mmd_weight > 0 else []
    size = min(gan.batch, len(data.train))
    steps = max(len(data.train) // size, 1)
    checks: list[tuple[float, int, dict[str, Tensor]]] = []  # (chi2 / ndf, epoch, weights)
    spread, step = 0.0, 0
    start = time.perf_counter()
    for epoch in range(config.epochs):
        perm = data.train[torch.randperm(len(data.train), generator=batches, device=device)]
        sums = torch.zeros(3, dtype=torch.float64)
        for s in range(steps):
            idx = perm[s * size : (s + 1) * size]
            with torch.no_grad():
                fake = model.gaussian_sample(len(idx), fakes, network)
            d_loss, cross = discriminator_loss(disc, t[idx], w[idx], fake, gan.regulariser)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            fake = model.gaussian_sample(len(idx), fakes, network)
            g_loss = generator_loss(disc, fake)
            mmd = torch.zeros((), device=device)
            if masses:
                fake_x = data.features.from_unit(to_unit(fake).double().clamp(0, 1))
                for col, width in masses:
                    mmd = mmd + mmd_breit_wigner(fake_x[:, col], data.x[idx, col], data.w[idx], width).float()
            opt_g.zero_grad()
            (g_loss + gan.mmd_weight * mmd).backward()
            opt_g.step()
            step += 1
            # the average's memory grows from a few steps to 1 / (1 - ema): early weights fade fast
            decay = min(gan.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for mine, trained in zip(average.parameters(), network.parameters()):
                    mine.lerp_(trained, 1 - decay)
            sums += torch.tensor([cross.item(), g_loss.item(), mmd.item()], dtype=torch.float64)
        means = sums / steps
        held_chi2 = math.nan
        if (epoch + 1) % gan.check_every == 0 or epoch + 1 == config.epochs:
            with torch.no_grad():
                fake = model.gaussian_sample(gan.check_factor * len(check), fakes)
            held_chi2, ndf = sliced_chi2(fake, t[check], data.w[check], directions)
            checks.append((held_chi2, epoch, copy.deepcopy(average.state_dict())))
            spread = math.sqrt(2 / ndf)
            if progress is not None:
                progress(epoch, float(means[0]), held_chi2)
        model.losses.append((float(means[0]), held_chi2, float(means[1]), float(means[2])))
    best = min(chi2 for chi2, _, _ in checks)
    _, model.best_epoch, kept = [c for c in checks if c[0] <= best + spread][-1]
    average.load_state_dict(kept)
    model.seconds = time.perf_counter() - start
    return model
