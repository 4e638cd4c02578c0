"""A normalizing flow on the unit hypercube: coupling layers of rational-quadratic splines.

Each coupling layer leaves the dimensions of a binary mask unchanged and moves
the others through monotonic splines (``mlgen.flows.splines``) whose
parameters an MLP computes from the unchanged dimensions and an optional
context (the channel, a discrete choice). The masks follow the binary digits
of the dimension index and their complements (as in i-flow, arXiv:2001.05486),
so after ``2 ceil(log2 d)`` layers every dimension has been transformed
conditioned on every other one. The last layer of each MLP starts at zero, so
an untrained flow is the identity: warm-started on a VEGAS grid it begins as
VEGAS.

``forward`` maps a latent ``z`` to ``x`` and returns ``log|dx/dz|``; with a
uniform latent density, ``log q(x) = -log|dx/dz|``. Networks run in float32 by
default; the splines and log-Jacobians are evaluated in the dtype of the input
(float64 at the sampler's boundary).
"""

from __future__ import annotations

__all__ = ["Flow", "binary_masks", "zero_last_mlp"]

import math
from typing import Any

import torch
from torch import Tensor, nn

from mlgen.flows.splines import n_spline_params, rq_spline


def binary_masks(dim: int) -> list[Tensor]:
    """Masks (True = passed through unchanged) so that each dimension conditions on every other.

    For ``dim = 1`` there is nothing to condition on: one mask with no fixed dimension.
    """
    if dim == 1:
        return [torch.tensor([False])]
    n_bits = math.ceil(math.log2(dim))
    idx = torch.arange(dim)
    masks = []
    for bit in range(n_bits):
        m = ((idx >> bit) & 1).bool()
        masks += [m, ~m]
    return masks


def zero_last_mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    """An MLP (LeakyReLU) whose last layer starts at zero: its output is 0 until trained."""
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.LeakyReLU()]
        width = hidden
    last = nn.Linear(width, n_out)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*mods, last)


class _Coupling(nn.Module):
    mask: Tensor
    fixed_idx: Tensor
    moved_idx: Tensor
    order: Tensor
    net: nn.Sequential | None

    def __init__(self, mask: Tensor, n_context: int, n_bins: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.register_buffer("mask", mask)
        # integer columns and the permutation that puts [fixed, moved] back in order: gathers with
        # these are cheaper than boolean indexing (which counts the mask on every call)
        self.register_buffer("fixed_idx", mask.nonzero()[:, 0], persistent=False)
        self.register_buffer("moved_idx", (~mask).nonzero()[:, 0], persistent=False)
        self.register_buffer(
            "order", torch.argsort(torch.cat([self.fixed_idx, self.moved_idx])), persistent=False
        )
        self.n_bins = n_bins
        self.n_fixed = int(mask.sum())
        self.n_moved = int((~mask).sum())
        n_out = self.n_moved * n_spline_params(n_bins)
        if self.n_fixed + n_context == 0:
            self.net = None
            self.params = nn.Parameter(torch.zeros(n_out))
        else:
            self.net = zero_last_mlp(self.n_fixed + n_context, n_out, hidden, layers)

    def _params(self, fixed: Tensor, context: Tensor | None) -> Tensor:
        batch = fixed.shape[0]
        if self.net is None:
            raw = self.params.expand(batch, -1)
        else:
            dtype = next(self.net.parameters()).dtype
            # centred inputs train better than [0, 1]
            inp = fixed.to(dtype) - 0.5
            if context is not None:
                inp = torch.cat([inp, context.to(dtype)], dim=-1)
            raw = self.net(inp)
        return raw.reshape(batch, self.n_moved, n_spline_params(self.n_bins))

    def forward(self, x: Tensor, context: Tensor | None, inverse: bool) -> tuple[Tensor, Tensor]:
        fixed = x.index_select(1, self.fixed_idx)
        params = self._params(fixed, context)
        moved, log_jac = rq_spline(x.index_select(1, self.moved_idx), params, inverse=inverse)
        return torch.cat([fixed, moved], dim=1).index_select(1, self.order), log_jac.sum(-1)


def _rename_layers(module: nn.Module, state: dict[str, Any], prefix: str, *_: Any) -> None:
    """Files saved before the couplings had their name kept them under ``layers``."""
    old = prefix + "layers."
    for key in [k for k in state if k.startswith(old)]:
        state[prefix + "couplings." + key[len(old) :]] = state.pop(key)


class Flow(nn.Module):
    """A bijection of ``[0, 1]^dim``, optionally conditioned on a context vector.

    Arguments:
        dim: dimensions.
        n_context: length of the context vector (0: unconditional).
        n_bins: spline bins per dimension.
        hidden, layers: width and depth of each coupling MLP.
        n_blocks: repetitions of the full set of masks.
        dtype: dtype of the networks (float32 by default).
    """

    def __init__(
        self,
        dim: int,
        *,
        n_context: int = 0,
        n_bins: int = 10,
        hidden: int = 32,
        layers: int = 3,
        n_blocks: int = 1,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.n_context = n_context
        self.config = dict(
            dim=dim, n_context=n_context, n_bins=n_bins, hidden=hidden, layers=layers, n_blocks=n_blocks
        )
        masks = binary_masks(dim) * n_blocks
        self.couplings = nn.ModuleList(_Coupling(m, n_context, n_bins, hidden, layers) for m in masks)
        self.register_load_state_dict_pre_hook(_rename_layers)
        self.to(dtype)

    def _context(self, context: Tensor | None, like: Tensor) -> Tensor | None:
        if self.n_context == 0:
            return None
        if context is None or context.shape != (like.shape[0], self.n_context):
            raise ValueError(f"flow needs a context of shape ({like.shape[0]}, {self.n_context})")
        return context

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Latent ``z (B, dim)`` to ``x`` and ``log|dx/dz|`` ``(B,)`` (in ``z``'s dtype)."""
        context = self._context(context, z)
        log_jac = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        x = z
        for layer in self.couplings:
            x, lj = layer(x, context, inverse=False)
            log_jac = log_jac + lj
        return x, log_jac

    def inverse(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x (B, dim)`` back to ``z`` and ``log|dz/dx|`` ``(B,)``, i.e. ``log q(x)``."""
        context = self._context(context, x)
        log_jac = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        z = x
        for layer in reversed(self.couplings):
            z, lj = layer(z, context, inverse=True)
            log_jac = log_jac + lj
        return z, log_jac
