"""The registry of integrator kinds: one class per kind, one line per entry.

An :class:`Integrator` knows how to fit its sampler to an integrand on the unit
cube and how to load a saved one. Every kind has the same two ways in:

* ``fit(f, dim, budget, seed, device=, channels=, progress=) -> (IntegrationResult, Sampler)``:
  ``f`` a plain integrand on ``[0, 1]^dim``, ``budget`` a :class:`~mlgen.integrate.base.Budget`,
  ``seed`` an integer or a node of the run's seed tree (:mod:`mlgen.seeds`); kinds with
  ``uses_channels`` also take ``channels``: :class:`~mlgen.integrate.channels.ChannelMaps`,
  or a list of invertible maps of the cube that turn ``f`` into them
  (:class:`~mlgen.integrate.channels.CubeChannels`).
* ``load(state, device) -> Sampler`` from a sampler's ``state()`` (:mod:`mlgen.integrate.persist`).

The run card's ``integrator.kind``, ``mlgen run`` and sampler files all read
:data:`INTEGRATORS`; adding a kind is a subclass and a line there.
"""

from __future__ import annotations

__all__ = [
    "INTEGRATORS",
    "FlowIntegrator",
    "Integrator",
    "MultiChannelIntegrator",
    "UniformIntegrator",
    "VegasIntegrator",
    "integrator_kind",
    "kind_of",
]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Protocol, cast

import torch

from mlgen.integrate.base import Budget, Integrand, Sampler
from mlgen.integrate.channels import ChannelMaps, CubeChannels, CubeMap
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.loop import integrate, vegas_integrate
from mlgen.integrate.multichannel import MultiChannelSampler, multichannel_integrate
from mlgen.integrate.nis import FlowSettings, flow_integrate, flow_settings
from mlgen.integrate.result import IntegrationResult
from mlgen.integrate.uniform import UniformSampler
from mlgen.integrate.vegas_grid import VegasSampler
from mlgen.seeds import SeedLike, torch_generator


class SavedSampler(Sampler, Protocol):
    """A sampler class that rebuilds itself from its ``state()``."""

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> Sampler: ...


Progress = Callable[[int, float], None]
"""Called during training with the integrand calls spent and the current weight spread."""


