"""``integrator.kind = "auto"`` against kind ``vegas`` at the same budget: what it chose, its wall time,
its sigma and the wall time it would need for VEGAS's relative error.

Cases: Drell-Yan at 13 TeV with the standard lepton cuts (pT > 25 GeV, |eta| < 2.5, 60 < m_ll < 120
GeV, scales m_ll; the quadrature of ``tests/process/quadrature.py`` as reference), the same with the
integrand made to cost ``--slow`` microseconds more a call (a matrix element's price, by sleeping),
and the analytic integrands of ``benchmarks/nis.py`` (i-flow's camels and Gaussian, ZueNIS' camel).

"Time to VEGAS's precision" scales a run's final iterations by ``(r / r_vegas)^2`` and keeps what came
before them (adaptation, exploration, training): ``t_fixed + t_final (r / r_vegas)^2``. A wrong
result (``|pull| >= 4`` against the exact or reference value) has no time to a precision.

    OMP_NUM_THREADS=1 python benchmarks/auto.py --cases dy_cuts,camel4 --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.nis import ANALYTIC  # noqa: E402
from mlgen.integrate.base import Budget  # noqa: E402
from mlgen.integrate.kinds import AutoIntegrator, VegasIntegrator, kind_of  # noqa: E402
from mlgen.integrate.nis import FlowSettings  # noqa: E402

DY_CUTS = """
[process]
matrix_element = "drell_yan"
[beams]
sqrt_s = 13000.0
[pdf]
set = "NNPDF23_lo_as_0130_qed"
[scales]
mu_f = "m_ll"
mu_r = "m_ll"
variations = false
[[cuts]]
observable = "m"
objects = "leptons"
min = 60.0
max = 120.0
[[cuts]]
observable = "pt"
objects = "leptons"
min = 25.0
[[cuts]]
observable = "abs_eta"
objects = "leptons"
max = 2.5
"""


def slowed(f, seconds_per_call: float):
    def g(u: torch.Tensor) -> torch.Tensor:
        time.sleep(seconds_per_call * len(u))
        return f(u)

    return g


def case(name: str, slow_us: float):
    if name.startswith("dy_cuts"):
        from mlgen.cards import parse_card
        from mlgen.process.build import build_process

        from tests.process import quadrature

        process = build_process(parse_card(DY_CUTS))
        f = slowed(process, slow_us * 1e-6) if name == "dy_cuts_slow" else process
        window = dict(pt_min=25.0, eta_max=2.5, n_m=300, n_y=600)
        exact = quadrature.drell_yan(process.pdf, 13000.0, 60.0, 120.0, **window)
        return f, process.dim, exact
    dim, make = ANALYTIC[name]
    f, exact = make()
    return f, dim, exact


def run(kind: str, f, dim: int, budget: Budget, seed: int, exact: float, vegas_rel: float | None) -> dict:
    integrator = VegasIntegrator() if kind == "vegas" else AutoIntegrator(FlowSettings())
    start = time.perf_counter()
    result, sampler = integrator.fit(f, dim, budget, seed)
    wall = time.perf_counter() - start
    rel = result.sdev / abs(result.mean)
    pull = (result.mean - exact) / result.sdev
    chosen = kind_of(sampler)
    row = {
        "kind": kind,
        "chosen": chosen,
        "wall_s": wall,
        "mean": result.mean,
        "sdev": result.sdev,
        "rel": rel,
        "pull": pull,
        "warning": result.flags.get("warning", ""),
        "reason": result.flags.get("auto", {}).get("reason", ""),
        "n_eval": result.n_eval,
    }
    if vegas_rel is not None and abs(pull) < 4:
        # the final iterations' share of the wall time: their calls at the sampler's cost per point
        u, _ = sampler.sample(20_000, torch.Generator().manual_seed(0))
        t0 = time.perf_counter()
        sampler.sample(20_000, torch.Generator().manual_seed(1))
        f(u)
        per_point = (time.perf_counter() - t0) / 20_000
        final = min(budget.n_iter * budget.n_per_iter * per_point, wall)
        row["to_vegas_precision_s"] = wall - final + final * (rel / vegas_rel) ** 2
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="dy_cuts,camel4,gauss16,zcamel8,camelN16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", default="5,20000,5", help="n_adapt_iter,n_per_iter,n_iter")
    parser.add_argument("--slow", type=float, default=100.0, help="us added per call in dy_cuts_slow")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    budget = Budget(*(int(x) for x in args.budget.split(",")))
    rows = []
    for name in args.cases.split(","):
        f, dim, exact = case(name, args.slow)
        for seed in (int(s) for s in args.seeds.split(",")):
            vegas = run("vegas", f, dim, budget, seed, exact, None)
            vegas_rel = vegas["rel"] if abs(vegas["pull"]) < 4 else None
            if vegas_rel is not None:
                vegas["to_vegas_precision_s"] = vegas["wall_s"]
            auto = run("auto", f, dim, budget, seed, exact, vegas_rel)
            for row in (vegas, auto):
                row |= {"case": name, "seed": seed}
                rows.append(row)
                to = row.get("to_vegas_precision_s")
                print(
                    f"{name:12s} seed {seed} {row['kind']:5s} -> {row['chosen']:12s} "
                    f"{row['mean']:.6g} +- {row['sdev']:.2g} (pull {row['pull']:+.1f}) "
                    f"wall {row['wall_s']:.2f} s"
                    + (f", to VEGAS's {vegas_rel:.2%}: {to:.2f} s" if to is not None and vegas_rel else "")
                    + ("  [WARNING]" if row["warning"] else ""),
                    flush=True,
                )
            if auto["reason"]:
                print(f"    auto: {auto['reason']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"budget": args.budget, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
