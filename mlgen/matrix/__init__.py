"""Matrix elements behind one protocol (see :mod:`mlgen.matrix.base`)."""

from __future__ import annotations
