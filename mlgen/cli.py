"""The ``mlgen`` command line: parse, load the card, call the library."""

from __future__ import annotations

__all__ = ["main"]

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgen", description="ML-augmented event generation and LHE post-processing"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="integrate a process card, unweight, write LHE, result.json and plots")
    run.add_argument("card", help="TOML run card")
    run.add_argument("--events", "-n", type=int, help="number of unweighted events (overrides events.n)")
    run.add_argument("--seed", type=int, help="random seed (overrides run.seed)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any card key, e.g. --set integrator.n_iter=3 (repeatable)",
    )
    run.add_argument("--output-dir", "-o", help="output directory (overrides run.output_dir)")
    run.add_argument("--json", action="store_true", help="print result.json to stdout")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")

    shower = sub.add_parser(
        "shower",
        help="shower an LHE file with Pythia 8 (or, with --card, mlgen's events in memory) and report",
    )
    shower.add_argument("events", nargs="?", help=".lhe or .lhe.gz file")
    shower.add_argument(
        "-n", type=int, default=None, help="number of events (default: all; with --card: events.n)"
    )
    shower.add_argument(
        "--card", help="mlgen run card: generate in memory and hand events to Pythia (no LHE file)"
    )
    shower.add_argument("--pythia-card", help="Pythia .cmnd file (with --card)")
    shower.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="'Key = value'",
        help="extra Pythia setting (repeatable)",
    )
    shower.add_argument("--no-hadronisation", action="store_true")
    shower.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _run(args: argparse.Namespace) -> int:
    from mlgen.cards import load_card
    from mlgen.run import run_card

    overrides = list(args.overrides)
    if args.events is not None:
        overrides.append(f"events.n={args.events}")
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    if args.output_dir is not None:
        overrides.append(f"run.output_dir={json.dumps(args.output_dir)}")
    card = load_card(args.card, overrides)
    result = run_card(card, progress=not args.no_progress and not args.json, log=None if args.json else print)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def _plugin(name: str) -> Any:
    """A generator adapter registered under the ``mlgen.plugins`` entry-point group."""
    from importlib.metadata import entry_points

    found = entry_points(group="mlgen.plugins", name=name)
    if not found:
        raise ImportError(f"no mlgen plugin {name!r} is installed (entry point group mlgen.plugins)")
    return next(iter(found)).load()


def _shower(args: argparse.Namespace) -> int:
    from mlgen.shower import shower_lhe

    if args.card:
        if args.events:
            raise ValueError("give either an LHE file or --card, not both")
        from mlgen.cards import load_card

        card = load_card(args.card)
        settings = list(args.settings) + (["HadronLevel:all = off"] if args.no_hadronisation else [])
        shower_card = _plugin("pythia8")
        report = shower_card(
            card,
            args.n or card.events.n,
            pythia_card=args.pythia_card,
            settings=settings,
            log=None if args.json else print,
        )
    elif args.events:
        report = shower_lhe(args.events, args.n, settings=args.settings, hadronise=not args.no_hadronisation)
    else:
        raise ValueError("shower needs an LHE file or --card CARD")
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return 0 if report.n_errors == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlgen``; returns the exit status (errors in input: 2)."""
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "shower": _shower}
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"mlgen {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
