"""Neural resampling: positive weights from the learnt local moments of the signed weights.

A network learns the conditional moments ``m1(x) = E[w | x]`` and
``m2(x) = E[w^2 | x]`` by regression on the signed sample (mean squared error
is minimised by the conditional mean). Each event is then kept with
probability ``p = min(m1^2 / m2, 1)`` and given the weight ``m1 / p``, so that

    E[w_new | x] = m1(x)   and   E[w_new^2 | x] = m2(x)   (where m1^2 <= m2),

the cross section of every region and its Monte Carlo uncertainty are those of
the input, with positive weights and fewer events (the kept fraction is about
``N_eff / N``). Where the learnt ``m1`` is not positive the events are dropped;
their share of the cross section is reported.

The moments of an event are predicted by a network that did not see it
(two-fold cross-fitting), so a network that memorises its training weights
cannot hand the negative weights back.

References:
    B. Nachman, J. Thaler, Phys. Rev. D 102 (2020) 076004, arXiv:2007.11586.
"""

from __future__ import annotations

__all__ = ["NeuralConfig", "NeuralResult", "fit_moments", "neural_resample"]

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class NeuralConfig:
    """Regression settings: an MLP of ``layers`` x ``hidden``, Adam, early stopping on a held-out tenth."""

    hidden: int = 64
    layers: int = 3
    epochs: int = 200
    batch: int = 1024
    lr: float = 2e-3
    patience: int = 20
    seed: int = 1


@dataclass(frozen=True)
class NeuralResult:
    """``keep`` mask and new ``weights`` (for the kept events), the moments, and what was dropped."""

    keep: np.ndarray
    weights: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    dropped_sigma_fraction: float
    epochs: tuple[int, int]

    def to_dict(self) -> dict[str, float | int | list[int]]:
        return {
            "kept_fraction": float(self.keep.mean()),
            "nonpositive_mean_sigma_fraction": self.dropped_sigma_fraction,
            "epochs_per_fold": list(self.epochs),
        }


def _network(n_in: int, config: NeuralConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(config.layers):
        layers += [nn.Linear(width, config.hidden), nn.SiLU()]
        width = config.hidden
    layers.append(nn.Linear(width, 2))
    return nn.Sequential(*layers)


def _moments(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = net(x)
    return out[:, 0], nn.functional.softplus(out[:, 1])


def _train(
    x: torch.Tensor, t: torch.Tensor, config: NeuralConfig, gen: torch.Generator
) -> tuple[nn.Module, int]:
    """Fit ``(m1, m2)`` to ``(t, t^2)``; stop once the held-out loss stalls for ``patience`` epochs."""
    n = len(x)
    order = torch.randperm(n, generator=gen)
    n_val = max(n // 10, 1)
    val, fit = order[:n_val], order[n_val:]
    net = _network(x.shape[1], config).to(x.device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        m1, m2 = _moments(net, x[idx])
        return ((m1 - t[idx]) ** 2).mean() + ((m2 - t[idx] ** 2) ** 2).mean()

    best, best_state, stale, used = math.inf, None, 0, 0
    while used < config.epochs:
        used += 1
        perm = fit[torch.randperm(len(fit), generator=gen)]
        for start in range(0, len(perm), config.batch):
            loss = loss_of(perm[start : start + config.batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        with torch.no_grad():
            held = float(loss_of(val))
        if held < best:
            best, stale = held, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    return net, used


def fit_moments(
    points: np.ndarray, weights: np.ndarray, config: NeuralConfig = NeuralConfig(), device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Cross-fitted ``E[w | x]`` and ``E[w^2 | x]`` at every event (the weights' unit and its square)."""
    x_np = np.asarray(points, dtype=np.float64)
    mu, sd = x_np.mean(0), x_np.std(0)
    sd[sd == 0] = 1.0
    x = torch.tensor((x_np - mu) / sd, dtype=torch.float32, device=device)
    w = np.asarray(weights, dtype=np.float64)
    scale = float(np.sqrt((w * w).mean())) or 1.0
    t = torch.tensor(w / scale, dtype=torch.float32, device=device)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    fold = torch.randperm(len(w), generator=gen).to(device) % 2 == 0
    m1 = np.empty(len(w))
    m2 = np.empty(len(w))
    epochs = []
    for part in (fold, ~fold):
        net, used = _train(x[part], t[part], config, gen)
        epochs.append(used)
        with torch.no_grad():
            a, b = _moments(net, x[~part])
        other = (~part).cpu().numpy()
        m1[other] = a.double().cpu().numpy() * scale
        m2[other] = b.double().cpu().numpy() * scale**2
    return m1, m2, (epochs[0], epochs[1])


def neural_resample(
    points: np.ndarray,
    weights: np.ndarray,
    config: NeuralConfig = NeuralConfig(),
    *,
    device: str = "cpu",
    generator: np.random.Generator | None = None,
) -> NeuralResult:
    """Positive weights (and the events that keep them) preserving the local mean and variance."""
    rng = generator if generator is not None else np.random.default_rng(config.seed)
    m1, m2, epochs = fit_moments(points, weights, config, device)
    positive = m1 > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(positive, np.minimum(m1 * m1 / np.maximum(m2, 1e-300), 1.0), 0.0)
    keep = positive & (rng.random(len(p)) < p)
    new = np.where(keep, m1 / np.where(keep, p, 1.0), 0.0)
    total = float(np.abs(m1).sum())
    dropped = float(-m1[~positive].sum()) / total if total > 0 else 0.0
    return NeuralResult(
        keep=keep, weights=new[keep], m1=m1, m2=m2, dropped_sigma_fraction=dropped, epochs=epochs
    )
