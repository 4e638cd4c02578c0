"""Saving a trained sampler and loading it back, on any device, whatever its kind.

A saved sampler is a ``torch.save`` of its ``state()`` dict with a ``kind`` key
(``"vegas"``, ``"flow"``, ``"multichannel"``); tensors are stored on the CPU and
moved to the requested device on loading. Files are written under a temporary
name and renamed, so an interrupted save never leaves a truncated sampler.
"""

from __future__ import annotations

__all__ = ["load_sampler", "save_sampler"]

from pathlib import Path
from typing import Any

import torch

from mlgen.atomic import atomic_path
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.vegas_grid import VegasSampler


def save_sampler(sampler: Any, path: str | Path) -> Path:
    """Write ``sampler`` to ``path``; returns the path."""
    path = Path(path)
    if isinstance(sampler, VegasSampler):
        state = {"kind": "vegas", "grid": sampler.state_dict()}
    elif hasattr(sampler, "state"):
        state = sampler.state()
    else:
        raise TypeError(f"cannot save a sampler of type {type(sampler).__name__}")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_sampler(path: str | Path, device: torch.device | str = "cpu") -> Any:
    """Read a sampler written by :func:`save_sampler` and put it on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved sampler there")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for a bad file
        raise ValueError(f"{path}: not a sampler saved by mlgen ({err})") from None
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind == "vegas":
        return VegasSampler.from_state_dict(state["grid"])
    if kind == "flow":
        return FlowSampler.from_state(state, device)
    if kind == "multichannel":
        from mlgen.integrate.multichannel import MultiChannelSampler

        return MultiChannelSampler.from_state(state, device)
    raise ValueError(f"{path}: unknown sampler kind {kind!r} (expected vegas, flow or multichannel)")
