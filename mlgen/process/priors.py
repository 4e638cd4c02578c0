"""Prior channel weights ``alpha_c`` of a multi-channel process: one interface, two sources.

* :class:`PropagatorPrior` — single-diagram enhancement from the propagators alone:
  ``alpha_c`` proportional to the product of channel ``c``'s squared propagators
  ``|1 / (s - M^2 + i M Gamma)|^2`` (for a massless one ``1/s^2``); the built-in matrix elements.
* :class:`DiagramPrior` — the weights the matrix element computes itself,
  ``|A_c|^2 / sum_k |A_k|^2`` of its diagrams (a MadGraph5 ``.mad`` build: exactly MadEvent's).

:class:`~mlgen.process.channels.MultiChannelProcess` asks its prior for the ``(B, C)`` log weights
at a batch of evaluated points; the learned correction of
:class:`~mlgen.integrate.channel_weights.ChannelWeights` multiplies them either way.

References:
    F. Maltoni, T. Stelzer, arXiv:hep-ph/0208156 (single-diagram enhancement).
"""

from __future__ import annotations

__all__ = ["ChannelPrior", "DiagramPrior", "DiagramWeights", "PropagatorPrior"]

import math
from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor

from mlgen.physics.propagators import Propagator
from mlgen.physics.vectors import mass2


def _normalised(log_terms: Tensor) -> Tensor:
    """``log_softmax`` over channels; a point where that is not finite gets the flat prior."""
    log_prior = torch.log_softmax(log_terms, -1)
    flat = torch.full_like(log_prior, -math.log(log_terms.shape[-1]))
    return torch.where(torch.isfinite(log_prior).all(-1, keepdim=True), log_prior, flat)


class ChannelPrior(Protocol):
    """Prior channel weights at a batch of evaluated points."""

    def log_prior(self, momenta: Tensor, alpha_s: Tensor, passed: Tensor) -> Tensor:
        """``(B, C)`` normalised log weights at ``(B, n, 4)`` lab momenta (GeV), with ``alpha_s`` and
        the cuts' verdict ``passed`` ``(B,)`` of each point."""
        ...


class PropagatorPrior:
    """Single-diagram enhancement from the channels' s-channel propagators (see the module docstring).

    Arguments:
        propagators: per channel, its :class:`~mlgen.physics.propagators.Propagator` s.
    """

    def __init__(self, propagators: Sequence[Sequence[Propagator]]) -> None:
        self.propagators = [tuple(props) for props in propagators]

    def log_prior(self, momenta: Tensor, alpha_s: Tensor, passed: Tensor) -> Tensor:
        p = momenta
        invariants = {
            d: mass2(p[:, list(d)].sum(1)).clamp(min=1e-300)
            for d in {prop.daughters for props in self.propagators for prop in props}
        }
        log_terms = []
        for props in self.propagators:
            term = torch.zeros(p.shape[0], dtype=p.dtype, device=p.device)
            for prop in props:
                s = invariants[prop.daughters]
                denominator = (s - prop.mass**2) ** 2 + (prop.mass * prop.width) ** 2
                term = term - torch.log(denominator.clamp(min=1e-300))
            log_terms.append(term)
        log_prior = torch.log_softmax(torch.stack(log_terms, -1), -1)
        # a degenerate point (a massless propagator exactly on shell, outside any cut) gets the flat prior
        flat = torch.full_like(log_prior, -math.log(len(log_terms)))
        return torch.where(torch.isfinite(log_prior), log_prior, flat)


class DiagramWeights(Protocol):
    """A matrix element that gives its channels' enhancement weights itself."""

    def channel_weights(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, C)`` weights summing to 1 at ``(B, n, 4)`` momenta."""
        ...


class DiagramPrior:
    """The matrix element's own single-diagram-enhancement weights (e.g.
    :meth:`~mlgen.matrix.mg5.matrix_element.MadGraphCPP.channel_weights`), computed only at the
    points inside the cuts (elsewhere the weight is 0 anyway, and the prior flat).

    Arguments:
        weights: the matrix element.
        n_channels: ``C``.
    """

    def __init__(self, weights: DiagramWeights, n_channels: int) -> None:
        self.weights = weights
        self.n_channels = n_channels

    def log_prior(self, momenta: Tensor, alpha_s: Tensor, passed: Tensor) -> Tensor:
        shape = (momenta.shape[0], self.n_channels)
        log_w = torch.full(shape, -math.log(self.n_channels), dtype=torch.float64, device=momenta.device)
        idx = torch.nonzero(passed).squeeze(1)
        if idx.numel():
            w = self.weights.channel_weights(momenta[idx], alpha_s[idx]).to(log_w.device)
            log_w[idx] = _normalised(torch.log(w))
        return log_w
