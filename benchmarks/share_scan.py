"""What the defensive shares cost: one trained flow, evaluated with several (grid, uniform) shares.

Trains mlgen's flow once with nis.py's budget split (its defaults: fitted alone, shares re-chosen
after training), prints the shares it chose with their estimates, then evaluates 10^6 fresh points
for each pair of shares, so the estimates of ``mlgen.integrate.defensive`` can be checked against
measured weight spreads and unweighting efficiencies.

    .venv-bench/bin/python benchmarks/share_scan.py camel8 > benchmarks/results/…_share_scan_camel8.log
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import nis as bench  # noqa: E402

from mlgen.integrate.nis import FlowSettings, flow_integrate  # noqa: E402
from mlgen.integrate.train import TrainConfig  # noqa: E402

SHARES = [(0.1, 0.01), (0.05, 0.005), (0.02, 0.005), (0.01, 0.005), (0.0, 0.005), (0.0, 0.01), (0.0, 0.02)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=sorted(bench.ANALYTIC))
    parser.add_argument("--train-calls", type=int, default=1_000_000)
    parser.add_argument("--eval", dest="n_eval", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dim, make = bench.ANALYTIC[args.case]
    f, exact = make()
    vegas_n = args.train_calls // 40
    settings = FlowSettings(
        vegas_adapt_iter=5,
        vegas_per_iter=vegas_n,
        probe_iter=2,
        train=TrainConfig(n_calls=args.train_calls - 7 * vegas_n),
        n_iter=1,
        n_per_iter=1_000,
    )
    t0 = time.perf_counter()
    result, sampler = flow_integrate(f, dim, settings, seed=args.seed)
    print(args.case, "train", time.perf_counter() - t0, result.flags["defensive"], flush=True)
    for grid_share, uniform_share in SHARES:
        sampler.set_shares(grid_share, uniform_share)
        row = bench.evaluate_sampler(f, sampler, args.n_eval, args.seed, exact, "cpu")
        print(
            f"{args.case} {grid_share} {uniform_share} spread {row['spread']:.3f} "
            f"eff_q {row['eff_q']:.3f} pull {row['pull']:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
