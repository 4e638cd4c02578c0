"""``mlgen run CARD``: integrate a process card, unweight, write LHE, result.json and plots."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "integrate a process card, unweight, write LHE, result.json and plots"


def add_arguments(run: argparse.ArgumentParser) -> None:
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


def main(args: argparse.Namespace) -> int:
    from mlgen.cards import load_card
    from mlgen.run import run_card

    overrides = list(args.overrides)
    if args.events is not None:
        overrides.append(f"events.n={args.events}")
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    if args.output_dir is not None:
        overrides.append(f"run.output_dir={json.dumps(args.output_dir)}")
    from mlgen.hooks import HookError

    card = load_card(args.card, overrides)
    try:
        result = run_card(
            card, progress=not args.no_progress and not args.json, log=None if args.json else print
        )
    except HookError as err:
        print(f"mlgen run: {err} (the events and result.json written before it are kept)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0
