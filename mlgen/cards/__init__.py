"""Run cards: TOML files loaded into frozen, validated dataclasses."""

from __future__ import annotations

__all__ = ["Card", "CardError", "load_card", "parse_card"]

from mlgen.cards.schema import Card
from mlgen.cards.validate import CardError, load_card, parse_card
