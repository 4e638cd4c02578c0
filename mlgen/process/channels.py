"""A process seen channel by channel: one phase-space map per propagator topology, on an extended cube.

With channel weights ``alpha_c(x)`` (``sum_c alpha_c = 1`` at every phase-space
point ``x``) the cross section splits exactly into channel integrals, each done
with the map ``x = Phi_c(u)`` that flattens its own propagators:

    sigma = sum_c int du  alpha_c(Phi_c(u)) f(Phi_c(u)) |dPhi_c/du|.

:class:`MultiChannelProcess` is that sum as *one* integrand over ``[0, 1]^(1 + d)``:
the first coordinate ``t`` picks the channel ``c = floor(C t)`` and the integrand
is ``C alpha_c f |J_c|`` there, so samplers, the integration loop, unweighting
and the event record use it like any process. The prior weights are those of
single-diagram enhancement, from the process's ``channel_prior``
(:mod:`mlgen.process.priors`: the matrix element's own diagram weights for a MadGraph5
process, else the channel's squared propagators); a learned correction multiplies them
(see :class:`mlgen.integrate.channel_weights.ChannelWeights`).
"""

from __future__ import annotations

__all__ = ["ChannelEvaluation", "MultiChannelProcess"]

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mlgen.integrate.channels import ChannelPoint
from mlgen.phasespace.base import PhaseSpacePoint
from mlgen.physics.vectors import mass2
from mlgen.process.priors import ChannelPrior, PropagatorPrior
from mlgen.process.process import Evaluation, Process


@dataclass
class ChannelEvaluation:
    """One channel's view of a batch: the process with the channel's Jacobian, and the weight inputs.

    Attributes:
        evaluation: the process evaluated through channel ``c``'s map (``weight = f |J_c|``).
        features: ``(B, n_features)`` float32 inputs of the channel-weight network.
        log_prior: ``(B, C)`` log of the normalised prior channel weights.
    """

    evaluation: Evaluation
    features: Tensor
    log_prior: Tensor


