"""Saving a trained sampler and loading it back, on any device, whatever its kind.

A saved sampler is a ``torch.save`` of its ``state()`` dict with a ``kind`` key, the
name of the integrator kind that made it (:data:`~mlgen.integrate.kinds.INTEGRATORS`),
whose class loads it back, and a ``trained_on`` record (JSON text) of what it was trained
on, written by the caller (``mlgen run``: the process, its dimension and channels, the
physics settings and the integration result); tensors are stored on the CPU and
moved to the requested device on loading. Files are written under a temporary
name and renamed, so an interrupted save never leaves a truncated sampler.
"""

from __future__ import annotations

__all__ = ["SavedSampler", "load_saved", "load_sampler", "save_sampler"]

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mlgen.atomic import atomic_path
from mlgen.integrate.base import Sampler
from mlgen.integrate.kinds import INTEGRATORS, kind_of


@dataclass
class SavedSampler:
    """A sampler read back: its kind's name, the sampler, and the record saved with it (empty for a file
    written without one)."""

    kind: str
    sampler: Sampler
    trained_on: dict[str, Any] = field(default_factory=dict)


def save_sampler(sampler: Sampler, path: str | Path, trained_on: dict[str, Any] | None = None) -> Path:
    """Write ``sampler`` (a kind of :data:`~mlgen.integrate.kinds.INTEGRATORS`) to ``path``, with the
    JSON-ready ``trained_on`` record of what it was trained on."""
    path = Path(path)
    state = {"kind": kind_of(sampler), **sampler.state()}
    if trained_on is not None:
        state["trained_on"] = json.dumps(trained_on, default=float)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_saved(path: str | Path, device: torch.device | str = "cpu") -> SavedSampler:
    """Read a sampler written by :func:`save_sampler`, with its record, on ``device``."""
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
    record = state.pop("trained_on", None)
    try:
        trained_on = json.loads(record) if record is not None else {}
    except (TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: its record of what it was trained on is unreadable ({err})") from None
    try:
        return SavedSampler(kind, INTEGRATORS[kind].load(state, device), trained_on)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path}: a {kind} sampler file that cannot be loaded ({err})") from None


def load_sampler(path: str | Path, device: torch.device | str = "cpu") -> tuple[str, Sampler]:
    """Read a sampler written by :func:`save_sampler`: its kind's name and the sampler, on ``device``."""
    saved = load_saved(path, device)
    return saved.kind, saved.sampler
