"""``mlgen subtract B.lhe S.lhe -o OUT.lhe.gz [-n N]``: unweighted events of B - S, sigma = sigma_B - sigma_S.

``--method classifier`` (default) keeps B's events in proportion to their
share of B - S (at most as many as B has); ``--method flow`` (formerly
``generator``) fits two flows to B and S as a mixture with the class fractions fixed to
sigma_S/sigma_B and samples the B - S flow, any number of events; ``--method gan`` trains the
subtraction GAN of arXiv:1912.08824 and writes its B - S-labelled events, any number. A classifier of S against B
runs in both and reports regions where B - S < 0, never dropped silently
(:mod:`mlgen.generative.subtract`). Writes ``OUT.subtract.json`` next to the output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlgen.atomic import write_text
from mlgen.commands import classifier_options
from mlgen.commands.reports import describe_refine, renamed

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
        choices=("classifier", "flow", "gan", "generator"),
        default="classifier",
        help="classifier: B's events, kept by their share of B - S; flow: a mixture of flows, any number of "
        "events; gan: the subtraction GAN (arXiv:1912.08824), any number of events (generator: the former "
        "name of flow, deprecated)",
    )
    parser.add_argument("--epochs", type=int, default=100, help="classifier epochs (early stopping)")
    classifier_options.add_arguments(parser, "classifier")
    parser.add_argument(
        "--flow-epochs", type=int, default=30, help="flow: epochs of the mixture's likelihood"
    )
    parser.add_argument(
        "--warm-epochs", type=int, default=30, help="flow: epochs with the classifier's class labels"
    )
    parser.add_argument(
        "--gan-epochs", type=int, default=100, help="gan: epochs over B (a held-out chi2 picks the best)"
    )
    parser.add_argument(
        "--refine",
        action="store_true",
        help="flow, gan: keep generated events by a classifier's density ratio against the classifier "
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


def _method(args: argparse.Namespace) -> str:
    """The route, its options checked against it."""
    method = args.method
    if method == "generator":
        method = renamed("subtract", "--method", "generator", "flow", "the mixture of normalizing flows")
    if args.n is not None and args.n < 1:
        raise ValueError(f"-n: expected at least one event, got {args.n}")
    if args.warm_epochs < 0:
        raise ValueError(f"--warm-epochs: expected a number of epochs >= 0, got {args.warm_epochs}")
    if args.refine and method == "classifier":
        raise ValueError("--refine needs --method flow or gan: the classifier route writes B's own events")
    if args.gan_epochs < 1:
        raise ValueError(f"--gan-epochs: expected a number of epochs >= 1, got {args.gan_epochs}")
    if args.keep_negative and method != "classifier":
        raise ValueError(
            "--keep-negative needs --method classifier: the generators' events are unweighted, they "
            "cannot carry a negative B - S"
        )
    return method


def main(args: argparse.Namespace) -> int:
    from mlgen.device import resolve_device
    from mlgen.generative.config import AmplifyConfig, GANConfig
    from mlgen.generative.refine import RefineConfig
    from mlgen.generative.subtract import subtract
    from mlgen.lhe import LHEWriter
    from mlgen.lhe.passthrough import account_for_dropped, read_events
    from mlgen.resample.classifier import ClassifierConfig

    method = _method(args)
    # S is often nearly B: the ratio's small variations need small steps and late stopping
    config = classifier_options.config(
        ClassifierConfig, args, epochs=args.epochs, batch=512, lr=1e-3, patience=15, seed=args.seed
    )
    (info_b, b), (info_s, s) = read_events(args.base), read_events(args.sub)
    for path, events in ((args.base, b), (args.sub, s)):
        if events is None or len(events) == 0:
            raise ValueError(f"{path}: no events")
    assert b is not None and s is not None
    try:
        out, run_info, report = subtract(
            (info_b, b),
            (info_s, s),
            method=method,
            n_out=args.n,
            config=config,
            generator=(
                AmplifyConfig(epochs=args.gan_epochs, seed=args.seed, gan=GANConfig())
                if method == "gan"
                else AmplifyConfig(epochs=args.flow_epochs, seed=args.seed)
            ),
            warm_epochs=args.warm_epochs,
            negative="keep" if args.keep_negative else "drop",
            refine=RefineConfig(classifier=config) if args.refine else None,
            device=str(resolve_device(args.device)),
        )
    except ValueError as err:  # name the files the complaint is about, and the option
        message = str(err).replace("n_out:", "-n:")
        raise ValueError(f"B = {args.base}, S = {args.sub}: {message}") from err
    run_info, dropped = account_for_dropped(run_info, b, out, f"subtract ({method})")
    with LHEWriter(args.output, run_info) as writer:
        writer.write(out)
    data = report.to_json() | {"base": args.base, "sub": args.sub, "output": args.output}
    target = Path(str(args.output).removesuffix(".gz").removesuffix(".lhe") + ".subtract.json")
    write_text(target, json.dumps(data, indent=1))
    c = report.classifier
    print(
        f"B - S: sigma = {report.sigma_pb:.6g} +- {report.error_pb:.3g} pb "
        f"({report.sigma_base_pb:.6g} - {report.sigma_subtracted_pb:.6g}); {len(out)} unweighted "
        f"events ({report.method}; {report.n_base} in B) -> {args.output} ({report.seconds:.1f} s)\n"
        f"  negative weights of the learnt difference: {c.negative_weights_fraction:.1%} of B's "
        f"events, {c.negative_weights_sigma_pb:.4g} pb; "
        f"{c.negative_after_cells_sigma_pb:.4g} pb after cells "
        f"(statistical noise of B - S: {report.counting_error_pb:.3g} pb)"
    )
    if report.negative_written_fraction is not None:
        print(f"  written with negative weights: {report.negative_written_fraction:.2%} of the events")
    for layout in report.layouts or []:
        if layout.label_s_mean_over_base is not None:
            print(
                f"  layout {layout.layout}: mean label P(S|x) over B "
                f"{layout.label_s_mean_over_base:.4f} (sigma_S/sigma_B = {layout.alpha:.4f}); "
                f"flows trained in {layout.train_seconds:.1f} s"
            )
        if layout.label_s_mean_generated is not None:
            print(
                f"  layout {layout.layout}: mean class assignment f(c) over the GAN's events "
                f"{layout.label_s_mean_generated:.4f} (sigma_S/sigma_B = {layout.alpha:.4f}); "
                f"GAN trained in {layout.train_seconds:.1f} s"
            )
    if report.refine is not None:
        print("  " + describe_refine(report.refine, len(out)))
    for warning in dropped:
        print("  warning: " + warning)
    for warning in report.warnings:  # the library names its argument, the user typed the option
        print("  warning: " + warning.replace("negative='keep'", "--keep-negative"))
    return 0
