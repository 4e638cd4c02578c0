"""Samplers on the unit hypercube, training loops and integration results."""

from __future__ import annotations
