"""GAN amplification of an event sample: more events than trained on, written as valid LHE.

One generator per record layout (:mod:`mlgen.gan.representation`; Z + 0, 1, 2
jets get one each, with the layout fractions of the input), trained against a
discriminator on the features of the input events (How to GAN LHC events,
arXiv:1907.03764):

* the discriminator loss is the weighted binary cross entropy, so a weighted
  input with positive weights is learnt directly (arXiv:2012.07873), with no
  hit-or-miss step throwing events away; negative weights are refused;
* the discriminator is Lipschitz-regularised by spectral normalisation;
* an MMD term with a Breit-Wigner (Cauchy) kernel of the resonance's physical
  width on every intermediate resonance's mass keeps narrow peaks (Z, W, t) in
  place;
* flavours, colour flows, mothers and scales of a generated event are those of
  its nearest training event in feature space (the frequencies of the input,
  conditioned on the kinematics).

The amplification actually achieved is measured, not assumed: ``mlgen compare``
against a held-out truth sample (:mod:`mlgen.gan.metrics`).
"""

from __future__ import annotations

__all__ = ["AmplifyConfig", "GroupModel", "amplify", "train_group"]

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from mlgen.events import EventBatch, RunInfo
from mlgen.gan.representation import EventGroup, features_of, group_events, momenta_of

#: Physical widths (GeV) of resonances whose mass peaks the MMD term holds in place.
WIDTHS = {23: 2.4952, 24: 2.085, 6: 1.42, 25: 0.0041}


@dataclass(frozen=True)
class AmplifyConfig:
    """Training settings. ``epochs`` over the group's events, minibatches of ``batch``."""

    epochs: int = 300
    batch: int = 512
    latent: int = 16
    hidden: int = 128
    lr: float = 2e-4
    mmd_weight: float = 1.0
    seed: int = 1


def _mlp(n_in: int, n_out: int, hidden: int, spectral: bool = False) -> nn.Sequential:
    def lin(a: int, b: int) -> nn.Module:
        layer = nn.Linear(a, b)
        return nn.utils.parametrizations.spectral_norm(layer) if spectral else layer

    return nn.Sequential(
        lin(n_in, hidden),
        nn.LeakyReLU(0.2),
        lin(hidden, hidden),
        nn.LeakyReLU(0.2),
        lin(hidden, hidden),
        nn.LeakyReLU(0.2),
        lin(hidden, n_out),
    )


@dataclass
class GroupModel:
    """A trained generator for one record layout, with its feature scaling and training history."""

    group: EventGroup
    generator: nn.Module
    mean: Tensor
    std: Tensor
    latent: int
    fraction: float
    losses: list[tuple[float, float, float]] = field(default_factory=list)
    seconds: float = 0.0

    def sample_features(self, n: int, gen: torch.Generator) -> Tensor:
        device = self.mean.device
        z = torch.randn(n, self.latent, generator=gen, device=device)
        with torch.no_grad():
            return self.generator(z).double() * self.std + self.mean


def _mmd_cauchy(a: Tensor, b: Tensor, width: float) -> Tensor:
    """Squared MMD of two 1-d samples with the kernel ``w^2 / ((x - y)^2 + w^2)``."""

    def k(x: Tensor, y: Tensor) -> Tensor:
        return (width**2 / ((x[:, None] - y[None, :]) ** 2 + width**2)).mean()

    return k(a, a) + k(b, b) - 2 * k(a, b)


def _resonance_masses(
    feats: Tensor, group: EventGroup, phi0: Tensor, sqrt_s: float, slot_pdg: dict[int, int]
) -> list[tuple[Tensor, float]]:
    if not group.resonances:
        return []
    p, _, _ = momenta_of(feats, group, phi0, sqrt_s)
    out = []
    for slot, daughters in group.resonances.items():
        pdg = slot_pdg[slot]
        cols = [group.final.index(d) for d in daughters]
        if not cols or pdg not in WIDTHS:
            continue
        q = p[:, cols].sum(1)
        m = torch.sqrt((q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(-1)).clamp(min=0))
        out.append((m, WIDTHS[pdg]))
    return out


