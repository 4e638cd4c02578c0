"""A trained generator of one record layout (:class:`GroupModel`) and the discriminator's network."""

from __future__ import annotations

__all__ = ["GroupModel", "discriminator"]

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mlgen.flows.coupling import Flow
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup


def discriminator(n_in: int, hidden: int) -> nn.Sequential:
    """A spectrally normalised MLP (three hidden layers, LeakyReLU 0.2) giving one logit per point."""

    def lin(a: int, b: int) -> nn.Module:
        return nn.utils.parametrizations.spectral_norm(nn.Linear(a, b))

    return nn.Sequential(
        lin(n_in, hidden),
        nn.LeakyReLU(0.2),
        lin(hidden, hidden),
        nn.LeakyReLU(0.2),
        lin(hidden, hidden),
        nn.LeakyReLU(0.2),
        lin(hidden, 1),
    )


@dataclass
class GroupModel:
    """A trained generator for one record layout, with its feature map and training history.

    ``losses`` per epoch: training and held-out negative log-likelihood (in the unit
    cube), discriminator loss, resonance-mass MMD.
    """

    group: EventGroup
    generator: Flow
    features: FeatureMap
    fraction: float
    losses: list[tuple[float, float, float, float]] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0
    line_shapes: list[dict[str, Any]] = field(default_factory=list)
    held: list[int] = field(default_factory=list)

    @property
    def free(self) -> list[int]:
        """The unit cube's columns the flow generates; the ``held`` ones (resonance masses with a
        fitted line shape) are drawn uniformly, that is from their line shapes, and are its context."""
        return [j for j in range(self.features.dim) if j not in self.held]

    def unit_sample(self, n: int, gen: torch.Generator) -> Tensor:
        """``(n, dim)`` points of the unit cube (differentiable in the flow's parameters)."""
        device = self.features.lo.device
        z = torch.rand(n, self.generator.dim, generator=gen, device=device)
        if not self.held:
            return self.generator(z)[0]
        given = torch.rand(n, len(self.held), generator=gen, device=device)
        u = torch.empty(n, self.features.dim, device=device)
        u[:, self.free], u[:, self.held] = self.generator(z, given)[0], given
        return u

    def log_prob(self, u: Tensor) -> Tensor:
        """The generator's log-density at unit-cube points ``u (N, dim)``."""
        if not self.held:
            return self.generator.inverse(u)[1]
        return self.generator.inverse(u[:, self.free], u[:, self.held])[1]

    def sample_features(self, n: int, gen: torch.Generator) -> Tensor:
        """``(n, n_features)`` float64 features of ``n`` generated events."""
        with torch.no_grad():
            u = self.unit_sample(n, gen)
        return self.features.from_unit(u.double().clamp(0, 1))
