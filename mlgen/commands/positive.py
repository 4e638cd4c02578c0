"""``mlgen positive IN.lhe -o OUT.lhe.gz --method cell|neural|gan``: positive events from signed weights.

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
import os
import tempfile
from pathlib import Path

from mlgen.commands import classifier_options

HELP = "turn a sample with negative weights into positive (weighted or unweighted) events"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="LHE file with signed weights (.lhe or .lhe.gz)")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    parser.add_argument("--method", choices=("cell", "neural", "gan"), default="cell")
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
        help="weight of pT differences in the distance (default: mlgen.resample.embedding.TAU)",
    )
    parser.add_argument("--jet-radius", type=float, default=0.4, help="anti-kT R for partons in the distance")
    parser.add_argument("--unweight", action="store_true", help="cell, neural: write unweighted events")
    parser.add_argument("-n", type=int, help="gan: events to write (default: as many as the input)")
    parser.add_argument("--epochs", type=int, help="neural: classifier epochs; gan: generator epochs")
    parser.add_argument(
        "--refine",
        action="store_true",
        help="gan: keep generated events by a classifier's density ratio against the positive sample",
    )
    classifier_options.add_arguments(parser, "neural, gan: the sign classifier")
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-events", type=int, help="read at most this many events")


def main(args: argparse.Namespace) -> int:
    import dataclasses

    from mlgen.device import resolve_device
    from mlgen.lhe import LHEWriter, read_lhe
    from mlgen.positive import NeuralConfig, PositiveConfig, make_positive

    neural = classifier_options.config(NeuralConfig, args, seed=args.seed)
    info, events = read_lhe(args.input, max_events=args.max_events)
    if events is None or len(events) == 0:
        raise ValueError(f"{args.input}: no events")
    if args.epochs and args.method == "neural":
        neural = dataclasses.replace(neural, epochs=args.epochs)
    config = PositiveConfig(
        method=args.method,
        max_cell_size=args.max_cell_size,
        cell_share=args.cell_share,
        tau=PositiveConfig.tau if args.tau is None else args.tau,
        jet_radius=args.jet_radius,
        unweight=args.unweight,
        n_out=args.n,
        neural=neural,
        epochs=args.epochs if args.epochs and args.method == "gan" else PositiveConfig.epochs,
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
    report |= {"input": args.input, "output": args.output}
    target = Path(str(args.output).removesuffix(".gz").removesuffix(".lhe") + ".positive.json")
    fd, tmp = tempfile.mkstemp(prefix=".positive.", dir=target.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(report, handle, indent=1)
    os.replace(tmp, target)
    print(_summary(report, len(out)))
    return 0


def _summary(report: dict, n_out: int) -> str:
    from mlgen.gan.refine import describe

    b, a = report["before"], report["after"]

    def line(s: dict) -> str:
        return (
            f"sigma = {s['sigma_pb']:.6g} +- {s['error_pb']:.3g} pb, r- = {s['r_minus']:.4f}, "
            f"N_eff/N = {s['n_eff_per_event']:.3f}"
        )

    rows = [
        f"method {report['method']} ({report['seconds']:.1f} s; input weights: "
        f"{report['input_convention']} = sigma)",
        f"  before: {line(b)}, N = {b['n']}",
        f"  after:  {line(a)}, N = {n_out} -> {report['output']}",
    ]
    refined = report.get("gan", {}).get("refine")
    if refined:
        rows.append("  " + describe(refined, n_out))
    for key in ("cells", "neural"):
        if key in report:
            rows.append(
                f"  {key}: "
                + ", ".join(
                    f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in report[key].items()
                )
            )
    worst = max(report["distortion"].items(), key=lambda kv: kv[1]["chi2_ndf"], default=None)
    if worst:
        rows.append(
            f"  distortion: worst chi2/ndf = {worst[1]['chi2_ndf']:.2f} ({worst[0]}) of "
            f"{len(report['distortion'])} observables (pulls in the input's statistical error)"
        )
    rows += [f"  warning: {w}" for w in report["warnings"]]
    return "\n".join(rows)