def train_group(
    batch: EventBatch,
    group: EventGroup,
    sqrt_s: float,
    config: AmplifyConfig,
    fraction: float,
    device: torch.device,
    progress: Callable[[int, float, float], None] | None = None,
) -> GroupModel:
    """Train one group's generator; ``progress(epoch, d_loss, g_loss)`` after every epoch."""
    torch.manual_seed(config.seed)
    x = features_of(batch, group).to(device)
    w = batch.weight[group.index.to(batch.device)].double().to(device)
    w = w / w.mean()
    mean, std = x.mean(0), x.std(0).clamp(min=1e-6)
    xs = ((x - mean) / std).float()
    dim = xs.shape[1]
    generator = _mlp(config.latent, dim, config.hidden).to(device)
    disc = _mlp(dim, 1, config.hidden, spectral=True).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=(0.5, 0.9))
    gen = torch.Generator(device=device).manual_seed(config.seed)
    slot_pdg = {k: abs(int(batch.pdg[int(group.index[0]), k])) for k in group.resonances}
    bce = nn.functional.binary_cross_entropy_with_logits
    model = GroupModel(group, generator, mean, std, config.latent, fraction)
    start = time.perf_counter()
    n = len(xs)
    bsz = min(config.batch, n)
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=gen, device=device)
        d_sum = g_sum = m_sum = 0.0
        steps = 0
        for s in range(0, n - bsz + 1, bsz):
            idx = order[s : s + bsz]
            real, wr = xs[idx], w[idx].float()
            z = torch.randn(bsz, config.latent, generator=gen, device=device)
            fake = generator(z)
            d_loss = bce(disc(real).squeeze(1), torch.ones(bsz, device=device), weight=wr) + bce(
                disc(fake.detach()).squeeze(1), torch.zeros(bsz, device=device)
            )
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = bce(disc(fake).squeeze(1), torch.ones(bsz, device=device))
            mmd = torch.zeros((), device=device)
            if config.mmd_weight and group.resonances:
                phi0 = torch.zeros(bsz, device=device, dtype=torch.float64)
                fake_f = fake.double() * std + mean
                real_f = real.double() * std + mean
                for (mf, width), (mr, _) in zip(
                    _resonance_masses(fake_f, group, phi0, sqrt_s, slot_pdg),
                    _resonance_masses(real_f, group, phi0, sqrt_s, slot_pdg),
                ):
                    mmd = mmd + _mmd_cauchy(mf, mr, width).float()
            loss = g_loss + config.mmd_weight * mmd * bsz**0.5
            opt_g.zero_grad()
            loss.backward()
            opt_g.step()
            d_sum += d_loss.item()
            g_sum += g_loss.item()
            m_sum += mmd.item()
            steps += 1
        model.losses.append((d_sum / max(steps, 1), g_sum / max(steps, 1), m_sum / max(steps, 1)))
        if progress is not None:
            progress(epoch, *model.losses[-1][:2])
    model.seconds = time.perf_counter() - start
    return model


