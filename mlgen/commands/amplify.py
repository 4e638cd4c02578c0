"""``mlgen amplify IN.lhe -o OUT.lhe.gz (-n N | --factor K) [--model flow|discflow|gan]``: more events."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from mlgen.atomic import write_text
from mlgen.commands.reports import describe_refine

HELP = "train a generator on an LHE sample and write more events (then measure G with mlgen compare)"
#: The discriminator's exponent of ``--model discflow`` when ``--adversarial`` does not give one.
DISCFLOW_WEIGHT = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="LHE file to learn from (.lhe or .lhe.gz; positive weights)")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("-n", type=int, help="number of events to write")
    size.add_argument("--factor", type=float, help="write this many times the input's number of events")
    parser.add_argument("--epochs", type=int, default=60, help="the held-out likelihood picks the best")
    parser.add_argument(
        "--model",
        choices=("flow", "discflow", "gan"),
        help="flow: a normalizing flow trained by likelihood (default); discflow: the flow with a "
        "discriminator weighing its likelihood (arXiv:2110.13632); gan: a generative adversarial network "
        "(arXiv:1907.03764; it wants more epochs than the flow, e.g. 300)",
    )
    parser.add_argument(
        "--adversarial",
        type=float,
        help=f"discflow: weigh the likelihood by (D/(1-D))^a of a discriminator (default {DISCFLOW_WEIGHT})",
    )
    parser.add_argument(
        "--refine",
        action="store_true",
        help="keep generated events by a classifier's density ratio against the input (arXiv:2009.03796)",
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda, ...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", help="write the training report (losses per epoch) as JSON here")
    parser.add_argument("--save", metavar="MODEL", help="write the trained generators (flows or GANs) here")
    parser.add_argument(
        "--load",
        metavar="MODEL",
        help="generate with these generators (--save) instead of training; --model, if given, must be theirs",
    )
    parser.add_argument("--no-progress", action="store_true")


def _adversarial(args: argparse.Namespace) -> float:
    """The discriminator's weight of the chosen model (``--adversarial`` alone still means discflow)."""
    model = args.model
    if model is None and args.adversarial:
        print(
            "mlgen amplify: --adversarial without --model is deprecated: a discriminator in the loss is the "
            "model discflow; use --model discflow --adversarial A",
            file=sys.stderr,
        )
        model = "discflow"
    if model == "gan":
        if args.adversarial:
            raise ValueError("--adversarial weighs the discriminator of --model discflow, not of --model gan")
        return 0.0
    if model == "discflow":
        weight = DISCFLOW_WEIGHT if args.adversarial is None else args.adversarial
        if not weight > 0:
            raise ValueError(f"--adversarial {weight}: --model discflow needs a discriminator weight > 0")
        return weight
    if args.adversarial:
        raise ValueError("--adversarial weighs the discriminator of --model discflow, not of --model flow")
    return 0.0


def main(args: argparse.Namespace) -> int:
    from mlgen.commands.reports import process_rows
    from mlgen.device import resolve_device
    from mlgen.generative.amplify import amplify
    from mlgen.generative.config import AmplifyConfig, GANConfig
    from mlgen.generative.persist import saved_model
    from mlgen.generative.refine import RefineConfig
    from mlgen.lhe import LHEWriter
    from mlgen.lhe.passthrough import account_for_dropped, read_events
    from mlgen.lhe.weights import per_event_pb, process_lines
    from mlgen.positive.make import process_table
    from mlgen.resample.classifier import ClassifierConfig

    info, events = read_events(args.input)
    if events is None or len(events) == 0:
        raise ValueError(f"{args.input}: no events to learn from")
    n_out = args.n if args.n is not None else int(round(args.factor * len(events)))
    if n_out < 1:
        raise ValueError(f"-n/--factor: expected at least one event to write, got {n_out}")
    if args.load and args.model is None:
        args.model = saved_model(args.load)  # the file's model, where --model names none
    gan = GANConfig() if args.model == "gan" else None
    config = AmplifyConfig(epochs=args.epochs, adversarial=_adversarial(args), seed=args.seed, gan=gan)
    bar = None
    if not args.no_progress and not args.load:
        from tqdm import tqdm

        bar = tqdm(total=args.epochs, unit="epoch", leave=False)

    def progress(epoch: int, nll: float, nll_held_out: float) -> None:
        if bar is not None:
            bar.n = epoch + 1
            bar.set_postfix(nll=f"{nll:.3f}", held_out=f"{nll_held_out:.3f}")
            bar.refresh()
            if epoch + 1 == args.epochs:
                bar.reset()

    out, report = amplify(
        events,
        info,
        n_out,
        config=config,
        device=resolve_device(args.device),
        log=print,
        progress=progress,
        save=args.save,
        load=args.load,
        refine=RefineConfig(classifier=ClassifierConfig(seed=args.seed)) if args.refine else None,
    )
    if bar is not None:
        bar.close()
    # every process's <init> line from the generated events' own weights, its error at least the input's
    w_in = per_event_pb(info, events)[0]
    ids_in = events.process_id.cpu().numpy()
    lines = process_lines(
        out.process_id.cpu().numpy(),
        out.weight.cpu().numpy() * len(out),
        unweighted=True,
        known=tuple(p.id for p in info.processes),
        errors_from=(ids_in, w_in),
    )
    run_info = dataclasses.replace(
        info, weight_strategy=3, processes=lines, generator=("mlgen amplify", info.generator[1])
    )
    run_info, dropped = account_for_dropped(run_info, events, out, "amplify (generated events)")
    with LHEWriter(args.output, run_info) as writer:
        writer.write(out)
    if args.report:
        text = json.dumps(report.to_json() | {"input": args.input, "output": args.output}, indent=1)
        write_text(args.report, text)
    shapes = {
        (line["source"], line["pole"], line["width"], line["degree"] is not None)
        for g in report.groups
        for line in g.line_shapes
    }
    if report.refine is not None:
        print(describe_refine(report.refine, len(out)))
        if report.refine.warning:
            print(f"warning: {report.refine.warning}")
    print("\n".join(process_rows(process_table(process_lines(ids_in, w_in, unweighted=False), lines))))
    for warning in dropped:
        print(f"warning: {warning}")
    for source, pole, width, fitted in sorted(shapes):
        origin = "the input's <slha>" if source == "slha" else "the sample's median, PDG width"
        shape = "fitted residual, drawn before the flow" if fitted else "quantile knots"
        print(f"line shape: pole {pole:.6g} GeV, width {width:.4g} GeV ({origin}; {shape})")
    print(
        f"{len(out)} events -> {args.output} ({report.model}; "
        f"sigma {report.sigma_pb:.6g} pb from the input's "
        + ("<init>; " if report.sigma_from == "init" else "weights, its <init> has none; ")
        + (
            f"generators from {args.load}; "
            if args.load
            else f"trained on {len(events)} in {report.train_seconds:.0f} s; "
        )
        + f"{report.rejected} generated events rejected for x > 1, outside the input's x or sqrt(s-hat) "
        "range, or a resonance below threshold). "
        f"Measure what they are worth: mlgen compare {args.output} {args.input} --truth HELD_OUT.lhe"
    )
    return 0
