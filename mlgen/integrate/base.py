"""The sampler protocol shared by uniform, VEGAS, flow and multi-channel samplers.

A sampler is a normalised density ``q(u)`` on the unit hypercube ``[0, 1]^d``.
``sample`` draws points and returns ``log q`` in float64 at the same time, so
weights ``w = f(u) / q(u)`` never need a second pass; ``log_prob`` evaluates
``log q`` at given points (needed for buffered training and coverage checks).
"""

from __future__ import annotations

__all__ = ["Integrand", "Sampler"]

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


class Integrand(Protocol):
    """``f(u)``: ``(B, d)`` float64 points in the unit hypercube to ``(B,)`` float64 values."""

    def __call__(self, u: Tensor) -> Tensor: ...


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