class MultiChannelProcess:
    """``process`` as a sum of channels over the extended cube (see the module docstring).

    Arguments:
        process: a process whose ``channels`` list ``(propagators, phase_space)`` pairs.
        log_alpha: ``(features, log_prior) -> (B, C)`` log channel weights; ``None``
            keeps the prior (single-diagram enhancement).
    """

    def __init__(self, process: Process, log_alpha: Callable[[Tensor, Tensor], Tensor] | None = None) -> None:
        if not process.channels:
            raise ValueError(f"{process.name}: no channels (the matrix element lists no propagators)")
        dims = {space.dim for _, space in process.channels}
        if len(dims) != 1:
            raise ValueError(f"{process.name}: channels of different dimensions {sorted(dims)}")
        self.process = process
        self.propagators = [props for props, _ in process.channels]
        self.channel_spaces = [space for _, space in process.channels]
        # the distinct daughter sets whose invariant masses the weights look at
        self.daughter_sets = sorted({p.daughters for props in self.propagators for p in props})
        self.n_channels = len(self.propagators)
        self.prior: ChannelPrior = process.channel_prior or PropagatorPrior(self.propagators)
        self.channel_dim = dims.pop()
        self.log_alpha = log_alpha
        self.name = process.name

    # what the event record and the run need, unchanged from the process
    def __getattr__(self, name: str) -> Any:
        if name == "process":
            raise AttributeError(name)
        return getattr(self.process, name)

    @property
    def dim(self) -> int:
        return 1 + self.channel_dim

    @property
    def n_features(self) -> int:
        return len(self.daughter_sets) + 1

    def _features_and_prior(self, ev: Evaluation) -> tuple[Tensor, Tensor]:
        p = ev.momenta
        s_total = self.process.sqrt_s**2
        invariants = {d: mass2(p[:, list(d)].sum(1)).clamp(min=1e-300) for d in self.daughter_sets}
        log_prior = self.prior.log_prior(ev.momenta, ev.alpha_s, ev.passed)
        feats = [torch.log(invariants[d] / s_total) / math.log(s_total) for d in self.daughter_sets]
        x1 = ev.x1.clamp(min=1e-300)
        x2 = ev.x2.clamp(min=1e-300)
        feats.append(0.5 * torch.log(x1 / x2) / math.log(s_total))
        return torch.stack(feats, -1).float(), log_prior

    def channel_point(self, c: int, u: Tensor, *, variations: bool = False) -> ChannelEvaluation:
        """Evaluate the process through channel ``c``'s map at ``u (B, d)``."""
        return self.channel_points([(c, u)], variations=variations)[0]

    def channel_points(
        self, parts: Sequence[tuple[int, Tensor]], *, variations: bool = False
    ) -> list[ChannelEvaluation]:
        """Batches ``u (B_k, d)`` through their channels' maps ``c_k``, evaluated together: each map
        gives its momenta, then one call of the process (cuts, PDFs, matrix element) and of the prior
        for all of them. With many channels (105 for ``g g -> t t~ g g``) and a few points each that
        is one code call per batch instead of one per channel."""
        mapped = [self.channel_spaces[c].forward(u) for c, u in parts]
        sizes = [int(u.shape[0]) for _, u in parts]
        point = PhaseSpacePoint(
            torch.cat([m[0].momenta for m in mapped]),
            torch.cat([m[0].x1 for m in mapped]),
            torch.cat([m[0].x2 for m in mapped]),
        )
        ev = self.process.evaluate_point(point, torch.cat([m[1] for m in mapped]), variations=variations)
        feats, log_prior = self._features_and_prior(ev)
        pieces = _split(ev, sizes)
        return [
            ChannelEvaluation(e, f, lp)
            for e, f, lp in zip(pieces, feats.split(sizes), log_prior.split(sizes), strict=True)
        ]

    # the ChannelMaps protocol of the multi-channel sampler (mlgen.integrate.channels)
    @property
    def labels(self) -> list[str]:
        return [" ".join(f"{p.pdg}:{p.mass:g}" for p in props) for props in self.propagators]

    def channel_value(self, c: int, u: Tensor) -> ChannelPoint:
        """``f |J_c|`` through channel ``c``'s map, with the weight network's inputs."""
        return self.channel_values([(c, u)])[0]

    def channel_values(self, parts: Sequence[tuple[int, Tensor]]) -> list[ChannelPoint]:
        """:meth:`channel_value` of several channels' batches in one evaluation (:meth:`channel_points`)."""
        return [
            ChannelPoint(p.evaluation.weight, p.features, p.log_prior) for p in self.channel_points(parts)
        ]

    def weighted(self, log_alpha: Callable[[Tensor, Tensor], Tensor] | None) -> MultiChannelProcess:
        """The process as the channel sum with these weights: an integrand and an event source."""
        return MultiChannelProcess(self.process, log_alpha)

    def channel_log_alpha(self, point: ChannelEvaluation) -> Tensor:
        """``(B, C)`` log channel weights at a channel point."""
        if self.log_alpha is None:
            return point.log_prior
        return self.log_alpha(point.features, point.log_prior)

    def channel_of(self, u_ext: Tensor) -> Tensor:
        """The channel index of extended points (first coordinate)."""
        return (u_ext[:, 0] * self.n_channels).long().clamp(0, self.n_channels - 1)

    def evaluate(self, u_ext: Tensor, *, variations: bool = True) -> Evaluation:
        """The integrand ``C alpha_c f |J_c|`` at ``u_ext (B, 1 + d)``, with the event-record fields."""
        channel = self.channel_of(u_ext)
        u = u_ext[:, 1:]
        parts: list[tuple[Tensor, Evaluation]] = []
        present = [(c, torch.nonzero(channel == c).squeeze(1)) for c in range(self.n_channels)]
        present = [(c, idx) for c, idx in present if idx.numel()]
        points = (
            self.channel_points([(c, u[idx]) for c, idx in present], variations=variations) if present else []
        )
        for (c, idx), point in zip(present, points, strict=True):
            with torch.no_grad():
                alpha = torch.exp(self.channel_log_alpha(point)[:, c].to(u.dtype))
            factor = self.n_channels * alpha
            ev = point.evaluation
            ev.weight = ev.weight * factor
            ev.contributions = ev.contributions * factor[:, None]
            if ev.variations is not None:
                ev.variations = ev.variations * factor[:, None]
            parts.append((idx, ev))
        if not parts:  # an empty batch
            return self.channel_point(0, u, variations=variations).evaluation
        return _scatter(parts, u_ext.shape[0])

    def __call__(self, u_ext: Tensor) -> Tensor:
        return self.evaluate(u_ext, variations=False).weight


def _split(ev: Evaluation, sizes: list[int]) -> list[Evaluation]:
    """``ev`` of ``sum(sizes)`` points cut into consecutive pieces of these sizes."""
    pieces = [copy.copy(ev) for _ in sizes]
    for field in dataclasses.fields(Evaluation):
        value = getattr(ev, field.name)
        if isinstance(value, Tensor):
            for piece, part in zip(pieces, value.split(sizes), strict=True):
                setattr(piece, field.name, part)
    return pieces


def _scatter(parts: list[tuple[Tensor, Evaluation]], n: int) -> Evaluation:
    """One :class:`Evaluation` of ``n`` points from per-channel pieces at index sets ``idx``."""
    first = parts[0][1]
    result = copy.copy(first)
    for field in dataclasses.fields(Evaluation):
        ref = getattr(first, field.name)
        if not isinstance(ref, Tensor):
            continue
        out = torch.zeros((n, *ref.shape[1:]), dtype=ref.dtype, device=ref.device)
        for idx, ev in parts:
            out[idx] = getattr(ev, field.name)
        setattr(result, field.name, out)
    return result
