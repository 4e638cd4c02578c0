"""The neural importance sampler: a flow mixed with two defensive shares, on the cube or on a VEGAS grid.

A uniform ``z`` goes through the flow ``F`` to ``v = F(z)`` with density ``p(v)``
in the sampler's *latent* space. Two shares of the points skip the flow: with
probability ``alpha`` (``defensive``) the point is one of the VEGAS grid ``V``,
with probability ``beta`` (``uniform``) it is uniform on the cube. The latent
space is one of two:

* the cube itself (``composed=False``, the default of :func:`flow_integrate`):
  ``u = v`` and the grid is a mixture component next to the flow,
  ``q(u) = (1 - alpha - beta) p(u) + alpha q_V(u) + beta``;
* the grid's latent space (``composed=True``, the warm start): ``u = V(v)``, so
  the flow learns a correction to VEGAS,
  ``r(v) = (1 - alpha - beta) p(v) + alpha + beta |dV/dv|`` and
  ``q(u) = r(V^-1(u)) / |dV/dv|``.

Either way ``q >= alpha q_VEGAS`` and ``q >= beta`` everywhere: whatever the flow
learned, it cannot drop a region VEGAS sees, nor, through the uniform share, a
region that VEGAS itself missed (defensive importance sampling, T. Hesterberg,
Technometrics 37 (1995) 185). After training the shares can be re-chosen for
the least variance that keeps the unweighting efficiency
(:mod:`mlgen.integrate.defensive`). ``log q`` is float64.
"""

from __future__ import annotations

__all__ = ["FlowSampler"]

import math
from typing import Any

import torch
from torch import Tensor

from mlgen.flows.coupling import Flow
from mlgen.integrate.vegas_grid import VegasSampler


