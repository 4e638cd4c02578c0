"""``mlgen subtract B.lhe S.lhe -o OUT.lhe.gz [-n N]``: unweighted events of B - S, sigma = sigma_B - sigma_S.

Trains a classifier to learn dsigma_S/dsigma_B (:mod:`mlgen.gan.subtract`),
keeps B's events with probability proportional to their share of B - S, and
writes them unweighted. Regions where B - S < 0 are reported, never dropped
silently. Writes ``OUT.subtract.json`` next to the output.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

HELP = "events of the difference B - S of two LHE samples (background, counter-terms, diagrams)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="B: the sample to subtract from (.lhe or .lhe.gz; positive weights)")
    parser.add_argument("sub", help="S: the sample to take away")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    parser.add_argument("-n", type=int, help="events to write (at most the B events kept)")
    parser.add_argument("--epochs", type=int, default=100, help="classifier epochs (early stopping)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=1)


def main(args: argparse.Namespace) -> int:
    from mlgen.classifier import ClassifierConfig
    from mlgen.device import resolve_device
    from mlgen.gan.subtract import subtract
    from mlgen.lhe import LHEWriter, read_lhe

    base, sub = read_lhe(args.base), read_lhe(args.sub)
    for path, (_, events) in ((args.base, base), (args.sub, sub)):
        if events is None or len(events) == 0:
            raise ValueError(f"{path}: no events")
    # S is often nearly B: the ratio's small variations need small steps and late stopping
    config = ClassifierConfig(epochs=args.epochs, batch=512, lr=1e-3, patience=15, seed=args.seed)
    try:
        out, run_info, report = subtract(
            base, sub, n_out=args.n, config=config, device=str(resolve_device(args.device))
        )
    except ValueError as err:  # name the files the complaint is about
        raise ValueError(f"B = {args.base}, S = {args.sub}: {err}") from err
    with LHEWriter(args.output, run_info) as writer:
        writer.write(out)
    report |= {"base": args.base, "sub": args.sub, "output": args.output}
    target = Path(str(args.output).removesuffix(".gz").removesuffix(".lhe") + ".subtract.json")
    fd, tmp = tempfile.mkstemp(prefix=".subtract.", dir=target.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(report, handle, indent=1)
    os.replace(tmp, target)
    print(
        f"B - S: sigma = {report['sigma_pb']:.6g} +- {report['error_pb']:.3g} pb "
        f"({report['sigma_base_pb']:.6g} - {report['sigma_subtracted_pb']:.6g}); {len(out)} unweighted "
        f"events of {report['n_base']} in B -> {args.output} ({report['seconds']:.1f} s)\n"
        f"  negative weights of the learnt difference: {report['negative_weights_fraction']:.1%} of B's "
        f"events, {report['negative_weights_sigma_pb']:.4g} pb; "
        f"{report['negative_after_cells_sigma_pb']:.4g} pb after cells "
        f"(statistical noise of B - S: {report['counting_error_pb']:.3g} pb)"
    )
    for warning in report["warnings"]:
        print(f"  warning: {warning}")
    return 0
