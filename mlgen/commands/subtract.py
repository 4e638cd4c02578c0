"""``mlgen subtract B.lhe S.lhe -o OUT.lhe.gz [-n N]``: unweighted events of B - S, sigma = sigma_B - sigma_S.

``--method classifier`` (default) keeps B's events in proportion to their
share of B - S (at most as many as B has); ``--method generator`` fits two
flows to B and S as a mixture with the class fractions fixed to
sigma_S/sigma_B and samples the B - S flow, any number of events. A classifier of S against B
runs in both and reports regions where B - S < 0, never dropped silently
(:mod:`mlgen.gan.subtract`). Writes ``OUT.subtract.json`` next to the output.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from mlgen.commands import classifier_options

HELP = "events of the difference B - S of two LHE samples (background, counter-terms, diagrams)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="B: the sample to subtract from (.lhe or .lhe.gz; positive weights)")
    parser.add_argument("sub", help="S: the sample to take away")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    parser.add_argument(
        "-n", type=int, help="events to write (default: as many as B has; classifier: at most those kept)"
    )
    parser.add_argument(
        "--method",
        choices=("classifier", "generator"),
        default="classifier",
        help="classifier: B's events, kept by their share of B - S; generator: flows, any number of events",
    )
    parser.add_argument("--epochs", type=int, default=100, help="classifier epochs (early stopping)")
    classifier_options.add_arguments(parser, "classifier")
    parser.add_argument(
        "--flow-epochs", type=int, default=30, help="generator: epochs of the mixture's likelihood"
    )
    parser.add_argument(
        "--warm-epochs", type=int, default=30, help="generator: epochs with the classifier's class labels"
    )
    parser.add_argument(
        "--refine",
        action="store_true",
        help="generator: keep generated events by a classifier's density ratio against the classifier "
        "route's B - S on B's events (its shape, any number of events)",
    )
    parser.add_argument(
        "--keep-negative",
        action="store_true",
        help="classifier: write the events where B - S stays negative with negative weights (default: a "
        "positive sample, the negative part reported and not written)",
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=1)


def main(args: argparse.Namespace) -> int:
    from mlgen.device import resolve_device
    from mlgen.gan.amplify import AmplifyConfig
    from mlgen.gan.refine import RefineConfig, describe
    from mlgen.gan.subtract import subtract
    from mlgen.lhe import LHEWriter, read_lhe
    from mlgen.resample.classifier import ClassifierConfig

    # S is often nearly B: the ratio's small variations need small steps and late stopping
    config = classifier_options.config(
        ClassifierConfig, args, epochs=args.epochs, batch=512, lr=1e-3, patience=15, seed=args.seed
    )
    base, sub = read_lhe(args.base), read_lhe(args.sub)
    for path, (_, events) in ((args.base, base), (args.sub, sub)):
        if events is None or len(events) == 0:
            raise ValueError(f"{path}: no events")
    try:
        out, run_info, report = subtract(
            base,
            sub,
            method=args.method,
            n_out=args.n,
            config=config,
            generator=AmplifyConfig(epochs=args.flow_epochs, seed=args.seed),
            warm_epochs=args.warm_epochs,
            negative="keep" if args.keep_negative else "drop",
            refine=RefineConfig(classifier=config) if args.refine else None,
            device=str(resolve_device(args.device)),
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
        f"events ({report['method']}; {report['n_base']} in B) -> {args.output} ({report['seconds']:.1f} s)\n"
        f"  negative weights of the learnt difference: {report['negative_weights_fraction']:.1%} of B's "
        f"events, {report['negative_weights_sigma_pb']:.4g} pb; "
        f"{report['negative_after_cells_sigma_pb']:.4g} pb after cells "
        f"(statistical noise of B - S: {report['counting_error_pb']:.3g} pb)"
    )
    if "negative_written_fraction" in report:
        print(f"  written with negative weights: {report['negative_written_fraction']:.2%} of the events")
    for layout in report.get("layouts", []):
        if "label_s_mean_over_base" in layout:
            print(
                f"  layout {layout['layout']}: mean label P(S|x) over B "
                f"{layout['label_s_mean_over_base']:.4f} (sigma_S/sigma_B = {layout['alpha']:.4f}); "
                f"flows trained in {layout['train_seconds']:.1f} s"
            )
    if "refine" in report:
        print("  " + describe(report["refine"], len(out)))
    for warning in report["warnings"]:
        print(f"  warning: {warning}")
    return 0
