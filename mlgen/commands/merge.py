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
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every weight (1/k for k shards)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffle of the merged events")


def main(args: argparse.Namespace) -> int:
    from mlgen.lhe.merge import merge_lhe
    from mlgen.positive.summary import summarize

    run_info, merged = merge_lhe(args.inputs, args.output, scale=args.scale, seed=args.seed)
    summary = summarize(merged.weight.numpy())
    print(f"{len(merged)} events of {len(args.inputs)} files -> {args.output}: {summary.line()}")
    return 0
