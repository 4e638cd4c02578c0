"""``mlgen shower``: shower an LHE file with Pythia 8, or mlgen's events in memory with ``--card``."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "shower an LHE file with Pythia 8 (or, with --card, mlgen's events in memory) and report"


def add_arguments(shower: argparse.ArgumentParser) -> None:
    shower.add_argument("events", nargs="?", help=".lhe or .lhe.gz file")
    shower.add_argument(
        "-n", type=int, default=None, help="number of events (default: all; with --card: events.n)"
    )
    shower.add_argument(
        "--card", help="mlgen run card: generate in memory and hand events to Pythia (no LHE file)"
    )
    shower.add_argument(
        "--pythia-card",
        help="Pythia .cmnd file, read after the settings taken from the LHE header and before --set",
    )
    shower.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="'Key = value'",
        help="extra Pythia setting (repeatable)",
    )
    shower.add_argument("--no-hadronisation", action="store_true")
    shower.add_argument("--hepmc", metavar="PATH", help="write the showered events to PATH (HepMC3 ASCII)")
    shower.add_argument("--json", action="store_true", help="print the report as JSON")


def _plugin(name: str) -> Any:
    """A generator adapter registered under the ``mlgen.plugins`` entry-point group."""
    from importlib.metadata import entry_points

    found = entry_points(group="mlgen.plugins", name=name)
    if not found:
        raise ImportError(f"no mlgen plugin {name!r} is installed (entry point group mlgen.plugins)")
    return next(iter(found)).load()


def main(args: argparse.Namespace) -> int:
    import contextlib

    with contextlib.ExitStack() as stack:
        on_event = None
        if args.hepmc:
            from mlgen.hepmc import HepMCWriter
            from mlgen.shower import lhe_run_info

            run_info = lhe_run_info(args.events) if args.events and not args.card else None
            on_event = stack.enter_context(HepMCWriter(args.hepmc, run_info=run_info))
        report = _shower(args, on_event)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    if on_event is not None and not args.json:
        print(f"HepMC3: {on_event.n_written} events -> {args.hepmc}")
    # a run in which matching vetoed every event showered nothing: that is a failure too
    return 0 if report.n_errors == 0 and report.n_showered > 0 else 1


def _shower(args: argparse.Namespace, on_event: Any) -> Any:
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
            on_event=on_event,
        )
    elif args.events:
        from mlgen.shower import MissingMergingSetting

        try:
            report = shower_lhe(
                args.events,
                args.n,
                settings=args.settings,
                pythia_card=args.pythia_card,
                hadronise=not args.no_hadronisation,
                on_event=on_event,
            )
        except MissingMergingSetting as err:
            raise ValueError(f"{err}; give it with --set '{err.setting} = ...' or in --pythia-card") from err
    else:
        raise ValueError("shower needs an LHE file or --card CARD")
    return report
