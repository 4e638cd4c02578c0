"""Physics core: four-vectors, Standard Model parameters, running couplings."""

from __future__ import annotations
