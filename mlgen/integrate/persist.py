"""Saving a trained sampler and loading it back, on any device, whatever its kind.

A saved sampler is a ``torch.save`` of its ``state()`` dict with a ``kind`` key, the
name of the integrator kind that made it (:data:`~mlgen.integrate.kinds.INTEGRATORS`),
whose class loads it back; tensors are stored on the CPU and
moved to the requested device on loading. Files are written under a temporary
name and renamed, so an interrupted save never leaves a truncated sampler.
"""

from __future__ import annotations

__all__ = ["load_sampler", "save_sampler"]

from pathlib import Path

import torch

from mlgen.atomic import atomic_path
from mlgen.integrate.base import Sampler
from mlgen.integrate.kinds import INTEGRATORS, kind_of


def save_sampler(sampler: Sampler, path: str | Path) -> Path:
    """Write ``sampler`` (a kind of :data:`~mlgen.integrate.kinds.INTEGRATORS`) to ``path``."""
    path = Path(path)
    state = {"kind": kind_of(sampler), **sampler.state()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_sampler(path: str | Path, device: torch.device | str = "cpu") -> tuple[str, Sampler]:
    """Read a sampler written by :func:`save_sampler`: its kind's name and the sampler, on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved sampler there")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for a bad file
        raise ValueError(f"{path}: not a sampler saved by mlgen ({err})") from None
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind not in INTEGRATORS:
        raise ValueError(f"{path}: unknown sampler kind {kind!r} (expected one of {', '.join(INTEGRATORS)})")
    try:
        return kind, INTEGRATORS[kind].load(state, device)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: a {kind} sampler file that cannot be loaded ({err})") from None
