"""A VEGAS grid carried into torch: a separable, piecewise-uniform density on ``[0, 1]^d``.

The grid is adapted by the ``vegas`` package (G. P. Lepage; VEGAS+ defaults) on
the CPU and its bin edges are copied into a ``(d, n_bins + 1)`` float64 tensor,
so sampling, density evaluation and the inverse map run vectorised on any
device. As a map from a uniform latent ``z`` to ``u`` it returns
``(u, log|du/dz|)``; the density is ``q(u) = |du/dz|^-1``.

References:
    G. P. Lepage, J. Comput. Phys. 27 (1978) 192; arXiv:2009.05112 (VEGAS+).
"""

from __future__ import annotations

__all__ = ["VegasSampler"]

from typing import Any

import numpy as np
import torch
from torch import Tensor


class VegasSampler:
    """Sampler and invertible map from a VEGAS grid.

    Arguments:
        edges: ``(d, n_max + 1)`` increasing bin edges per dimension, first 0; dimension
            ``k`` uses its first ``n_bins[k] + 1`` entries (the last of them 1), the rest
            is padding (VEGAS+ may give dimensions different bin counts).
        n_bins: ``(d,)`` bins per dimension; all ``n_max`` when omitted.
    """

    def __init__(self, edges: Tensor, n_bins: Tensor | None = None) -> None:
        edges = torch.as_tensor(edges, dtype=torch.float64)
        if edges.dim() != 2 or edges.shape[1] < 2:
            raise ValueError(f"VEGAS edges must have shape (d, n_bins + 1), got {tuple(edges.shape)}")
        self.dim = edges.shape[0]
        if n_bins is None:
            n_bins = torch.full((self.dim,), edges.shape[1] - 1, dtype=torch.long)
        self.n_bins = torch.as_tensor(n_bins, dtype=torch.long)
        # padding past each dimension's last edge is +inf, so searchsorted never lands there
        slot = torch.arange(edges.shape[1])[None, :]
        self.edges = torch.where(slot <= self.n_bins[:, None], edges, torch.full_like(edges, torch.inf))
        self._widths = torch.nan_to_num(self.edges[:, 1:] - self.edges[:, :-1], nan=1.0, posinf=1.0)

    @classmethod
    def from_adaptive_map(cls, amap: Any) -> VegasSampler:
        """From a ``vegas.AdaptiveMap``."""
        ninc = np.broadcast_to(np.atleast_1d(amap.ninc), (amap.dim,)).astype(np.int64)
        n_max = int(ninc.max())
        edges = np.ones((amap.dim, n_max + 1))
        for d in range(amap.dim):
            edges[d, : ninc[d] + 1] = np.asarray(amap.grid[d, : ninc[d] + 1])
        return cls(torch.from_numpy(edges), torch.from_numpy(ninc))

    def _on(self, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        if self.edges.device != device:
            self.edges = self.edges.to(device)
            self._widths = self._widths.to(device)
            self.n_bins = self.n_bins.to(device)
        return self.edges, self._widths, self.n_bins

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Uniform latent ``z (B, d)`` to ``u`` and ``log|du/dz|`` ``(B,)``."""
        edges, widths, n_bins = self._on(z.device)
        scaled = z * n_bins
        idx = torch.minimum(scaled.long().clamp(min=0), n_bins - 1)
        frac = scaled - idx
        dims = torch.arange(self.dim, device=z.device)
        w = widths[dims, idx]
        u = edges[dims, idx] + frac * w
        return u, torch.log(n_bins * w).sum(-1)

    def inverse(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """``u (B, d)`` back to the latent ``z`` and ``log|dz/du|`` ``(B,)``."""
        edges, widths, n_bins = self._on(u.device)
        idx = torch.searchsorted(edges.contiguous(), u.T.contiguous(), right=True).T - 1
        idx = torch.minimum(idx.clamp(min=0), n_bins - 1)
        dims = torch.arange(self.dim, device=u.device)
        w = widths[dims, idx]
        z = (idx + (u - edges[dims, idx]) / w) / n_bins
        return z, -torch.log(n_bins * w).sum(-1)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` points and their ``log q`` (float64), on the generator's device."""
        z = torch.rand(n, self.dim, generator=generator, dtype=torch.float64, device=generator.device)
        u, log_jac = self.forward(z)
        return u, -log_jac

    def log_prob(self, u: Tensor) -> Tensor:
        """``log q(u)`` at ``(B, d)`` points."""
        return self.inverse(u)[1]

    def to(self, device: torch.device | str) -> VegasSampler:
        self._on(torch.device(device))
        return self

    def state(self) -> dict[str, Any]:
        """The bin edges and counts, on the CPU (:meth:`from_state` rebuilds the grid)."""
        return {"edges": self.edges.cpu(), "n_bins": self.n_bins.cpu()}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> VegasSampler:
        return cls(state["edges"], state["n_bins"]).to(device)