class FlowSampler:
    """A normalised density on ``[0, 1]^dim``: a flow in a defensive mixture with a VEGAS grid and the cube.

    Arguments:
        flow: the flow on the latent space (its ``n_context`` must be 0).
        grid: the VEGAS grid, or ``None`` for none.
        defensive: the share ``alpha`` of points drawn from the VEGAS grid alone.
        uniform: the share ``beta`` of points drawn uniformly on the cube.
        composed: the flow sits on the grid's latent space (the warm start); otherwise on the cube,
            with the grid as a mixture component.
    """

    def __init__(
        self,
        flow: Flow,
        grid: VegasSampler | None = None,
        defensive: float = 0.1,
        uniform: float = 0.0,
        *,
        composed: bool = True,
    ) -> None:
        if flow.n_context:
            raise ValueError("FlowSampler takes an unconditional flow")
        self.flow = flow
        self.grid = grid
        self.composed = composed and grid is not None
        self.dim = flow.dim
        self.set_shares(defensive, uniform)

    def set_shares(self, defensive: float, uniform: float) -> None:
        """Set ``alpha`` and ``beta``; without a grid the two are the same thing (uniform points)."""
        if defensive < 0 or uniform < 0 or defensive + uniform >= 1.0:
            raise ValueError(f"need defensive, uniform >= 0 with a sum below 1, got {defensive}, {uniform}")
        if self.grid is None:
            defensive, uniform = defensive + uniform, 0.0
        self.defensive, self.uniform = defensive, uniform

    @property
    def device(self) -> torch.device:
        return next(self.flow.parameters()).device

    def to(self, device: torch.device | str) -> FlowSampler:
        self.flow.to(device)
        return self

    # -- densities in the latent space ----------------------------------------------------------
    def defensive_log_densities(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """``log`` of the grid's and of the uniform share's densities at latent ``v`` (float64)."""
        zero = torch.zeros(v.shape[0], dtype=torch.float64, device=v.device)
        if self.grid is None:
            return zero, zero
        if self.composed:  # the grid is uniform in its own latent space; the cube is stretched by V
            return zero, self.grid.forward(v.double())[1]
        return self.grid.inverse(v.double())[1], zero

    def mix(self, log_p: Tensor, v: Tensor) -> Tensor:
        """``log r = log((1 - alpha - beta) p + alpha r_grid + beta r_uniform)`` from the flow's ``log p``."""
        alpha, beta = self.defensive, self.uniform
        if alpha == 0.0 and beta == 0.0:
            return log_p
        log_grid, log_uniform = self.defensive_log_densities(v)
        terms = [log_p + math.log1p(-alpha - beta)]
        if alpha > 0:
            terms.append(log_grid.to(log_p.dtype) + math.log(alpha))
        if beta > 0:
            terms.append(log_uniform.to(log_p.dtype) + math.log(beta))
        return torch.logsumexp(torch.stack(terms), dim=0)

    def _defensive_points(self, z: Tensor, on_grid: Tensor) -> Tensor:
        """Latent points of the two defensive shares from uniform ``z``: the grid's where ``on_grid``."""
        if self.grid is None:
            return z
        # composed: the grid's points are z itself, the cube's are V^-1(z); on the cube, the reverse
        mapped = ~on_grid if self.composed else on_grid
        v = z.clone()
        if bool(mapped.any()):
            grid_map = self.grid.inverse if self.composed else self.grid.forward
            v[mapped] = grid_map(z[mapped])[0]
        return v

    def sample_latent(
        self, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float64, *, density: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """``n`` points ``v`` of the latent space and ``log r(v)`` (float64, no gradient).

        ``dtype`` is that of the flow's arithmetic: float64 at the sampler's boundary; training
        draws its points in the networks' float32, which is 1.5x faster on a CPU (the points are
        then exactly the float64 numbers they round to, and their density is good to float32).
        ``density=False`` returns ``(v, None)`` and saves the flow's pass over the defensive points,
        for a caller that evaluates the density at ``v`` anyway (training: ``mix`` of its ``log p``).
        """
        device = generator.device
        z = torch.rand(n, self.dim, generator=generator, dtype=dtype, device=device)
        choice = torch.rand(n, generator=generator, dtype=torch.float64, device=device)
        with torch.no_grad():
            v, log_jac = self.flow(z)
            v, z, log_p = v.double(), z.double(), -log_jac.double()
            other = choice < self.defensive + self.uniform  # points not drawn through the flow
            if bool(other.any()):
                v[other] = self._defensive_points(z[other], choice[other] < self.defensive)
            if not density:
                return v, None
            if bool(other.any()):
                log_p[other] = self.flow.inverse(v[other].to(dtype))[1].double()
            return v, self.mix(log_p, v)

    def log_prob_latent(self, v: Tensor, dtype: torch.dtype | None = None, *, mixed: bool = True) -> Tensor:
        """``log r(v)``, differentiable in the flow's parameters; the flow runs in ``dtype`` (``v``'s).

        ``mixed=False`` gives the flow's own ``log p(v)``, without the defensive shares (what
        training fits, :class:`~mlgen.integrate.train.TrainConfig` ``fit``), in ``v``'s dtype.
        """
        log_p = self.flow.inverse(v if dtype is None else v.to(dtype))[1].to(v.dtype)
        return self.mix(log_p, v) if mixed else log_p

    # -- the Sampler protocol ----------------------------------------------------------------------
    def to_cube(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """Latent ``v`` to ``u`` and ``log|du/dv|``."""
        if self.grid is None or not self.composed:
            return v, torch.zeros(v.shape[0], dtype=v.dtype, device=v.device)
        return self.grid.forward(v)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` points of ``[0, 1]^dim`` and ``log q`` (float64)."""
        v, log_r = self.sample_latent(n, generator)
        assert log_r is not None  # asked for with density=True
        u, log_jac = self.to_cube(v)
        return u, log_r - log_jac

    def log_prob(self, u: Tensor) -> Tensor:
        """``log q(u)`` (float64)."""
        with torch.no_grad():
            if self.grid is None or not self.composed:
                return self.log_prob_latent(u)
            v, log_jac_inv = self.grid.inverse(u)
            return self.log_prob_latent(v) + log_jac_inv

    # -- save and reload (mlgen.integrate.persist) -------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The flow's configuration and parameters, the grid and the shares, on the CPU."""
        return {
            "flow_config": self.flow.config,
            "flow_dtype": str(next(self.flow.parameters()).dtype),
            "flow": {k: v.cpu() for k, v in self.flow.state_dict().items()},
            "grid": None if self.grid is None else self.grid.state(),
            "defensive": self.defensive,
            "uniform": self.uniform,
            "composed": self.composed,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> FlowSampler:
        dtype = getattr(torch, state["flow_dtype"].removeprefix("torch."))
        flow = Flow(**state["flow_config"], dtype=dtype)
        flow.load_state_dict(state["flow"])
        grid = None if state["grid"] is None else VegasSampler.from_state(state["grid"])
        return cls(
            flow.to(device),
            grid,
            state["defensive"],
            state.get("uniform", 0.0),
            composed=state.get("composed", True),  # files from before the cube mode: on the grid
        )
