"""LHEF 3 files: the only part of mlgen that knows their text layout."""

from __future__ import annotations

__all__ = ["LHEError", "LHEWarning", "LHEWriter", "iter_lhe", "read_lhe", "write_lhe"]

from mlgen.lhe.reader import LHEError, LHEWarning, iter_lhe, read_lhe
from mlgen.lhe.writer import LHEWriter, write_lhe
