"""The neural importance sampler: a flow on top of a VEGAS grid, mixed with two defensive shares.

A uniform ``z`` goes through the flow ``F`` to ``v = F(z)`` with density
``p(v)``, and ``v`` through the VEGAS grid ``V`` (the warm start; the identity
when there is none) to ``u = V(v)``. Two shares of the points skip part of it:
with probability ``alpha`` (``defensive``) ``v = z``, a point of the VEGAS grid
alone; with probability ``beta`` (``uniform``) ``u`` is uniform on the cube. In
the grid's latent space the density is

    r(v) = (1 - alpha - beta) p(v) + alpha + beta |dV/dv|,    q(u) = r(V^-1(u)) / |dV/dv|.

So ``q >= alpha q_VEGAS`` and ``q >= beta`` everywhere: whatever the flow learned,
it cannot drop a region VEGAS sees, nor, through the uniform share, a region
that VEGAS itself missed (defensive importance sampling, T. Hesterberg,
Technometrics 37 (1995) 185). An untrained flow is the identity, so the sampler
starts as VEGAS. ``log q`` is float64.
"""

from __future__ import annotations

__all__ = ["FlowSampler"]

import math
from typing import Any

import torch
from torch import Tensor

from mlgen.integrate.flow import Flow
from mlgen.integrate.vegas_grid import VegasSampler


class FlowSampler:
    """A normalised density on ``[0, 1]^dim``: defensive mixture of a flow, composed with a VEGAS grid.

    Arguments:
        flow: the flow on the VEGAS latent space (its ``n_context`` must be 0).
        grid: the VEGAS grid of the warm start, or ``None`` for none.
        defensive: the share ``alpha`` of points drawn from the VEGAS grid alone.
        uniform: the share ``beta`` of points drawn uniformly on the cube.
    """

    def __init__(
        self, flow: Flow, grid: VegasSampler | None = None, defensive: float = 0.1, uniform: float = 0.0
    ) -> None:
        if defensive < 0 or uniform < 0 or defensive + uniform >= 1.0:
            raise ValueError(f"need defensive, uniform >= 0 with a sum below 1, got {defensive}, {uniform}")
        if flow.n_context:
            raise ValueError("FlowSampler takes an unconditional flow")
        self.flow = flow
        self.grid = grid
        self.defensive = defensive
        self.uniform = uniform if grid is not None else 0.0
        if grid is None:  # without a grid the two shares are the same thing
            self.defensive += uniform
        self.dim = flow.dim

    @property
    def device(self) -> torch.device:
        return next(self.flow.parameters()).device

    def to(self, device: torch.device | str) -> FlowSampler:
        self.flow.to(device)
        return self

    # -- densities in the latent space of the grid --------------------------------------------
    def _mix(self, log_p: Tensor, v: Tensor) -> Tensor:
        """``log r = log((1 - alpha - beta) p + alpha + beta |dV/dv|)``."""
        alpha, beta = self.defensive, self.uniform
        if alpha == 0.0 and beta == 0.0:
            return log_p
        terms = [log_p + math.log1p(-alpha - beta)]
        if alpha > 0:
            terms.append(torch.full_like(log_p, math.log(alpha)))
        if beta > 0:
            terms.append(self.to_cube(v)[1].to(log_p.dtype) + math.log(beta))
        return torch.logsumexp(torch.stack(terms), dim=0)

    def sample_latent(
        self, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float64
    ) -> tuple[Tensor, Tensor]:
        """``n`` points ``v`` of the grid's latent space and ``log r(v)`` (float64, no gradient).

        ``dtype`` is that of the flow's arithmetic: float64 at the sampler's boundary; training
        draws its points in the networks' float32, which is 1.5x faster on a CPU (the points are
        then exactly the float64 numbers they round to, and their density is good to float32).
        """
        device = generator.device
        z = torch.rand(n, self.dim, generator=generator, dtype=dtype, device=device)
        choice = torch.rand(n, generator=generator, dtype=torch.float64, device=device)
        with torch.no_grad():
            v, log_jac = self.flow(z)
            v, z, log_p = v.double(), z.double(), -log_jac.double()
            other = choice < self.defensive + self.uniform  # points not drawn through the flow
            v = torch.where((choice < self.defensive)[:, None], z, v)
            if self.uniform > 0:
                # a uniform point of the cube, seen from the latent space: v = V^-1(u) with u = z
                to_cube = (choice >= self.defensive) & other
                if bool(to_cube.any()):
                    v[to_cube] = self.grid.inverse(z[to_cube])[0]
            if bool(other.any()):
                log_p[other] = self.flow.inverse(v[other].to(dtype))[1].double()
            return v, self._mix(log_p, v)

    def log_prob_latent(self, v: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """``log r(v)``, differentiable in the flow's parameters; the flow runs in ``dtype`` (``v``'s)."""
        log_p = self.flow.inverse(v if dtype is None else v.to(dtype))[1]
        return self._mix(log_p.to(v.dtype), v)

    # -- the Sampler protocol ----------------------------------------------------------------------
    def to_cube(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """Latent ``v`` to ``u`` and ``log|du/dv|``."""
        if self.grid is None:
            return v, torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
        return self.grid.forward(v)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` points of ``[0, 1]^dim`` and ``log q`` (float64)."""
        v, log_r = self.sample_latent(n, generator)
        u, log_jac = self.to_cube(v)
        return u, log_r - log_jac

    def log_prob(self, u: Tensor) -> Tensor:
        """``log q(u)`` (float64)."""
        with torch.no_grad():
            if self.grid is None:
                return self.log_prob_latent(u)
            v, log_jac_inv = self.grid.inverse(u)
            return self.log_prob_latent(v) + log_jac_inv

    # -- save and reload (mlgen.integrate.persist) -------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "kind": "flow",
            "flow_config": self.flow.config,
            "flow_dtype": str(next(self.flow.parameters()).dtype),
            "flow": {k: v.cpu() for k, v in self.flow.state_dict().items()},
            "grid": None if self.grid is None else self.grid.state_dict(),
            "defensive": self.defensive,
            "uniform": self.uniform,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> FlowSampler:
        dtype = getattr(torch, state["flow_dtype"].removeprefix("torch."))
        flow = Flow(**state["flow_config"], dtype=dtype)
        flow.load_state_dict(state["flow"])
        grid = None if state["grid"] is None else VegasSampler.from_state_dict(state["grid"])
        return cls(flow.to(device), grid, state["defensive"], state.get("uniform", 0.0))
