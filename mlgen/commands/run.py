"""``mlgen run CARD|PROC_DIR``: integrate a process card (or a MadGraph5 process directory), unweight,
write LHE, result.json and plots."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "integrate a process card or a MadGraph5 process directory, unweight, write LHE, result.json and plots"


def add_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "card",
        help="TOML run card, or a MadGraph5 .mad process directory (or its .tar.gz): its Cards/run_card.dat "
        "is run, events go to Events/run_NN/unweighted_events.lhe.gz",
    )
    run.add_argument("--events", "-n", type=int, help="number of unweighted events (overrides events.n)")
    run.add_argument("--seed", type=int, help="random seed (overrides run.seed)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any card key, e.g. --set integrator.n_iter=3 (repeatable); for a process directory "
        "a name without a dot sets a run_card.dat setting, e.g. --set dynamical_scale_choice=3",
    )
    run.add_argument(
        "--workdir",
        help="where a process-directory archive (.tar.gz) is unpacked (default: the current directory)",
    )
    run.add_argument("--output-dir", "-o", help="output directory (overrides run.output_dir)")
    run.add_argument(
        "--replace",
        action="store_true",
        help="replace the run already in the output directory (removed once this run is complete; "
        "without it such a directory is refused before any compute)",
    )
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
    from mlgen.mg5_run import is_process_dir, run_process_dir

    progress, log = not args.no_progress and not args.json, None if args.json else print
    try:
        if is_process_dir(args.card):
            if args.output_dir is not None:
                print(
                    "mlgen run: a process directory writes into its Events/run_NN; drop --output-dir",
                    file=sys.stderr,
                )
                return 2
            result = run_process_dir(args.card, overrides, workdir=args.workdir, progress=progress, log=log)
        else:
            card = load_card(args.card, overrides)
            command = ["mlgen", *getattr(args, "argv", [])]
            result = run_card(card, progress=progress, log=log, replace=args.replace, command=command)
    except HookError as err:
        print(f"mlgen run: {err} (the events and result.json written before it are kept)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    return 0
