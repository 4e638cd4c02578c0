"""Reader for SLHA parameter cards (MadGraph5's ``param_card.dat``).

Only what a Standard Model card needs: ``BLOCK`` entries keyed by their integer
indices and ``DECAY`` lines (total widths). Branching-ratio lines under a
``DECAY`` line are skipped. Names are case-insensitive (stored upper case);
``#`` starts a comment. Errors name the file and line.

References:
    P. Skands et al., "SUSY Les Houches Accord", hep-ph/0311123, sections 4-5.
"""

from __future__ import annotations

__all__ = ["SLHAError", "SLHAData", "format_slha", "parse_slha", "read_slha", "slha_block", "slha_in_header"]

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class SLHAError(ValueError):
    """A malformed SLHA card; the message names the file and line."""


@dataclass(frozen=True)
class SLHAData:
    """The content of an SLHA card.

    Attributes:
        blocks: upper-case block name -> ``{indices: value}`` (``indices`` a tuple of ints).
        decays: PDG id -> total width in GeV.
        source: the file the card came from (for messages).
    """

    blocks: dict[str, dict[tuple[int, ...], float]] = field(default_factory=dict)
    decays: dict[int, float] = field(default_factory=dict)
    source: str = "<string>"

    def value(self, block: str, *indices: int) -> float | None:
        """The entry ``indices`` of ``block`` (case-insensitive), or ``None`` when absent."""
        return self.blocks.get(block.upper(), {}).get(tuple(indices))

    def resonances(self) -> dict[int, tuple[float, float]]:
        """``{PDG id: (mass, width)}`` (GeV) for the particles with a ``MASS`` entry and a ``DECAY``
        width above zero: the line shapes the events were generated with."""
        masses = {key[0]: m for key, m in self.blocks.get("MASS", {}).items() if len(key) == 1}
        return {
            abs(pdg): (masses[abs(pdg)], width)
            for pdg, width in self.decays.items()
            if width > 0 and masses.get(abs(pdg), 0.0) > 0
        }


def _number(token: str, where: str, what: str) -> float:
    try:
        return float(token.replace("d", "e").replace("D", "e"))
    except ValueError:
        raise SLHAError(f"{where}: expected a number for {what}, got {token!r}") from None


def parse_slha(text: str, source: str = "<string>") -> SLHAData:
    """Parse SLHA text.

    Arguments:
        text: the card's content.
        source: a name for error messages (usually the path).

    Returns:
        An :class:`SLHAData`.

    Raises:
        SLHAError: naming ``source:line`` and what was expected.
    """
    blocks: dict[str, dict[tuple[int, ...], float]] = {}
    decays: dict[int, float] = {}
    current: dict[tuple[int, ...], float] | None = None
    in_decay = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = f"{source}:{lineno}"
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        head = tokens[0].upper()
        if head == "BLOCK":
            if len(tokens) < 2:
                raise SLHAError(f"{where}: BLOCK without a name")
            current = blocks.setdefault(tokens[1].upper(), {})
            in_decay = False
        elif head == "DECAY":
            if len(tokens) < 3:
                raise SLHAError(f"{where}: expected 'DECAY <pdg> <width>', got {raw.strip()!r}")
            try:
                pdg = int(tokens[1])
            except ValueError:
                raise SLHAError(f"{where}: expected an integer PDG id, got {tokens[1]!r}") from None
            width = _number(tokens[2], where, f"the width of {pdg}")
            if width < 0:
                raise SLHAError(f"{where}: negative width {width} for PDG id {pdg}")
            decays[pdg] = width
            current, in_decay = None, True
        elif in_decay:
            continue  # branching ratios: BR NDA ID1 ID2 ...
        elif current is None:
            raise SLHAError(f"{where}: entry outside any BLOCK: {raw.strip()!r}")
        else:
            if len(tokens) == 1:
                raise SLHAError(f"{where}: expected '<index ...> <value>', got {raw.strip()!r}")
            try:
                key = tuple(int(t) for t in tokens[:-1])
            except ValueError:
                raise SLHAError(f"{where}: expected integer indices, got {raw.strip()!r}") from None
            current[key] = _number(tokens[-1], where, f"entry {key}")
    return SLHAData(blocks, decays, source)


def read_slha(path: str | Path) -> SLHAData:
    """Read and parse the SLHA card at ``path`` (see :func:`parse_slha`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SLHAError(f"{path}: cannot read the param card: {err.strerror}") from None
    return parse_slha(text, str(path))


_SLHA_TAG = re.compile(r"<slha>(.*?)</slha>", re.IGNORECASE | re.DOTALL)


def slha_block(header: str) -> str | None:
    """The ``<slha>...</slha>`` block of an LHE header as written, tags included, or ``None``."""
    found = _SLHA_TAG.search(header)
    return None if found is None else found.group(0)


def slha_in_header(header: str, source: str = "<header>") -> SLHAData | None:
    """The ``<slha>`` block of an LHE header, parsed (MadGraph5 writes its param card there, mlgen the
    masses and widths of its run; Pythia 8 reads it), or ``None`` when the header has none."""
    found = _SLHA_TAG.search(header)
    return None if found is None else parse_slha(found.group(1), f"{source} <slha>")


def format_slha(masses: Mapping[int, float], widths: Mapping[int, float], title: str = "mlgen") -> str:
    """A ``MASS`` block and ``DECAY`` lines (total widths only), as MadGraph5 writes them into its LHE
    headers, to 11 significant digits."""
    lines = [f"# masses and widths of the run ({title}), GeV", "BLOCK MASS"]
    lines += [f"  {pdg:8d} {mass:.10e}" for pdg, mass in sorted(masses.items())]
    lines += [f"DECAY {pdg:8d} {width:.10e}" for pdg, width in sorted(widths.items())]
    return "\n".join(lines) + "\n"
