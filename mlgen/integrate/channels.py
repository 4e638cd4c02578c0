"""Channel maps: an integrand seen through several maps of the cube, and its multi-channel sum.

With channel weights ``alpha_c(x)`` (``sum_c alpha_c = 1`` at every point ``x``)
an integral splits exactly into channel integrals, each done through the map
``x = Phi_c(u)`` that flattens its own peaks:

    I = sum_c int du  alpha_c(Phi_c(u)) f(Phi_c(u)) |dPhi_c/du|.

:class:`ChannelMaps` is what the multi-channel sampler needs of a problem: the
value ``f |J_c|`` of a batch through map ``c``, the inputs of the channel-weight
network and the log prior weights. A process provides one from its propagator
topologies (:class:`mlgen.process.channels.MultiChannelProcess`); for a plain
integrand on the unit cube :class:`CubeChannels` builds one from invertible maps
of the cube, with the prior weights of Kleiss and Pittau (``alpha_c`` proportional
to map ``c``'s density at ``x``). :class:`ExtendedIntegrand` is the sum as one
integrand on the extended cube ``(t, u)``: ``t`` picks the channel
``c = floor(C t)`` and the value there is ``C alpha_c f |J_c|``.

References:
    R. Kleiss, R. Pittau, Comput. Phys. Commun. 83 (1994) 141, hep-ph/9405257.
"""

from __future__ import annotations

__all__ = ["ChannelMaps", "ChannelPoint", "CubeChannels", "CubeMap", "ExtendedIntegrand", "PeakMap"]

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from mlgen.integrate.base import Integrand

LogAlpha = Callable[[Tensor, Tensor], Tensor]
"""``(features (B, F), log_prior (B, C)) -> (B, C)`` log channel weights."""


@dataclass
class ChannelPoint:
    """One channel's view of a batch.

    Attributes:
        value: ``(B,)`` float64 ``f |J_c|`` at the batch mapped through channel ``c``.
        features: ``(B, n_features)`` float32 inputs of the channel-weight network.
        log_prior: ``(B, C)`` float64 log of the normalised prior channel weights.
    """

    value: Tensor
    features: Tensor
    log_prior: Tensor


class ChannelMaps(Protocol):
    """An integrand seen through ``n_channels`` maps of ``[0, 1]^channel_dim``."""

    n_channels: int
    channel_dim: int

    @property
    def n_features(self) -> int: ...

    @property
    def labels(self) -> list[str]:
        """One short description per channel (its propagators, its map), for reports."""
        ...

    def channel_value(self, c: int, u: Tensor) -> ChannelPoint:
        """The integrand through channel ``c``'s map at ``u (B, channel_dim)``."""
        ...

    def channel_values(self, parts: Sequence[tuple[int, Tensor]]) -> list[ChannelPoint]:
        """:meth:`channel_value` of several ``(c, u)`` batches, in that order (a process evaluates
        them in one call of its matrix element)."""
        ...

    def weighted(self, log_alpha: LogAlpha | None) -> Integrand:
        """The sum over channels with these weights (``None``: the prior) as one integrand on the
        extended cube ``[0, 1]^(1 + channel_dim)`` (:class:`ExtendedIntegrand` or richer)."""
        ...


class ExtendedIntegrand:
    """``C alpha_c f |J_c|`` on the extended cube (see the module docstring)."""

    def __init__(self, channels: ChannelMaps, log_alpha: LogAlpha | None = None) -> None:
        self.channels = channels
        self.log_alpha = log_alpha
        self.dim = 1 + channels.channel_dim

    def __call__(self, u_ext: Tensor) -> Tensor:
        n_channels = self.channels.n_channels
        channel = (u_ext[:, 0] * n_channels).long().clamp(0, n_channels - 1)
        out = torch.zeros(u_ext.shape[0], dtype=torch.float64, device=u_ext.device)
        present = [(c, torch.nonzero(channel == c).squeeze(1)) for c in range(n_channels)]
        present = [(c, idx) for c, idx in present if idx.numel()]
        points = self.channels.channel_values([(c, u_ext[idx, 1:]) for c, idx in present]) if present else []
        for (c, idx), point in zip(present, points, strict=True):
            with torch.no_grad():
                log_alpha = (
                    point.log_prior
                    if self.log_alpha is None
                    else self.log_alpha(point.features, point.log_prior)
                )
            out[idx] = n_channels * torch.exp(log_alpha[:, c].to(torch.float64)) * point.value
        return out


