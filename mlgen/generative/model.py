"""A trained generator of one record layout (:class:`GroupModel`, a flow; :class:`GANModel`, a GAN)
and the flow's discriminator network."""

from __future__ import annotations

__all__ = ["GANModel", "GroupModel", "LayoutData", "discriminator"]

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mlgen.flows.coupling import Flow
from mlgen.generative.gan import GANGenerator, to_gaussian, to_unit
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup


@dataclass
class LayoutData:
    """One record layout's events as its generator trains on them.

    ``u (N, dim)`` float32 unit-cube points of every event, ``x (N, n_features)`` float64 features,
    ``w (N,)`` float64 weights at mean 1, ``train`` and ``held_out`` indices, the feature map and
    its line shapes, ``held`` the unit columns drawn from their line shapes (the generator's context),
    ``masses`` the ``(feature column, width in GeV)`` of the resonance masses for the MMD term.
    """

    group: EventGroup
    u: Tensor
    x: Tensor
    w: Tensor
    train: Tensor
    held_out: Tensor
    features: FeatureMap
    line_shapes: list[dict[str, Any]]
    held: list[int]
    masses: list[tuple[int, float]]
    fraction: float


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
    cube), discriminator loss, resonance-mass MMD. ``generator`` is a flow here, a GAN's
    generator in :class:`GANModel`.
    """

    group: EventGroup
    generator: Flow | GANGenerator
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
        z = torch.rand(n, self.flow.dim, generator=gen, device=device)
        if not self.held:
            return self.flow(z)[0]
        given = torch.rand(n, len(self.held), generator=gen, device=device)
        u = torch.empty(n, self.features.dim, device=device)
        u[:, self.free], u[:, self.held] = self.flow(z, given)[0], given
        return u

    def log_prob(self, u: Tensor) -> Tensor:
        """The generator's log-density at unit-cube points ``u (N, dim)``."""
        if not self.held:
            return self.flow.inverse(u)[1]
        return self.flow.inverse(u[:, self.free], u[:, self.held])[1]

    @property
    def flow(self) -> Flow:
        """The generator as the flow it is here (:class:`GANModel` has a GAN's generator)."""
        if not isinstance(self.generator, Flow):
            raise TypeError(f"{type(self).__name__} has a {type(self.generator).__name__}, not a flow")
        return self.generator

    def sample_features(self, n: int, gen: torch.Generator) -> Tensor:
        """``(n, n_features)`` float64 features of ``n`` generated events."""
        with torch.no_grad():
            u = self.unit_sample(n, gen)
        return self.features.from_unit(u.double().clamp(0, 1))


@dataclass
class GANModel(GroupModel):
    """A trained GAN for one record layout (:mod:`mlgen.generative.gan`): its generator makes the
    unit cube's free columns from Gaussian noise, given the held ones (drawn uniformly, that is
    from their line shapes); it has no density to evaluate. ``losses`` per epoch: the
    discriminator's cross entropy, the held-out sliced chi2 per degree of freedom (NaN between
    checks), the generator's adversarial loss, the resonance-mass MMD. ``fixed``: unit columns that
    are the same in every training event (a bounded feature that does not vary, such as the system's
    mass excess at a fixed mass), held at that value instead of generated."""

    fixed: dict[int, float] = field(default_factory=dict)

    @property
    def free(self) -> list[int]:
        """The unit cube's columns the generator makes: neither held nor fixed."""
        return [j for j in range(self.features.dim) if j not in self.held and j not in self.fixed]

    @property
    def gan(self) -> GANGenerator:
        """The generator as the GAN's it is."""
        if not isinstance(self.generator, GANGenerator):
            raise TypeError(f"a GANModel has a {type(self.generator).__name__}, not a GAN's generator")
        return self.generator

    def unit_sample(self, n: int, gen: torch.Generator) -> Tensor:
        """``(n, dim)`` points of the unit cube (differentiable in the generator's parameters)."""
        return to_unit(self.gaussian_sample(n, gen))

    def gaussian_sample(self, n: int, gen: torch.Generator, network: GANGenerator | None = None) -> Tensor:
        """``(n, dim)`` points of the unit cube's Gaussian image, by ``network`` (default: the model's
        generator); the held columns' are drawn uniformly in the cube."""
        network = self.gan if network is None else network
        device = self.features.lo.device
        z = torch.randn(n, network.n_noise, generator=gen, device=device)
        if not self.held and not self.fixed:
            return network(z)
        t = torch.empty(n, self.features.dim, device=device)
        given = to_gaussian(torch.rand(n, len(self.held), generator=gen, device=device))
        t[:, self.free], t[:, self.held] = network(z, given if self.held else None), given
        for j, value in self.fixed.items():
            t[:, j] = value
        return t

    def log_prob(self, u: Tensor) -> Tensor:
        """A GAN has no density: always raises ``TypeError``."""
        raise TypeError("a GAN's generator has no density to evaluate")
