"""A weighted binary classifier, cross-fitted: the density ratio for negative weights and subtraction.

:func:`cross_fit` splits the events into ``folds`` parts, trains an MLP with the
weighted binary cross entropy on all parts but one in turn, and returns, for
every event, the probability ``D(x)`` from the networks that did *not* see it —
so a network that memorises its training labels cannot pass them back. With
class weights ``a_i``, ``D(x) = A_1(x) / (A_0(x) + A_1(x))`` where ``A_c(x)`` is
the weight density of class ``c``: a density ratio ``D / (1 - D)``. With
``members > 1`` each part is predicted by that many networks from different
initialisations and batch orders, their logits averaged (a log-ratio ensemble):
the ratio's scatter from training alone is as large as its statistical error.
:func:`cross_fit_ensemble` also returns the networks, as an :class:`Ensemble` that
gives ``D`` at points none of them saw (refinement of generated events).
"""

from __future__ import annotations

__all__ = ["ClassifierConfig", "Ensemble", "cross_fit", "cross_fit_ensemble"]

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from mlgen.initialise import fresh_module
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


@dataclass(frozen=True)
class ClassifierConfig:
    """An MLP of ``layers`` x ``hidden`` (SiLU), Adam, early stopping on a held-out tenth of its
    training events; ``folds`` parts, ``members`` networks per part (:func:`cross_fit`); ``seed``
    the root of its random streams (:mod:`mlgen.seeds`) where the caller gives none."""

    hidden: int = 64
    layers: int = 3
    epochs: int = 100
    batch: int = 1024
    lr: float = 2e-3
    patience: int = 10
    seed: int = 1
    folds: int = 2
    members: int = 1

    def __post_init__(self) -> None:
        if self.folds < 2 or self.members < 1:
            raise ValueError(
                f"ClassifierConfig needs folds >= 2 and members >= 1, got {self.folds}, {self.members}"
            )


def _network(n_in: int, config: ClassifierConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(config.layers):
        layers += [nn.Linear(width, config.hidden), nn.SiLU()]
        width = config.hidden
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def _train(
    x: torch.Tensor, label: torch.Tensor, size: torch.Tensor, config: ClassifierConfig, seed: SeedLike
) -> tuple[nn.Module, int]:
    """Weighted cross entropy; stop once the held-out loss stalls for ``patience`` epochs. ``seed``:
    the stream of the network's initialisation and of its split and batch order."""
    init, batches = as_seed_sequence(seed).spawn(2)
    gen = torch_generator(batches)
    order = torch.randperm(len(x), generator=gen).to(x.device)
    n_val = max(len(x) // 10, 1)
    val, fit = order[:n_val], order[n_val:]
    net = fresh_module(lambda: _network(x.shape[1], config), init).to(x.device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        logit = net(x[idx]).squeeze(1)
        return nn.functional.binary_cross_entropy_with_logits(logit, label[idx], weight=size[idx])

    best, best_state, stale, used = math.inf, None, 0, 0
    while used < config.epochs:
        used += 1
        perm = fit[torch.randperm(len(fit), generator=gen).to(x.device)]
        for start in range(0, len(perm), config.batch):
            loss = loss_of(perm[start : start + config.batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
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


@dataclass
class Ensemble:
    """Every network of a cross-fit, with the features' standardisation: ``D`` at new points.

    Points outside the training features' range are moved onto its edge first: a network's logit
    grows linearly away from its data, and a generated event just beyond it would get any ratio.
    """

    networks: list[nn.Module]
    mu: np.ndarray
    sd: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    device: str = "cpu"
    chunk: int = field(default=1 << 16, repr=False)

    def logits(self, points: np.ndarray) -> np.ndarray:
        """``(M, N)``: each of the ``M`` networks' logit at ``(N, D)`` points."""
        x_np = (np.clip(np.asarray(points, dtype=np.float64), self.lo, self.hi) - self.mu) / self.sd
        out = np.zeros((len(self.networks), len(x_np)))
        with torch.no_grad():
            for start in range(0, len(x_np), self.chunk):
                x = torch.tensor(x_np[start : start + self.chunk], dtype=torch.float32, device=self.device)
                for k, net in enumerate(self.networks):
                    out[k, start : start + self.chunk] = net(x).squeeze(1).double().cpu().numpy()
        return out

    def probability(self, points: np.ndarray) -> np.ndarray:
        """``sigmoid`` of the networks' averaged logits at ``(N, D)`` points (none of them trained there)."""
        return 1 / (1 + np.exp(-self.logits(points).mean(0)))


def cross_fit(
    points: np.ndarray,
    label: np.ndarray,
    weight: np.ndarray,
    config: ClassifierConfig = ClassifierConfig(),
    device: str = "cpu",
    seed: SeedLike | None = None,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``D(x)`` at every event from the networks not trained on it, and the epochs each network took.

    Arguments:
        points: ``(N, D)`` features (standardised here).
        label: ``(N,)`` bool, class 1.
        weight: ``(N,)`` non-negative event weights (normalised here to mean 1).
        seed: the stream (default ``config.seed``): the folds and every network take a child.
    """
    d, epochs, _ = cross_fit_ensemble(points, label, weight, config, device, seed)
    return d, epochs


def cross_fit_ensemble(
    points: np.ndarray,
    label: np.ndarray,
    weight: np.ndarray,
    config: ClassifierConfig = ClassifierConfig(),
    device: str = "cpu",
    seed: SeedLike | None = None,
) -> tuple[np.ndarray, tuple[int, ...], Ensemble]:
    """:func:`cross_fit`, and its networks as an :class:`Ensemble`."""
    x_np = np.asarray(points, dtype=np.float64)
    mu, sd = x_np.mean(0), x_np.std(0)
    sd[sd == 0] = 1.0
    x = torch.tensor((x_np - mu) / sd, dtype=torch.float32, device=device)
    a = np.asarray(weight, dtype=np.float64)
    y = torch.tensor(np.asarray(label, dtype=bool), dtype=torch.float32, device=device)
    size = torch.tensor(a / a.mean(), dtype=torch.float32, device=device)
    folds_seed, networks_seed = as_seed_sequence(config.seed if seed is None else seed).spawn(2)
    network_seeds = iter(networks_seed.spawn(config.folds * config.members))
    fold = (torch.randperm(len(a), generator=torch_generator(folds_seed)) % config.folds).to(device)
    logit = torch.zeros(len(a), dtype=torch.float64, device=device)
    epochs, networks = [], []
    for k in range(config.folds):
        held = fold == (k + 1) % config.folds  # two folds: train on part 0 first, as before folds existed
        train = ~held
        for _ in range(config.members):
            net, used = _train(x[train], y[train], size[train], config, next(network_seeds))
            epochs.append(used)
            networks.append(net.eval())
            with torch.no_grad():
                logit[held] += net(x[held]).squeeze(1).double() / config.members
    ensemble = Ensemble(networks, mu, sd, x_np.min(0), x_np.max(0), device)
    return torch.sigmoid(logit).cpu().numpy(), tuple(epochs), ensemble