def _nearest(train: Tensor, query: Tensor, chunk: int = 4096) -> Tensor:
    out = []
    for s in range(0, len(query), chunk):
        out.append(torch.cdist(query[s : s + chunk], train).argmin(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def generate_group(
    model: GroupModel, batch: EventBatch, sqrt_s: float, n: int, gen: torch.Generator, max_tries: int = 50
) -> tuple[EventBatch, int]:
    """``n`` events of the model's layout; returns them and the number rejected (``x > 1``)."""
    group = model.group
    feats_train = ((features_of(batch, group).to(model.mean.device) - model.mean) / model.std).float()
    kept: list[Tensor] = []
    rejected = 0
    have = 0
    for _ in range(max_tries):
        want = int((n - have) * 1.2) + 16
        f = model.sample_features(want, gen)
        phi0 = (torch.rand(want, generator=gen, device=f.device, dtype=torch.float64) * 2 - 1) * math.pi
        p, x1, x2 = momenta_of(f, group, phi0, sqrt_s)
        ok = (x1 > 0) & (x1 <= 1) & (x2 > 0) & (x2 <= 1) & torch.isfinite(p).all(-1).all(-1)
        rejected += int((~ok).sum())
        kept.append(torch.cat([f[ok], phi0[ok, None]], 1))
        have += int(ok.sum())
        if have >= n:
            break
    if have < n:
        raise RuntimeError(f"layout {group.key}: only {have} of {n} generated events have x1, x2 <= 1")
    fz = torch.cat(kept)[:n]
    feats, phi0 = fz[:, :-1], fz[:, -1]
    p, x1, x2 = momenta_of(feats, group, phi0, sqrt_s)
    # flavours, colours, mothers, scales: those of the nearest training event
    near = group.index.to(batch.device)[
        _nearest(feats_train, ((feats - model.mean) / model.std).float()).cpu()
    ]
    out = batch[near].to("cpu")
    mom = out.momenta.clone()
    mom[:, group.final] = p.cpu().to(mom.dtype)
    mom[:, 0] = torch.stack([x1, torch.zeros_like(x1), torch.zeros_like(x1), x1], -1).cpu() * sqrt_s / 2
    mom[:, 1] = torch.stack([x2, torch.zeros_like(x2), torch.zeros_like(x2), -x2], -1).cpu() * sqrt_s / 2
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
    out.extra_weights = None
    return out, rejected


def amplify(
    batch: EventBatch,
    info: RunInfo,
    n_out: int,
    *,
    config: AmplifyConfig = AmplifyConfig(),
    device: torch.device | str = "cpu",
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, float, float], None] | None = None,
) -> tuple[EventBatch, dict]:
    """Train on ``batch`` and generate ``n_out`` unweighted events with the input's cross section.

    Returns the events (every weight ``sigma / n_out`` in pb: they sum to sigma, as in
    MadGraph's and mlgen's unweighted files) and a training report.
    """
    device = torch.device(device)
    w = batch.weight.double()
    if bool((w < 0).any()):
        raise ValueError(
            f"{int((w < 0).sum())} events have negative weights: GAN amplification needs positive weights; "
            "remove them first with 'mlgen positive'"
        )
    if not bool((w > 0).any()):
        raise ValueError("no event has a positive weight")
    sqrt_s = info.sqrt_s
    groups = group_events(batch)
    total = float(w.sum())
    fractions = [float(w[g.index].sum()) / total for g in groups]
    gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    counts = torch.multinomial(
        torch.tensor(fractions, dtype=torch.float64),
        n_out,
        replacement=True,
        generator=torch.Generator().manual_seed(config.seed + 2),
    )
    parts, report_groups = [], []
    for k, (group, frac) in enumerate(zip(groups, fractions)):
        n_k = int((counts == k).sum())
        if log is not None:
            log(f"layout {k + 1}/{len(groups)}: {len(group.index)} events ({frac:.1%} of sigma) -> {n_k} new")
        model = train_group(batch, group, sqrt_s, config, frac, device, progress)
        events, rejected = generate_group(model, batch, sqrt_s, n_k, gen) if n_k else (None, 0)
        if events is not None:
            parts.append(events)
        report_groups.append(
            {
                "layout": [list(x) for x in group.key],
                "n_train": len(group.index),
                "fraction": frac,
                "n_generated": n_k,
                "rejected_x_above_1": rejected,
                "train_seconds": model.seconds,
                "losses": model.losses,
            }
        )
    out = EventBatch.concat(parts)
    perm = torch.randperm(len(out), generator=torch.Generator().manual_seed(config.seed + 3))
    out = out[perm]
    sigma = sum(p.xsec_pb for p in info.processes) if info.processes else total / len(batch)
    out.weight = torch.full((len(out),), sigma / len(out), dtype=torch.float64)
    return out, {"n_train": len(batch), "n_out": len(out), "sigma_pb": sigma, "groups": report_groups}
