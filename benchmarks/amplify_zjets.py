"""Amplify MadGraph5's Z + jets MLM sample ten times, shower it with Pythia 8, compare it with the input.

    python benchmarks/amplify_zjets.py [--factor 10] [--shower-events N] [--json OUT]

The input is ``../shared/data/lhe/pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz``
(10^4 unweighted events, Z + 0, 1, 2 partons). ``mlgen amplify`` (the command line) trains one
generator per multiplicity and writes ``factor`` times as many events; Pythia 8
showers and hadronises them (errors and aborts counted); ``mlgen compare``
then sets the amplified sample against the input: per observable the
chi2/ndf, the largest pull and the bins beyond 3 sigma (both samples'
statistical errors), the classifier AUC and its null. There is no truth sample
larger than the input, so G cannot be measured here (``benchmarks/amplify.py``
does that on mlgen's own samples). Not a test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from mlgen.cli import main as cli
from mlgen.generative import AmplifyConfig, compare_samples
from mlgen.lhe import read_lhe
from mlgen.shower import shower_lhe

ROOT = Path(__file__).resolve().parents[1]
ZJETS = ROOT.parent / "shared" / "data" / "lhe" / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
#: the observables the issue names: the lepton pair's mass and pT, the jet multiplicity
KEY = ("m_leptons [GeV]", "pT_leptons (system) [GeV]", "n_jets")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=AmplifyConfig.epochs)
    parser.add_argument("--shower-events", type=int, help="shower only the first N (default: all)")
    parser.add_argument("--plots", type=Path, help="directory for the comparison's PNGs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    _, events = read_lhe(ZJETS)
    with tempfile.TemporaryDirectory() as tmp:
        path, report_path = Path(tmp) / "zjets_x10.lhe.gz", Path(tmp) / "report.json"
        argv = ["amplify", str(ZJETS), "-o", str(path), "--factor", str(args.factor)]
        t0 = time.perf_counter()
        assert cli([*argv, "--epochs", str(args.epochs), "--report", str(report_path), "--no-progress"]) == 0
        seconds = time.perf_counter() - t0
        report = json.loads(report_path.read_text())
        _, out = read_lhe(path)
        t1 = time.perf_counter()
        shower = shower_lhe(path, args.shower_events)
        shower_seconds = time.perf_counter() - t1
    print(shower.summary(), f"({shower_seconds:.0f} s)", flush=True)
    comparison = compare_samples(out, events, out_dir=args.plots, labels=("amplified", "MadGraph5")).to_json()
    for name, row in comparison["observables"].items():
        mark = "  <-" if name in KEY else ""
        print(
            f"{name:28s} chi2/ndf {row['chi2_ndf']:5.2f}  max |pull| {row['max_abs_pull']:4.2f}  "
            f"bins > 3 sigma {row['bins_over_3_sigma']}{mark}"
        )
    auc = comparison["classifier"]
    print(f"classifier AUC {auc['auc']:.3f} (null {auc['auc_null']:.3f})")
    rejected = sum(g["rejected"] for g in report["groups"])
    print(
        f"amplify: {len(events)} -> {len(out)} events in {seconds:.0f} s "
        f"({rejected} generated events rejected); layouts: "
        + ", ".join(f"{g['n_train']} -> {g['n_generated']}" for g in report["groups"])
    )
    if args.json:
        summary = {
            "factor": args.factor,
            "epochs": args.epochs,
            "n_input": len(events),
            "n_out": len(out),
            "amplify_seconds": seconds,
            "rejected": rejected,
            "layouts": [{k: v for k, v in g.items() if k != "losses"} for g in report["groups"]],
            "shower": shower.to_dict() | {"seconds": shower_seconds},
            "compare": {k: v for k, v in comparison.items() if k != "plots"},
        }
        args.json.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
