"""Neural resampling: positive weights from the learnt local sign balance of the signed weights.

A classifier trained to tell positive- from negative-weight events, each
weighted by ``|w|``, learns ``D(x) = E[|w| 1(w > 0) | x] / E[|w| | x]``, so

    r(x) = 2 D(x) - 1 = E[w | x] / E[|w| | x]

is the local fraction of the cross section that survives the cancellation.
The weight ``|w| r(x)`` has the same conditional mean as ``w`` and is positive
wherever the net local cross section is (where ``r <= 0`` the events are
dropped; their share of the cross section is reported). A bounded target and a
cross-entropy loss keep the training well conditioned whatever the spread of
``|w|`` — regressing ``E[w | x]`` directly is dominated by the largest weights.

To keep the uncertainties too (Nachman and Thaler), each event is then kept
with probability ``r^2`` and given the weight ``|w| / r``: per event,
``E[w_new] = |w| r`` and ``E[w_new^2] = w^2``, so every histogram's
``sqrt(sum w^2)`` error is the input's and the file does not claim more
precision than the input had; the kept fraction is about ``N_eff / N``.
Without that step the smoothed weights ``|w| r`` are written (more events,
smaller quoted errors: a Rao-Blackwellised estimate, exact only as far as the
network is).

``r`` at an event comes from a network that did not see it (two-fold
cross-fitting), so a network that memorises its training labels cannot hand the
negative weights back.

References:
    B. Nachman, J. Thaler, Phys. Rev. D 102 (2020) 076004, arXiv:2007.11586;
    B. Nachman, R. Noll, arXiv:2505.03724 (a learnt phase-space dependent weight scaling).
"""

from __future__ import annotations

__all__ = ["NeuralConfig", "NeuralResult", "fit_sign_balance", "neural_resample"]

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class NeuralConfig:
    """Classifier settings: an MLP of ``layers`` x ``hidden``, Adam, early stopping on a held-out tenth.

    ``preserve_uncertainty`` thins the smoothed weights so that every bin keeps the input's error.
    """

    hidden: int = 64
    layers: int = 3
    epochs: int = 100
    batch: int = 1024
    lr: float = 2e-3
    patience: int = 10
    preserve_uncertainty: bool = True
    seed: int = 1


@dataclass(frozen=True)
class NeuralResult:
    """The ``keep`` mask, new ``weights`` of the kept events, ``r`` at every event, what was dropped."""

    keep: np.ndarray
    weights: np.ndarray
    r: np.ndarray
    dropped_sigma_fraction: float
    epochs: tuple[int, int]

    def to_dict(self) -> dict[str, float | int | list[int]]:
        return {
            "kept_fraction": float(self.keep.mean()),
            "nonpositive_r_fraction": float((self.r <= 0).mean()),
            "nonpositive_r_sigma_fraction": self.dropped_sigma_fraction,
            "epochs_per_fold": list(self.epochs),
        }


def _network(n_in: int, config: NeuralConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(config.layers):
        layers += [nn.Linear(width, config.hidden), nn.SiLU()]
        width = config.hidden
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def _train(
    x: torch.Tensor, label: torch.Tensor, size: torch.Tensor, config: NeuralConfig, gen: torch.Generator
) -> tuple[nn.Module, int]:
    """Weighted cross entropy; stop once the held-out loss stalls for ``patience`` epochs."""
    order = torch.randperm(len(x), generator=gen).to(x.device)
    n_val = max(len(x) // 10, 1)
    val, fit = order[:n_val], order[n_val:]
    net = _network(x.shape[1], config).to(x.device)
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


def fit_sign_balance(
    points: np.ndarray, weights: np.ndarray, config: NeuralConfig = NeuralConfig(), device: str = "cpu"
) -> tuple[np.ndarray, tuple[int, int]]:
    """Cross-fitted ``r(x) = E[w | x] / E[|w| | x]`` in ``[-1, 1]`` at every event."""
    x_np = np.asarray(points, dtype=np.float64)
    mu, sd = x_np.mean(0), x_np.std(0)
    sd[sd == 0] = 1.0
    x = torch.tensor((x_np - mu) / sd, dtype=torch.float32, device=device)
    w = np.asarray(weights, dtype=np.float64)
    a = np.abs(w)
    label = torch.tensor(w > 0, dtype=torch.float32, device=device)
    size = torch.tensor(a / a.mean(), dtype=torch.float32, device=device)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    fold = (torch.randperm(len(w), generator=gen) % 2 == 0).to(device)
    r = np.empty(len(w))
    epochs = []
    for part in (fold, ~fold):
        net, used = _train(x[part], label[part], size[part], config, gen)
        epochs.append(used)
        with torch.no_grad():
            d = torch.sigmoid(net(x[~part]).squeeze(1))
        r[(~part).cpu().numpy()] = (2 * d - 1).double().cpu().numpy()
    return r, (epochs[0], epochs[1])


def neural_resample(
    points: np.ndarray,
    weights: np.ndarray,
    config: NeuralConfig = NeuralConfig(),
    *,
    device: str = "cpu",
    generator: np.random.Generator | None = None,
) -> NeuralResult:
    """Positive weights (and the events that keep them) with the local mean and errors of ``weights``."""
    rng = generator if generator is not None else np.random.default_rng(config.seed)
    w = np.asarray(weights, dtype=np.float64)
    r, epochs = fit_sign_balance(points, w, config, device)
    a = np.abs(w)
    positive = r > 0
    if config.preserve_uncertainty:
        keep = positive & (rng.random(len(w)) < r * r)
        new = a[keep] / r[keep]
    else:
        keep = positive
        new = a[keep] * r[keep]
    smoothed = a * r
    total = float(np.abs(smoothed).sum())
    dropped = float(-smoothed[~positive].sum()) / total if total > 0 else 0.0
    return NeuralResult(keep=keep, weights=new, r=r, dropped_sigma_fraction=dropped, epochs=epochs)
