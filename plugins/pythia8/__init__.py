"""Pythia 8 adapters for mlgen (depends on mlgen and pythia8mc)."""

from __future__ import annotations

__all__ = ["MlgenLHAup"]

from plugins.pythia8.lhaup import MlgenLHAup