class CubeMap(Protocol):
    """An invertible map of ``[0, 1]^d``.

    ``forward(z) -> (u, log|du/dz|)`` and ``inverse(u) -> (z, log|dz/du|)``, batched over ``(B, d)``.
    """

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]: ...

    def inverse(self, u: Tensor) -> tuple[Tensor, Tensor]: ...


class PeakMap:
    """A map of the cube that puts the density of a Cauchy peak at ``centre`` in every dimension.

    Per dimension ``u = c + g tan(a + (b - a) z)`` with ``a, b`` the angles of the
    cube's ends, so ``z`` uniform gives a Cauchy density of half width ``g``
    truncated to ``[0, 1]``: a channel for an integrand with a peak at ``centre``.

    Arguments:
        centre: ``(d,)`` the peak's position in the cube.
        width: the half width ``g`` (> 0), the same in every dimension.
    """

    def __init__(self, centre: Sequence[float] | Tensor, width: float) -> None:
        if width <= 0:
            raise ValueError(f"PeakMap width: expected a number > 0, got {width}")
        self.centre = torch.as_tensor(centre, dtype=torch.float64)
        self.width = float(width)
        self.lo = torch.atan((0 - self.centre) / width)
        self.hi = torch.atan((1 - self.centre) / width)

    def _on(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.centre.to(x.device), self.lo.to(x.device), self.hi.to(x.device)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        centre, lo, hi = self._on(z)
        angle = lo + (hi - lo) * z
        u = (centre + self.width * torch.tan(angle)).clamp(0.0, 1.0)
        log_jac = torch.log((hi - lo) * self.width / torch.cos(angle) ** 2).sum(-1)
        return u, log_jac

    def inverse(self, u: Tensor) -> tuple[Tensor, Tensor]:
        centre, lo, hi = self._on(u)
        t = (u - centre) / self.width
        z = (torch.atan(t) - lo) / (hi - lo)
        log_jac = -torch.log((hi - lo) * self.width * (1 + t * t)).sum(-1)
        return z, log_jac


class CubeChannels:
    """A plain integrand on ``[0, 1]^d`` seen through invertible maps of the cube.

    The prior weights are the maps' densities at the point,
    ``alpha_c(x) = g_c(x) / sum_k g_k(x)`` with ``g_k(x) = |dz/dx|`` of map ``k``, so
    ``sum_c alpha_c f |J_c|`` is ``f / sum_k g_k`` times ``C`` in every channel (Kleiss-Pittau);
    the channel-weight network sees the point ``x`` itself.

    Arguments:
        f: the integrand, ``(B, d)`` float64 to ``(B,)`` float64.
        maps: the channels' maps (:class:`CubeMap`), e.g. :class:`PeakMap` per peak or a VEGAS grid.
        dim: ``d``.
    """

    def __init__(self, f: Integrand, maps: Sequence[CubeMap], dim: int) -> None:
        if not maps:
            raise ValueError("CubeChannels: expected at least one map")
        self.f = f
        self.maps = list(maps)
        self.n_channels = len(self.maps)
        self.channel_dim = int(dim)

    @property
    def n_features(self) -> int:
        return self.channel_dim

    @property
    def labels(self) -> list[str]:
        return [type(m).__name__ for m in self.maps]

    def channel_value(self, c: int, u: Tensor) -> ChannelPoint:
        x, log_jac = self.maps[c].forward(u)
        log_g = torch.stack([m.inverse(x)[1] for m in self.maps], -1)
        log_prior = torch.log_softmax(log_g, -1)
        flat = torch.full_like(log_prior, -math.log(self.n_channels))
        log_prior = torch.where(torch.isfinite(log_prior), log_prior, flat)
        return ChannelPoint(self.f(x) * torch.exp(log_jac), x.float(), log_prior)

    def channel_values(self, parts: Sequence[tuple[int, Tensor]]) -> list[ChannelPoint]:
        return [self.channel_value(c, u) for c, u in parts]

    def weighted(self, log_alpha: LogAlpha | None) -> ExtendedIntegrand:
        return ExtendedIntegrand(self, log_alpha)
