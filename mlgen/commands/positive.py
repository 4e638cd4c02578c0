"""``mlgen positive IN.lhe -o OUT.lhe.gz --method cell|neural|flow``: positive events from signed weights.

Prints, and writes next to the output as ``OUT.positive.json``: r- (the
fraction of negative weights), the cross section with its error and the
effective sample size per stored event before and after, the method's own
figures (cell sizes; kept fraction and dropped share of the neural step), and
the per-observable distortion (chi2/ndf and largest pull against the input's
statistical error).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from mlgen.atomic import write_text
from mlgen.commands import classifier_options
from mlgen.commands.reports import describe_refine, process_rows, renamed

if TYPE_CHECKING:  # the parser is built without importing torch
    from mlgen.positive import PositiveReport

HELP = "turn a sample with negative weights into positive (weighted or unweighted) events"
#: The distance's pT weight, shown in --help: :data:`mlgen.resample.embedding.TAU`, written out here
#: because that module imports torch and the parser is built without it (a test keeps the two equal).
TAU = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="LHE file with signed weights (.lhe or .lhe.gz)")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    parser.add_argument(
        "--method",
        choices=("cell", "neural", "flow", "gan"),
        default="cell",
        help="cell resampling, neural resampling, or a flow trained on the neural step's positive weights "
        "(gan: the flow's former name, deprecated)",
    )
    parser.add_argument(
        "--max-cell-size",
        type=float,
        default=math.inf,
        help="cell: largest cell radius, GeV (default: none)",
    )
    parser.add_argument(
        "--cell-share", choices=("abs", "mean"), default="abs", help="cell: share by |w| or equally"
    )
    parser.add_argument(
        "--tau",
        type=float,
        default=TAU,
        help="weight of pT differences against 3-momentum differences in the event distance",
    )
    parser.add_argument("--jet-radius", type=float, default=0.4, help="anti-kT R for partons in the distance")
    parser.add_argument("--unweight", action="store_true", help="cell, neural: write unweighted events")
    parser.add_argument("-n", type=int, help="flow: events to write (default: as many as the input)")
    parser.add_argument("--epochs", type=int, help="neural: classifier epochs; flow: generator epochs")
    parser.add_argument(
        "--refine",
        action="store_true",
        help="flow: keep generated events by a classifier's density ratio against the positive sample",
    )
    classifier_options.add_arguments(parser, "neural, flow: the sign classifier")
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-events", type=int, help="read at most this many events")


def main(args: argparse.Namespace) -> int:
    import dataclasses

    from mlgen.device import resolve_device
    from mlgen.lhe import LHEWriter
    from mlgen.lhe.passthrough import read_events
    from mlgen.positive import RENAMED, NeuralConfig, PositiveConfig, make_positive

    method = args.method
    if method in RENAMED:
        method = renamed("positive", "--method", method, RENAMED[method], "a normalizing flow")
    if args.refine and method != "flow":
        raise ValueError(f"--refine refines a generator's events: it needs --method flow, not {method}")
    neural = classifier_options.config(NeuralConfig, args, seed=args.seed)
    info, events = read_events(args.input, max_events=args.max_events)
    if events is None or len(events) == 0:
        raise ValueError(f"{args.input}: no events")
    if args.epochs and method == "neural":
        neural = dataclasses.replace(neural, epochs=args.epochs)
    config = PositiveConfig(
        method=method,
        max_cell_size=args.max_cell_size,
        cell_share=args.cell_share,
        tau=args.tau,
        jet_radius=args.jet_radius,
        unweight=args.unweight,
        n_out=args.n,
        neural=neural,
        epochs=args.epochs if args.epochs and method == "flow" else PositiveConfig.epochs,
        refine=args.refine,
        seed=args.seed,
        device=str(resolve_device(args.device)),
    )
    config.validate()
    try:
        out, run_info, report = make_positive(events, info, config)
    except ValueError as err:  # what the events lack (no final state, ...): name the file
        raise ValueError(f"{args.input}: {err}") from err
    with LHEWriter(args.output, run_info) as writer:
        writer.write(out)
    data = report.to_json() | {"input": args.input, "output": args.output}
    target = Path(str(args.output).removesuffix(".gz").removesuffix(".lhe") + ".positive.json")
    write_text(target, json.dumps(data, indent=1))
    print(_summary(report, len(out), args.output))
    return 0


def _summary(report: PositiveReport, n_out: int, output: str) -> str:
    def line(s: dict) -> str:
        return (
            f"sigma = {s['sigma_pb']:.6g} +- {s['error_pb']:.3g} pb, r- = {s['r_minus']:.4f}, "
            f"N_eff/N = {s['n_eff_per_event']:.3f}"
        )

    rows = [
        f"method {report.method} ({report.seconds:.1f} s; input weights: {report.input_convention} = sigma)",
        f"  before: {line(report.before.to_dict())}, N = {report.before.n}",
        f"  after:  {line(report.after.to_dict())}, N = {n_out} -> {output}",
    ]
    if report.flow is not None and report.flow.refine is not None:
        rows.append("  " + describe_refine(report.flow.refine, n_out))
    for key, figures in (("cells", report.cells), ("neural", report.neural)):
        if figures is not None:
            rows.append(
                f"  {key}: "
                + ", ".join(
                    f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in figures.items()
                )
            )
    worst = max(report.distortion.items(), key=lambda kv: kv[1]["chi2_ndf"], default=None)
    if worst:
        rows.append(
            f"  distortion: worst chi2/ndf = {worst[1]['chi2_ndf']:.2f} ({worst[0]}) of "
            f"{len(report.distortion)} observables (pulls in the input's statistical error)"
        )
    rows += process_rows(report.processes)
    rows += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(rows)
