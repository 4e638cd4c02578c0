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
    "AutoIntegrator",
    "FlowIntegrator",
    "Integrator",
    "MultiChannelIntegrator",
    "UniformIntegrator",
    "VegasIntegrator",
    "integrator_kind",
    "kind_of",
]

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Protocol, cast

import time

import torch

from mlgen.flows.coupling import Flow
from mlgen.integrate.auto import AutoChoice, Costs, choose, exploration_within, flow_paid, time_per_call
from mlgen.integrate.base import Budget, Integrand, Sampler
from mlgen.integrate.coverage import coverage_check
from mlgen.integrate.channels import ChannelMaps, CubeChannels, CubeMap
from mlgen.integrate.explore import ModeMixture
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.loop import integrate, vegas_integrate
from mlgen.integrate.multichannel import MultiChannelSampler, multichannel_integrate
from mlgen.integrate.nis import (
    FlowSettings,
    evidence,
    exploration_stream,
    explore,
    flow_integrate,
    flow_settings,
)
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
        accepts_channels: ``fit`` takes channel maps where the process has several, and may use them.
        chooses_kind: the fit picks another kind and returns that kind's sampler (a sampler file then
            names the kind chosen, and the kind is not a sampler's kind in :func:`kind_of`).
    """

    sampler_type: ClassVar[type[SavedSampler]]
    uses_channels: ClassVar[bool] = False
    needs_adaptation: ClassVar[bool] = False
    accepts_channels: ClassVar[bool] = False
    chooses_kind: ClassVar[bool] = False

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


class AutoIntegrator(FlowIntegrator):
    """VEGAS unless its estimate cannot be trusted or a flow pays in wall time (:mod:`mlgen.integrate.auto`).

    Measures the integrand's cost per call (on 2048 uniform points, counted in ``n_eval``) and a
    fresh flow's per point. Where the flow's calls
    before its final iterations cost less than VEGAS's calls alone (an expensive integrand), the flow
    (the multi-channel flow where ``channels`` has several) is trained straight away, with its own
    VEGAS probe, exploration and coverage check. Otherwise VEGAS runs as kind ``vegas`` does (same seed,
    same numbers), the exploration checks it, and :func:`~mlgen.integrate.auto.choose` keeps it or
    trains the flow, reusing the exploration. ``result.flags["auto"]`` says what was chosen and why.
    """

    accepts_channels = True
    chooses_kind = True

    def __init__(self, settings: FlowSettings | None = None, n_bins: int = 1000) -> None:
        super().__init__(settings)
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
        settings = self._settings(budget)
        maps = CubeChannels(f, channels, dim) if isinstance(channels, Sequence) else channels
        flow_kind = "multichannel" if maps is not None and maps.n_channels > 1 else "flow"
        costs, timing_calls = self._costs(f, dim, budget, settings, device, maps)
        n_vegas = (budget.n_adapt_iter + budget.n_iter) * budget.n_per_iter
        if costs.flow_fixed_seconds < n_vegas * costs.call_seconds:
            reason = (
                f"the integrand costs {costs.call_seconds * 1e6:.3g} us a call: a flow's calls before its "
                f"final iterations ({costs.flow_fixed_seconds:.3g} s) cost less than VEGAS's "
                f"{n_vegas} calls alone ({n_vegas * costs.call_seconds:.3g} s)"
            )
            choice = AutoChoice(flow_kind, reason, costs)
            return self._fit_flow(choice, f, dim, budget, seed, device, maps, progress, timing_calls)
        start = time.perf_counter()
        vegas, grid = vegas_integrate(
            f,
            dim,
            n_adapt_iter=budget.n_adapt_iter,
            n_per_iter=budget.n_per_iter,
            n_iter=budget.n_iter,
            seed=seed,
            device=device,
            n_bins=self.n_bins,
            keep_points=settings.keep_points,
        )
        costs = replace(costs, vegas_seconds=time.perf_counter() - start)
        explored = None
        check = None
        check_settings = settings
        if settings.explore and flow_kind == "flow":
            check_settings = exploration_within(settings, costs, dim)
            stream = torch_generator(exploration_stream(seed), device)
            explored = explore(f, dim, check_settings, stream)
            probe, mixture = explored
            if probe is not None and mixture is not None:
                mixture_probe = evidence(vegas, grid, "mode-mixture probe", probe, mixture)
                check = coverage_check(vegas, [mixture_probe], threshold=settings.coverage_threshold)
        vegas.sample = None
        choice = choose(vegas, check, costs, flow_kind)
        if choice.kind == "vegas":
            vegas.n_eval += timing_calls + (explored[0].n_eval if explored and explored[0] is not None else 0)
            if check is not None:
                vegas.flags["coverage"] = check.to_dict()
            vegas.flags["auto"] = choice.to_dict()
            return vegas, grid
        before = timing_calls + vegas.n_eval  # the flow counts the exploration it reuses
        start = time.perf_counter()
        if check_settings != settings:  # a smaller exploration than the flow's own: it explores anew
            before += explored[0].n_eval if explored and explored[0] is not None else 0
            explored = None
        result, sampler = self._fit_flow(
            choice, f, dim, budget, seed, device, maps, progress, before, explored
        )
        if choice.vegas_trusted:
            flow_seconds = time.perf_counter() - start
            timing = torch.Generator(device=torch.device(device)).manual_seed(0)
            sampled = time.perf_counter()
            sampler.sample(4096, timing)
            per_point = (time.perf_counter() - sampled) / 4096
            final_seconds = budget.n_iter * budget.n_per_iter * (costs.call_seconds + per_point)
            paid, sentence = flow_paid(vegas, result, flow_seconds, min(final_seconds, flow_seconds), costs)
            result.flags["auto"]["reason"] += f"; {sentence}"
            if not paid:
                vegas.n_eval += result.n_eval
                vegas.flags["auto"] = AutoChoice("vegas", f"{choice.reason}, but {sentence}", costs).to_dict()
                return vegas, grid
        return result, sampler

    def _fit_flow(
        self,
        choice: AutoChoice,
        f: Integrand,
        dim: int,
        budget: Budget,
        seed: SeedLike,
        device: torch.device | str,
        maps: ChannelMaps | None,
        progress: Progress | None,
        spent: int,
        explored: tuple[IntegrationResult | None, ModeMixture | None] | None = None,
    ) -> tuple[IntegrationResult, Sampler]:
        result: IntegrationResult
        sampler: Sampler
        if choice.kind == "multichannel":
            assert maps is not None
            result, sampler = MultiChannelIntegrator(self.settings).fit(
                f, dim, budget, seed, device=device, channels=maps, progress=progress
            )
        else:
            settings = self._settings(budget)
            result, sampler = flow_integrate(
                f, dim, settings, seed=seed, device=device, progress=progress, exploration=explored
            )
        result.n_eval += spent
        result.flags["auto"] = choice.to_dict()
        return result, sampler

    def _costs(
        self,
        f: Integrand,
        dim: int,
        budget: Budget,
        settings: FlowSettings,
        device: torch.device | str,
        maps: ChannelMaps | None,
    ) -> tuple[Costs, int]:
        """The integrand's cost per call and a lower bound of a flow's per training call (timed: the
        call and one pass of a fresh flow; a training step adds the backward pass and the optimiser,
        3-8 times that pass on this machine), and the calls the timing spent."""
        generator = torch.Generator(device=torch.device(device)).manual_seed(0)  # timing points only
        u = torch.rand(2048, dim, generator=generator, dtype=torch.float64, device=device)
        f(u[:64])  # first-call costs (allocations, compilation) are not per call
        call_seconds = time_per_call(f, u, repeat=1)
        climb_step_seconds = time_per_call(f, u[:64], repeat=1) * 64  # a step of 64 climbs
        flow = Flow(dim, **settings.flow).to(device)
        sampler = FlowSampler(flow, None, settings.defensive, settings.uniform)
        with torch.no_grad():
            sampler.sample(16, generator)
            start = time.perf_counter()
            sampler.sample(256, generator)
        pass_seconds = (time.perf_counter() - start) / 256
        training = settings.train.n_calls
        probe_calls = (settings.vegas_adapt_iter + settings.probe_iter) * settings.vegas_per_iter
        if maps is not None and maps.n_channels > 1:
            per_channel = max(settings.vegas_per_iter // maps.n_channels, 1000)
            probe_calls = (settings.vegas_adapt_iter + settings.probe_iter) * per_channel * maps.n_channels
        costs = Costs(
            vegas_seconds=math.nan,
            call_seconds=call_seconds,
            train_seconds=call_seconds + pass_seconds,
            flow_calls_before_final=probe_calls + training,
            flow_training_calls=training,
            climb_step_seconds=climb_step_seconds,
        )
        return costs, 128 + len(u)


INTEGRATORS: dict[str, type[Integrator]] = {
    "uniform": UniformIntegrator,
    "vegas": VegasIntegrator,
    "flow": FlowIntegrator,
    "multichannel": MultiChannelIntegrator,
    "auto": AutoIntegrator,
}
"""Integrator kinds by name: what ``[integrator] kind`` accepts."""


def kind_of(sampler: Sampler) -> str:
    """The registered name of the kind whose sampler ``sampler`` is.

    Raises:
        TypeError: for a sampler no registered kind makes.
    """
    for name, cls in INTEGRATORS.items():
        if not cls.chooses_kind and type(sampler) is cls.sampler_type:
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
