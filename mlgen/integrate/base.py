"""The sampler protocol shared by uniform, VEGAS, flow and multi-channel samplers.

A sampler is a normalised density ``q(u)`` on the unit hypercube ``[0, 1]^d``.
``sample`` draws points and returns ``log q`` in float64 at the same time, so
weights ``w = f(u) / q(u)`` never need a second pass; ``log_prob`` evaluates
``log q`` at given points (needed for buffered training and coverage checks);
``state`` is everything needed to rebuild it (tensors on the CPU), which the
integrator kind that made it loads back (:mod:`mlgen.integrate.kinds`).
"""

from __future__ import annotations

__all__ = ["Budget", "Integrand", "Sampler"]

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor


@dataclass(frozen=True)
class Budget:
    """The integrand calls a fit may spend, besides what a kind's own settings add (training).

    Attributes:
        n_adapt_iter: VEGAS adaptation iterations of ``n_per_iter`` points (the grid; for the
            neural kinds the probe's grid and the defensive share).
        n_per_iter: points per final iteration (and per adaptation iteration of VEGAS).
        n_iter: independent iterations with the frozen sampler: the quoted result.
    """

    n_adapt_iter: int = 10
    n_per_iter: int = 100_000
    n_iter: int = 5


class Integrand(Protocol):
    """``f(u)``: ``(B, d)`` float64 points in the unit hypercube to ``(B,)`` float64 values."""

    def __call__(self, u: Tensor, /) -> Tensor: ...


@runtime_checkable
class Sampler(Protocol):
    """A normalised density on ``[0, 1]^dim``."""

    dim: int

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Draw ``n`` points.

        Returns:
            ``(u, log_q)``: ``(n, dim)`` float64 points and ``(n,)`` float64 ``log q(u)``.
        """
        ...

    def log_prob(self, u: Tensor) -> Tensor:
        """``(n,)`` float64 ``log q(u)`` at ``(n, dim)`` points."""
        ...

    def state(self) -> dict[str, Any]:
        """What rebuilds this sampler (tensors on the CPU), for saving."""
        ...

    def to(self, device: torch.device | str) -> Sampler:
        """Move to ``device``; returns the sampler."""
        ...
