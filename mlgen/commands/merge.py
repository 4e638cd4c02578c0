"""``mlgen merge A.lhe B.lhe ... -o OUT.lhe.gz``: one weighted sample whose cross section is the sum.

Each input's weights are read in its own convention (pb per event, or a share
of sigma) and rescaled so that the merged file's mean weight is the summed
cross section; ``--scale 1/k`` averages ``k`` shards of one run instead.
Example: the squared photon and Z amplitudes plus their signed interference,
generated as three runs, merge into Drell-Yan with negative weights.
"""

from __future__ import annotations

import argparse

HELP = "merge LHE samples into one weighted sample (cross sections add)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="LHE files (.lhe or .lhe.gz) of the same beams")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    parser.add_argument(
        "--scale",
        type=_number,
        default=1.0,
        help="multiply every weight by this number or fraction (1/k for k shards of one run)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffle of the merged events")


def _number(text: str) -> float:
    """A number or a fraction ``a/b`` (``--scale 1/4``)."""
    top, slash, bottom = text.partition("/")
    try:
        value = float(top) / float(bottom) if slash else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected a number or a fraction such as 1/4, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive factor, got {text!r}")
    return value


def main(args: argparse.Namespace) -> int:
    from mlgen.lhe.merge import merge_lhe
    from mlgen.positive.summary import summarize

    run_info, merged = merge_lhe(args.inputs, args.output, scale=args.scale, seed=args.seed)
    summary = summarize(merged.weight.numpy())
    # the numbers printed are the <init> block's: sigma and its error from the same weights, one way
    print(
        f"{len(merged)} events of {len(args.inputs)} files -> {args.output}: sigma = "
        f"{run_info.xsec_pb:.6g} +- {run_info.error_pb:.3g} pb, r- = {summary.r_minus:.4f}, "
        f"N_eff = {summary.n_eff:.4g}"
    )
    for line in run_info.processes:
        print(f"  process {line.id}: sigma = {line.xsec_pb:.6g} +- {line.error_pb:.3g} pb")
    return 0
