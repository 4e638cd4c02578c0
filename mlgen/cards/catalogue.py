"""The example cards that ship with mlgen (the repository's ``cards/``), to list and to copy.

In a source checkout ``mlgen/cards/shipped`` is a link to ``cards/``; a wheel holds a copy
(``[tool.setuptools.package-data]``). A card may name files beside it (a user matrix element
``user/scalar.py:amp2``, a ``param_card``, a hook's ``file.py:attr``): copying a card copies them too.
"""

from __future__ import annotations

__all__ = ["SHIPPED", "ShippedCard", "copy_card", "find_card", "shipped_cards"]

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: where the shipped cards are
SHIPPED = Path(__file__).resolve().parent / "shipped"


@dataclass(frozen=True)
class ShippedCard:
    """A card of :data:`SHIPPED`: its name (the file name without ``.toml``), file and first comment."""

    name: str
    path: Path
    summary: str

    def companions(self) -> tuple[Path, ...]:
        """Files beside the card that it names, relative to its folder (``user/scalar.py``)."""
        found: set[Path] = set()
        for text in _strings(tomllib.loads(self.path.read_text())):
            for name in {text, text.rsplit(":", 1)[0]}:  # a file, or file.py:attr
                path = Path(name)
                if path.is_absolute() or ".." in path.parts or not name:
                    continue
                if (self.path.parent / path).is_file():
                    found.add(path)
        return tuple(sorted(found))


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _summary(path: Path) -> str:
    """The card's first comment line, without the ``#``."""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def shipped_cards() -> list[ShippedCard]:
    """The shipped cards, by name."""
    return [ShippedCard(p.stem, p, _summary(p)) for p in sorted(SHIPPED.glob("*.toml"))]


def find_card(name: str) -> ShippedCard:
    """The shipped card called ``name`` (with or without ``.toml``)."""
    stem = name.removesuffix(".toml")
    cards = {card.name: card for card in shipped_cards()}
    if stem not in cards:
        raise ValueError(f"no shipped card {name!r} (there are: {', '.join(cards)})")
    return cards[stem]


def copy_card(name: str, directory: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the shipped card ``name`` and the files it names into ``directory``.

    Returns:
        The files written. Nothing is written when one of them exists and ``overwrite`` is false.
    """
    card = find_card(name)
    directory = Path(directory)
    pairs = [(card.path, directory / card.path.name)]
    pairs += [(card.path.parent / rel, directory / rel) for rel in card.companions()]
    existing = [str(dest) for _, dest in pairs if dest.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{', '.join(existing)}: exists already (overwrite it with --force)")
    for source, dest in pairs:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return [dest for _, dest in pairs]
