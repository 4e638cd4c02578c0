"""mlgen cards [NAME ...] [--copy] [-o DIR]: the example run cards that ship with mlgen.

Without a name: one line per card (its name and what it runs). With names: print
the cards; with --copy, write them (and the files they name, such as a user
matrix element) into DIR, to edit and run with mlgen run DIR/NAME.toml.
"""

from __future__ import annotations

import argparse
import sys

HELP = "list the shipped example cards, print them or copy them to edit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="cards to print or copy (e.g. drell_yan)")
    parser.add_argument("--copy", action="store_true", help="copy the named cards instead of printing them")
    parser.add_argument("-o", "--output-dir", default=".", help="where --copy writes")
    parser.add_argument("--force", action="store_true", help="let --copy overwrite existing files")


def main(args: argparse.Namespace) -> int:
    from mlgen.cards.catalogue import copy_card, find_card, shipped_cards

    if not args.names:
        if args.copy:
            raise ValueError("--copy: name the cards to copy (mlgen cards lists them)")
        cards = shipped_cards()
        width = max(len(card.name) for card in cards)
        for card in cards:
            print(f"{card.name:<{width}}  {card.summary}")
        print(f"\n{len(cards)} cards; mlgen cards NAME prints one, mlgen cards NAME --copy copies it to edit")
        return 0
    for name in args.names:
        if args.copy:
            try:
                written = copy_card(name, args.output_dir, overwrite=args.force)
            except FileExistsError as err:
                print(f"mlgen cards: error: {err}", file=sys.stderr)
                return 2
            print(f"{name}: " + ", ".join(str(p) for p in written))
        else:
            print(find_card(name).path.read_text(), end="")
    return 0
