"""PDF evaluations per second: mlgen (batched, all flavours at once) against Pythia 8's
point-by-point ``xf`` on the same points, side by side in one run.

    python benchmarks/pdf.py [--set NNPDF31_nnlo_as_0118_luxqed] [--points 200000] [--json OUT]

A "flavour set" is all flavours of the grid at one (x, Q^2). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mlgen.pdf import load
from mlgen.pdf.locate import pythia_pdfdata


def best_of(f, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="NNPDF31_nnlo_as_0118_luxqed")
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--pythia-points", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pdf = load(args.set)
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(np.log(pdf.x_min), np.log(0.9), args.points))
    q2 = np.exp(rng.uniform(np.log(pdf.q2_min), np.log(min(pdf.q2_max, 1e8)), args.points))
    rows = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        xt = torch.from_numpy(x).to(device)
        qt = torch.from_numpy(q2).to(device)
        pdf.xfxQ2_all(xt, qt)  # warm-up: tables onto the device
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def run(xt=xt, qt=qt, sync=sync) -> None:
            pdf.xfxQ2_all(xt, qt)
            sync()

        rate = args.points / best_of(run, args.repeat)
        rows.append({"engine": "mlgen", "device": device, "flavour_sets_per_s": rate})
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    pythia.readString(f"PDF:pSet = LHAGrid1:{pythia_pdfdata() / (args.set + '_0000.dat')}")
    ref = pythia.getPDFPtr(2212)
    n = args.pythia_points
    xs, qs = x[:n].tolist(), q2[:n].tolist()

    def run_pythia() -> None:
        for a, b in zip(xs, qs):
            for pid in pdf.pids:
                ref.xf(pid, a, b)

    rows.append(
        {"engine": "pythia8 xf", "device": "cpu", "flavour_sets_per_s": n / best_of(run_pythia, args.repeat)}
    )
    pythia_rate = rows[-1]["flavour_sets_per_s"]
    for row in rows:
        row["ratio_to_pythia"] = row["flavour_sets_per_s"] / pythia_rate
        print(
            f"{row['engine']:12s} {row['device']:5s} {row['flavour_sets_per_s']:12.4g} flavour sets/s  "
            f"x{row['ratio_to_pythia']:.1f} Pythia"
        )
    meta = {
        "set": args.set,
        "n_flavours": len(pdf.pids),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    print(meta)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
