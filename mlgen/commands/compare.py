"""``mlgen compare A.lhe B.lhe [--truth T.lhe]``: histograms with ratios, a classifier test, amplification."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlgen.atomic import write_text

HELP = "compare two LHE samples: histograms with ratio panels, classifier AUC, amplification factor"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="the sample to judge (e.g. generated), .lhe or .lhe.gz")
    parser.add_argument("b", help="the reference (e.g. the training sample)")
    parser.add_argument("--truth", help="a large independent sample of the same process (for G)")
    parser.add_argument("--n-train", type=int, help="training-sample size for G (default: the size of B)")
    parser.add_argument("-o", "--output-dir", default="compare", help="where the PNGs and compare.json go")
    parser.add_argument("--bins", type=int, default=30)
    parser.add_argument("--max-events", type=int, help="read at most this many events of each file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--labels",
        metavar="A,B",
        type=_labels,
        help="legend labels of A and B (default: the shortest ends of their paths that differ, "
        "e.g. flow/events and vegas/events)",
    )


def main(args: argparse.Namespace) -> int:
    from mlgen.generative.compare import compare_samples
    from mlgen.lhe import read_lhe

    def read(path: str):
        return read_lhe(path, max_events=args.max_events)[1]

    a, b = read(args.a), read(args.b)
    truth = read(args.truth) if args.truth else None
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = args.labels or path_labels(args.a, args.b)
    report = compare_samples(
        a,
        b,
        truth,
        out_dir=out,
        labels=labels,
        n_bins=args.bins,
        n_train=args.n_train,
    )
    data = report.to_json() | {"a": args.a, "b": args.b, "truth": args.truth, "labels": list(labels)}
    write_text(out / "compare.json", json.dumps(data, indent=2))
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{len(a)} events of {args.a} vs {len(b)} of {args.b}" + (f", truth {len(truth)}" if truth else ""))
    for name, row in report.observables.items():
        print(
            f"  {name:32s} chi2/ndf = {row.chi2:.1f}/{row.ndf}  max |pull| = {row.max_abs_pull:.2f}"
            f"  bins > 3 sigma: {row.bins_over_3_sigma}"
        )
        for atom in row.atoms:
            print(
                f"  {'':32s} at {atom.value:.6g}: "
                f"{atom.share_a:.2%} +- {atom.share_a_err:.2%} of {labels[0]}, "
                f"{atom.share_b:.2%} +- {atom.share_b_err:.2%} of {labels[1]} (pull {atom.pull:+.1f})"
            )
    print(f"classifier AUC = {report.auc:.3f} (null, same sample split: {report.auc_null:.3f})")
    for f in report.amplification or []:
        if f.flag:
            if f.region == "bulk":  # one line for both regions
                print(f"  G[{f.observable}] not computed: {f.flag}")
            continue
        print(
            f"  G[{f.observable}, {f.region}] = {f.g:.2f} +- {f.g_err:.2f}"
            f" (16% bound {f.g_low:.2f})" + (" saturated by the truth's size" if f.saturated else "")
        )
    print(f"plots and compare.json -> {out}")
    return 0


def _labels(text: str) -> tuple[str, str]:
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"expected two labels A,B, got {text!r}")
    return parts[0], parts[1]


def path_labels(a: str, b: str) -> tuple[str, str]:
    """Legend labels for two files: the file names without ``.lhe(.gz)`` when they differ, else the
    shortest ends of the paths that do (two runs' ``events.lhe.gz``: ``flow/events``, ``vegas/events``).

    >>> path_labels("runs/flow/events.lhe.gz", "runs/vegas/events.lhe.gz")
    ('flow/events', 'vegas/events')
    """

    def parts(path: str) -> list[str]:
        p = Path(path).absolute()
        return [*p.parent.parts, p.name.removesuffix(".gz").removesuffix(".lhe")]

    pa, pb = parts(a), parts(b)
    for k in range(1, max(len(pa), len(pb)) + 1):
        la, lb = "/".join(pa[-k:]), "/".join(pb[-k:])
        if la != lb:
            return la, lb
    return f"{a} (A)", f"{b} (B)"
