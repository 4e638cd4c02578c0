"""The uniform density on the unit hypercube."""

from __future__ import annotations

__all__ = ["UniformSampler"]

from typing import Any

import torch
from torch import Tensor


class UniformSampler:
    """``q(u) = 1`` on ``[0, 1]^dim``; points are created on the generator's device."""

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64, device=generator.device)
        return u, torch.zeros(n, dtype=torch.float64, device=u.device)

    def log_prob(self, u: Tensor) -> Tensor:
        inside = ((u >= 0) & (u <= 1)).all(-1)
        zero = torch.zeros(u.shape[0], dtype=torch.float64, device=u.device)
        return torch.where(inside, zero, torch.full_like(zero, -torch.inf))

    def to(self, device: torch.device | str) -> UniformSampler:
        return self

    def state(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> UniformSampler:
        return cls(int(state["dim"]))
