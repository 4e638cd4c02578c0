"""Hit-or-miss unweighting against a stated maximum: the one implementation every stage uses.

An event of weight ``w`` is kept with probability ``min(|w| / w_max, 1)``. A kept
event's weight becomes ``sign(w) max(|w| / w_max, 1)`` in units of ``w_max``: 1 for
ordinary events, more for overweights, which are kept and counted, never clipped
silently. The maximum is the true maximum of a pilot sample (``mode = "max"``) or a
reduced maximum whose overweights carry at most a fraction ``q`` of the total
(``mode = "reduced"``, :func:`mlgen.metrics.reduced_max`).
"""

from __future__ import annotations

__all__ = ["MODES", "choose_max", "hit_or_miss"]

import torch
from torch import Tensor

from mlgen.metrics import reduced_max

MODES = ("max", "reduced", "none")
"""``max``: the pilot's true maximum; ``reduced``: overweights carry at most ``q``; ``none``: weighted."""


def choose_max(pilot: Tensor, mode: str, q: float = 1e-3) -> float:
    """The unweighting maximum (pb) from a pilot sample's weights; 0 for ``mode = "none"``.

    Raises:
        ValueError: for an unknown mode, or a pilot with no non-zero weight.
    """
    magnitudes = pilot.abs()
    if mode == "none":
        return 0.0
    if mode == "max":
        w_max = float(magnitudes.max())
    elif mode == "reduced":
        w_max = float(reduced_max(magnitudes, q))
    else:
        raise ValueError(f"unweighting mode {mode!r}: expected one of {', '.join(MODES)}")
    if not w_max > 0:
        raise ValueError("the pilot sample has no non-zero weight: check the cuts and the process")
    return w_max


def hit_or_miss(weights: Tensor, w_max: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Keep each event with probability ``min(|w| / w_max, 1)``.

    Arguments:
        weights: ``(N,)`` event weights (any unit, possibly signed).
        w_max: the maximum, in the unit of ``weights`` (> 0).
        generator: the stream of the accept/reject numbers, on the weights' device.

    Returns:
        ``(accept, units)``: ``(N,)`` bool mask of kept events and ``(N,)`` float64 weights in units
        of ``w_max``, ``sign(w) max(|w| / w_max, 1)`` (meaningful where ``accept``).
    """
    ratio = weights.abs().to(torch.float64) / w_max
    accept = torch.rand(ratio.shape, generator=generator, dtype=torch.float64, device=ratio.device) < ratio
    units = torch.sign(weights).to(torch.float64) * ratio.clamp(min=1.0)
    return accept, units
