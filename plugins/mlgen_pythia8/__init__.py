"""Pythia 8 adapters for mlgen (depends on mlgen and pythia8mc; mlgen finds it through the
``mlgen.plugins`` entry point, never by import)."""

from __future__ import annotations

__all__ = ["MlgenLHAup", "shower_card"]

from .lhaup import MlgenLHAup
from .memory import shower_card
