"""The ``mlgen`` command line: parse, hand over to the command's module, report errors in input."""

from __future__ import annotations

__all__ = ["COMMANDS", "HelpFormatter", "main", "plain"]

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

import mlgen

# one module per subcommand under mlgen.commands, in the order ``mlgen --help`` lists them
COMMANDS = ("run", "cards", "shower", "compare", "amplify", "subtract", "positive", "merge", "sample")

# Sphinx roles and reST literals in docstrings: :mod:`mlgen.x` -> mlgen.x, ``text`` -> text
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str) -> str:
    """``text`` without Sphinx roles and reST literal markup, as a terminal shows it."""
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written (their paragraphs and examples), in plain text; each option's default
    at the end of its help, unless the help already says it or there is none (a flag, an unset value)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return super()._fill_text(plain(text), width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = plain(action.help or "")
        if "default" in text or not action.option_strings or not _shows_default(action):
            return text
        return f"{text} (default: %(default)s)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgen",
        description="ML-augmented event generation and LHE post-processing",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mlgen {mlgen.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"mlgen.commands.{name}")
        command = sub.add_parser(
            name, help=plain(module.HELP), description=module.__doc__, formatter_class=HelpFormatter
        )
        module.add_arguments(command)
        for action in command._actions:
            # an option without help still shows its default (argparse prints nothing for it)
            if action.help is None and action.option_strings and _shows_default(action):
                action.help = "(default: %(default)s)"
    return parser


def _shows_default(action: argparse.Action) -> bool:
    """Whether ``action``'s default is worth printing: a value, not a flag's false or an unset option."""
    default = action.default
    return not (default is None or default is argparse.SUPPRESS or isinstance(default, bool) or default == [])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlgen``; returns the exit status (errors in input: 2)."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as typed: the runs record it
    try:
        return importlib.import_module(f"mlgen.commands.{args.command}").main(args)
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"mlgen {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
