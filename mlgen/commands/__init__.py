"""Subcommands of ``mlgen``: one module per command.

Each module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``main(args) -> int``; ``mlgen.cli`` lists them in ``COMMANDS``.
"""