class Integrator:
    """A kind of sampler: how to fit it to an integrand, and how to load a saved one.

    Class attributes:
        sampler_type: the class of the fitted sampler; its ``from_state(state, device)`` loads a
            saved one.
        uses_channels: ``fit`` takes channel maps and its sampler draws points of the extended cube
            ``[0, 1]^(1 + dim)`` (:meth:`MultiChannelSampler.integrand` gives the integrand there).
        needs_adaptation: the fit needs ``budget.n_adapt_iter >= 1``.
    """

    sampler_type: ClassVar[type[SavedSampler]]
    uses_channels: ClassVar[bool] = False
    needs_adaptation: ClassVar[bool] = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Integrator:
        """The integrator a run card configures; ``options`` is its ``[integrator.flow]`` table."""
        return cls()

    def fit(
        self,
        f: Integrand,
        dim: int,
        budget: Budget,
        seed: SeedLike,
        *,
        device: torch.device | str = "cpu",
        channels: ChannelMaps | Sequence[CubeMap] | None = None,
        progress: Progress | None = None,
    ) -> tuple[IntegrationResult, Sampler]:
        """Adapt or train the sampler on ``f`` within ``budget``; returns ``(result, sampler)``."""
        raise NotImplementedError

    @classmethod
    def load(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> Sampler:
        """The sampler whose ``state()`` this is, on ``device``."""
        return cls.sampler_type.from_state(state, device)

    @classmethod
    def integrand(cls, channels: ChannelMaps, sampler: Sampler) -> Integrand:
        """For a kind that uses channels: the integrand on the extended cube that ``sampler`` (fitted
        or loaded) draws points for, the channel sum of ``channels`` with the sampler's weights."""
        raise TypeError(f"{cls.__name__} uses no channels")


class UniformIntegrator(Integrator):
    """Plain Monte Carlo: ``q = 1`` on the cube."""

    sampler_type = UniformSampler

    def fit(
        self,
        f: Integrand,
        dim: int,
        budget: Budget,
        seed: SeedLike,
        *,
        device: torch.device | str = "cpu",
        channels: ChannelMaps | Sequence[CubeMap] | None = None,
        progress: Progress | None = None,
    ) -> tuple[IntegrationResult, Sampler]:
        sampler = UniformSampler(dim)
        generator = torch_generator(seed, device)
        result = integrate(
            f, sampler, n_iter=budget.n_iter, n_per_iter=budget.n_per_iter, generator=generator
        )
        return result, sampler


class VegasIntegrator(Integrator):
    """A VEGAS grid adapted by the ``vegas`` package, then frozen (:func:`vegas_integrate`)."""

    sampler_type = VegasSampler

    def __init__(self, n_bins: int = 1000) -> None:
        self.n_bins = n_bins

    def fit(
        self,
        f: Integrand,
        dim: int,
        budget: Budget,
        seed: SeedLike,
        *,
        device: torch.device | str = "cpu",
        channels: ChannelMaps | Sequence[CubeMap] | None = None,
        progress: Progress | None = None,
    ) -> tuple[IntegrationResult, Sampler]:
        return vegas_integrate(
            f,
            dim,
            n_adapt_iter=budget.n_adapt_iter,
            n_per_iter=budget.n_per_iter,
            n_iter=budget.n_iter,
            seed=seed,
            device=device,
            n_bins=self.n_bins,
        )

    @classmethod
    def load(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> Sampler:
        # files saved before the registry keep the grid under "grid"
        return VegasSampler.from_state(state.get("grid", state), device)


class FlowIntegrator(Integrator):
    """A normalizing flow with defensive shares, trained on the integrand (:func:`flow_integrate`)."""

    sampler_type = FlowSampler
    needs_adaptation = True

    def __init__(self, settings: FlowSettings | None = None) -> None:
        self.settings = settings or FlowSettings()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Integrator:
        return cls(flow_settings(options, Budget()))

    def _settings(self, budget: Budget) -> FlowSettings:
        return replace(
            self.settings,
            vegas_adapt_iter=budget.n_adapt_iter,
            n_iter=budget.n_iter,
            n_per_iter=budget.n_per_iter,
        )

    def fit(
        self,
        f: Integrand,
        dim: int,
        budget: Budget,
        seed: SeedLike,
        *,
        device: torch.device | str = "cpu",
        channels: ChannelMaps | Sequence[CubeMap] | None = None,
        progress: Progress | None = None,
    ) -> tuple[IntegrationResult, Sampler]:
        return flow_integrate(f, dim, self._settings(budget), seed=seed, device=device, progress=progress)


class MultiChannelIntegrator(FlowIntegrator):
    """A flow per channel with learned channel weights (:func:`multichannel_integrate`)."""

    sampler_type = MultiChannelSampler  # type: ignore[assignment]  # a sibling of FlowSampler, not a subclass
    uses_channels = True

    def __init__(self, settings: FlowSettings | None = None, drop_below: float = 1e-3) -> None:
        super().__init__(settings)
        self.drop_below = drop_below

    def fit(
        self,
        f: Integrand,
        dim: int,
        budget: Budget,
        seed: SeedLike,
        *,
        device: torch.device | str = "cpu",
        channels: ChannelMaps | Sequence[CubeMap] | None = None,
        progress: Progress | None = None,
    ) -> tuple[IntegrationResult, Sampler]:
        if channels is None:
            raise ValueError("the multichannel integrator needs channel maps (channels=...)")
        maps = CubeChannels(f, channels, dim) if isinstance(channels, Sequence) else channels
        return multichannel_integrate(
            maps,
            self._settings(budget),
            seed=seed,
            device=device,
            drop_below=self.drop_below,
            progress=progress,
        )

    @classmethod
    def integrand(cls, channels: ChannelMaps, sampler: Sampler) -> Integrand:
        return cast(MultiChannelSampler, sampler).integrand(channels)


INTEGRATORS: dict[str, type[Integrator]] = {
    "uniform": UniformIntegrator,
    "vegas": VegasIntegrator,
    "flow": FlowIntegrator,
    "multichannel": MultiChannelIntegrator,
}
"""Integrator kinds by name: what ``[integrator] kind`` accepts."""


def kind_of(sampler: Sampler) -> str:
    """The registered name of the kind whose sampler ``sampler`` is.

    Raises:
        TypeError: for a sampler no registered kind makes.
    """
    for name, cls in INTEGRATORS.items():
        if type(sampler) is cls.sampler_type:
            return name
    raise TypeError(f"no integrator kind makes samplers of type {type(sampler).__name__}")


def integrator_kind(name: str) -> type[Integrator]:
    """The integrator class registered as ``name``.

    Raises:
        ValueError: naming the kinds there are.
    """
    try:
        return INTEGRATORS[name]
    except KeyError:
        raise ValueError(f"integrator kind {name!r}: expected one of {', '.join(INTEGRATORS)}") from None
