"""Options of the cross-fitted classifier (:mod:`mlgen.resample.classifier`) that ``subtract`` and
``positive`` share: not a command of its own."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the parser is built without importing torch
    from mlgen.resample.classifier import ClassifierConfig

Config = TypeVar("Config", bound="ClassifierConfig")


def add_arguments(parser: argparse.ArgumentParser, scope: str) -> None:
    """``--folds`` and ``--members``; ``scope`` says which methods use them (in the help)."""
    parser.add_argument(
        "--folds", type=int, default=2, help=f"{scope}: cross-fitting parts (each network sees all but one)"
    )
    parser.add_argument(
        "--members",
        type=int,
        default=1,
        help=f"{scope}: networks per part, their log-ratios averaged (a finer ratio, for the time)",
    )


def config(cls: type[Config], args: argparse.Namespace, **settings: Any) -> Config:
    """``cls(folds=..., members=..., **settings)``; a bad value names the options. Build it before
    reading any file, so that a bad option is refused at once."""
    try:
        return cls(folds=args.folds, members=args.members, **settings)
    except ValueError as err:
        raise ValueError(f"--folds {args.folds} --members {args.members}: {err}") from None
