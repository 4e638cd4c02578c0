"""The ``mlgen`` command line: parse, hand over to the command's module, report errors in input."""

from __future__ import annotations

__all__ = ["COMMANDS", "main"]

import argparse
import importlib
import sys
from collections.abc import Sequence

# one module per subcommand under mlgen.commands, in the order ``mlgen --help`` lists them
COMMANDS = ("run", "shower", "compare", "amplify", "subtract", "positive", "merge", "sample")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgen", description="ML-augmented event generation and LHE post-processing"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"mlgen.commands.{name}")
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.__doc__))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlgen``; returns the exit status (errors in input: 2)."""
    args = _parser().parse_args(argv)
    try:
        return importlib.import_module(f"mlgen.commands.{args.command}").main(args)
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"mlgen {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
