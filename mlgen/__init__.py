"""mlgen: machine learning inside a collider Monte Carlo chain."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
