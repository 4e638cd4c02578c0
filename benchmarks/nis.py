"""Neural importance sampling side by side: mlgen flow, mlgen multi-channel, vegas (VEGAS+) and madnis 1.0.0.

Every method gets the same budget of integrand calls for adaptation/training
(``--train-calls``; mlgen's VEGAS adaptation and coverage probe count in it) and
then ``--eval`` fresh points whose weights give the figures of merit:

* estimate and pull against the exact value (analytic, or for physics cases a
  high-statistics VEGAS value computed in the same run with 10x the budget);
* ``spread`` = std(w)/mean(w) of the per-point weights (what unweighting sees);
* ``eff_max`` = mean(w)/max(w) at N = ``--eval`` and ``eff_q`` with the reduced
  maximum whose overweights carry at most 0.1% of sigma;
* ``error_uncertainty``: the relative uncertainty of the weights' variance (how well
  the error bar is known; above 0.5 mlgen flags the result as heavy-tailed);
* training wall time, sampling rate (points/s including the integrand), device.

Usage (madnis lives in the benchmark's own environment, see benchmarks/README.md)::

    .venv-bench/bin/python benchmarks/nis.py --quick --json runs/nis_quick.json
    .venv-bench/bin/python benchmarks/nis.py --cases camel8,camelN8 --seeds 0,1,2 --json runs/nis.json

Not a test: nothing here asserts; it measures and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlgen.device import resolve_device  # noqa: E402
from mlgen.integrate.integrands import bw_ridge, camel, gauss, zunis_camel  # noqa: E402
from mlgen.integrate.nis import FlowSettings, flow_integrate  # noqa: E402
from mlgen.integrate.result import MAX_ERROR_UNCERTAINTY  # noqa: E402
from mlgen.integrate.train import TrainConfig  # noqa: E402
from mlgen.metrics import error_uncertainty, reduced_max  # noqa: E402
from mlgen.seeds import torch_generator  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ANALYTIC = {  # name: (dimension, (f, exact))
    "camel4": (4, lambda: camel(4, 0.2)),
    "camel8": (8, lambda: camel(8, 0.2)),
    "camel16": (16, lambda: camel(16, 0.2)),
    "camelN8": (8, lambda: camel(8, 0.1)),
    # issue 30: the i-flow camel (arXiv:2001.05486) with alpha = 0.1 in 16-d, ZueNIS' camel (s = 0.1, 8-d)
    "camelN16": (16, lambda: camel(16, 0.1)),
    "zcamel8": (8, lambda: zunis_camel(8, 0.1)),
    "gauss16": (16, lambda: gauss(16, 0.2)),
    "ridge8": (8, lambda: bw_ridge(8, 0.02)),
}
PHYSICS = {
    "dy_zprime": "cards/drell_yan_zprime.toml",
    "ee_qqg": "cards/ee_qqg.toml",
    "ttbar6": "cards/ttbar_6j.toml",
}
METHODS = ("vegas", "mlgen_flow", "mlgen_multichannel", "madnis")
#: further methods on request: the flow with a small defensive share (what safety costs), and
#: with the variance loss and no annealing (mlgen's default until 2026-12-02), and with one gradient
#: step per fresh batch (no replay from the buffer), and on top of the VEGAS grid (mlgen's default
#: until 2026-12-02; "mlgen_flow_cold" in that day's raw files is today's default), and with the
#: training's defensive shares kept (no re-choice after training; mlgen's default until 2026-12-06),
#: and with the loss fitting the whole defensive mixture instead of the flow alone (idem)
#: "mlgen_quick": flow_integrate's own result at --train-calls calls in all (VEGAS, probes, exploration,
#: training and its final iterations), as a user's quick run reports it, with its coverage verdict and
#: warnings; "mlgen_quick_noexplore" the same without the exploration (mlgen before 2026-12-07)
EXTRA_METHODS = (
    "mlgen_quick",
    "mlgen_quick_noexplore",
    "mlgen_flow_mixture",
    "mlgen_flow_d02",
    "mlgen_flow_variance",
    "mlgen_flow_noreplay",
    "mlgen_flow_warm",
    "mlgen_flow_untuned",
)


def figures(w: torch.Tensor, exact: float) -> dict[str, float]:
    w = w.double()
    mean, n = float(w.mean()), len(w)
    err = float(w.std()) / math.sqrt(n)
    return {
        "estimate": mean,
        "error": err,
        "pull": (mean - exact) / err if err > 0 else math.inf,
        "spread": float(w.std()) / mean,
        "eff_max": mean / float(w.abs().max()),
        "eff_q": mean / reduced_max(w, 1e-3),
        "error_uncertainty": error_uncertainty(w),
        "n_eval": n,
    }


def run_vegas(f: Callable, dim: int, budget: int, n_eval: int, seed: int, exact: float) -> dict:
    import gvar
    import vegas

    np.random.seed(seed)
    gvar.ranseed(seed)  # vegas draws from gvar's generator, not numpy's: without this the row changes per run

    @vegas.batchintegrand
    def fb(x: np.ndarray) -> np.ndarray:
        return f(torch.from_numpy(np.ascontiguousarray(x))).double().cpu().numpy()

    integ = vegas.Integrator([[0.0, 1.0]] * dim)
    t0 = time.perf_counter()
    integ(fb, nitn=10, neval=budget // 10)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    ws = []
    integ.set(neval=n_eval)
    for x, wgt in integ.random_batch():
        ws.append(torch.from_numpy(wgt * fb(x)))
    t_eval = time.perf_counter() - t0
    # random_batch's weights sum to the estimate over all points: N wgt f is the per-point weight
    w = torch.cat(ws)
    return figures(w * len(w), exact) | {"train_s": t_train, "rate_per_s": len(w) / t_eval}


def run_mlgen_flow(
    f: Callable,
    dim: int,
    budget: int,
    n_eval: int,
    seed: int,
    exact: float,
    device,
    defensive: float = 0.1,
    train: dict | None = None,
    warm_start: bool = False,
    tune: bool = True,
) -> dict:
    vegas_iter, vegas_n = 5, max(budget // 40, 5_000)
    probe_iter = 2
    train_calls = budget - (vegas_iter + probe_iter) * vegas_n
    settings = FlowSettings(
        vegas_adapt_iter=vegas_iter,
        vegas_per_iter=vegas_n,
        probe_iter=probe_iter,
        train=TrainConfig(n_calls=train_calls, **(train or {})),
        defensive=defensive,
        uniform=defensive / 10,
        warm_start=warm_start,
        tune_shares=tune,
        n_iter=1,
        n_per_iter=1_000,
    )
    t0 = time.perf_counter()
    result, sampler = flow_integrate(f, dim, settings, seed=seed, device=device)
    t_train = time.perf_counter() - t0
    return evaluate_sampler(f, sampler, n_eval, seed, exact, device) | {
        "train_s": t_train,
        "coverage": result.flags["coverage"]["message"],
        "confirmed": result.flags["coverage"]["confirmed"],
        "shares": result.flags.get("defensive"),
    }


def run_mlgen_quick(
    f: Callable, dim: int, budget: int, seed: int, exact: float, device, explore: bool = True
) -> dict:
    """flow_integrate's own sigma, verdict and warnings at ``budget`` calls in all."""
    vegas_n = max(budget // 50, 5_000)
    n_per_iter = max(budget // 15, 5_000)
    settings = FlowSettings(vegas_adapt_iter=5, vegas_per_iter=vegas_n, probe_iter=2, explore=explore)
    explore_calls = (
        settings.explore_starts * (settings.explore_steps + 2 + 4 * dim) + 2 * vegas_n if explore else 0
    )
    train_calls = budget - 7 * vegas_n - 4 * n_per_iter - explore_calls
    settings = FlowSettings(
        vegas_adapt_iter=5,
        vegas_per_iter=vegas_n,
        probe_iter=2,
        explore=explore,
        train=TrainConfig(n_calls=train_calls),
        n_iter=4,
        n_per_iter=n_per_iter,
    )
    t0 = time.perf_counter()
    result, _ = flow_integrate(f, dim, settings, seed=seed, device=device)
    wall = time.perf_counter() - t0
    stats = result.weight_stats
    coverage = result.flags["coverage"]
    pull = (result.mean - exact) / result.sdev if result.sdev > 0 else math.inf
    warned = "warning" in result.flags
    if abs(pull) < 4:
        outcome = "right, false alarm" if warned else "right"
    elif not warned:
        outcome = "WRONG, SILENT"
    elif result.mean < exact and coverage["verdict"] in ("low", "unknown"):
        outcome = f"wrong, flagged {coverage['verdict']}"
    elif result.mean > exact and coverage["verdict"] == "unknown":
        outcome = "wrong, flagged unknown"
    else:
        outcome = f"wrong, MISDIAGNOSED ({coverage['verdict']})"
    return {
        "estimate": result.mean,
        "error": result.sdev,
        "pull": pull,
        "spread": stats.get("spread", math.nan),
        "eff_max": stats.get("eff_max", math.nan),
        "eff_q": stats.get("eff_q", math.nan),
        "error_uncertainty": stats.get("error_uncertainty", math.nan),
        "train_s": wall,
        "rate_per_s": result.n_eval / wall,
        "n_eval": result.n_eval,
        "coverage": coverage["message"],
        "verdict": coverage["verdict"],
        "confirmed": coverage["confirmed"],
        "warning": result.flags.get("warning", ""),
        "outcome": outcome,
    }


def evaluate_sampler(f: Callable, sampler, n_eval: int, seed: int, exact: float, device) -> dict:
    g = torch_generator(seed + 1000, device)
    t0 = time.perf_counter()
    ws = []
    for start in range(0, n_eval, 100_000):
        u, log_q = sampler.sample(min(100_000, n_eval - start), g)
        ws.append((f(u) * torch.exp(-log_q)).cpu())
    t_eval = time.perf_counter() - t0
    return figures(torch.cat(ws), exact) | {"rate_per_s": n_eval / t_eval}


def run_madnis(f: Callable, dim: int, budget: int, n_eval: int, seed: int, exact: float) -> dict:
    from madnis.integrator import Integrator

    torch.manual_seed(seed)

    def fm(x: torch.Tensor) -> torch.Tensor:
        return f(x.double()).to(x.dtype)

    integrator = Integrator(fm, dims=dim)
    t0 = time.perf_counter()
    integrator.train(budget // integrator.batch_size)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    batch = integrator.sample(n_eval)
    t_eval = time.perf_counter() - t0
    return figures(batch.weights.double(), exact) | {"train_s": t_train, "rate_per_s": n_eval / t_eval}


def physics_case(name: str, device):
    from mlgen.cards import load_card
    from mlgen.process.build import build_process

    card = load_card(ROOT / PHYSICS[name], ["run.device=cpu"])
    return card, build_process(card, device)


def reference_value(process, dim: int, budget: int, seed: int, device) -> tuple[float, float]:
    from mlgen.integrate.loop import vegas_integrate

    # VEGAS adaptation, then 10 frozen-grid iterations: the reference costs 10x the budget
    result, _ = vegas_integrate(
        process, dim, n_adapt_iter=10, n_per_iter=budget // 2, n_iter=10, seed=seed + 99, device=device
    )
    return result.mean, result.sdev


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="camel4,camel8,camelN8,gauss16,ridge8,dy_zprime,ttbar6")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--train-calls", type=int, default=1_000_000)
    parser.add_argument("--eval", type=int, default=1_000_000, dest="n_eval")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="200k training calls, 200k points, one seed")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_calls, args.n_eval, args.seeds = 200_000, 200_000, "0"
    device = resolve_device(args.device)
    methods = args.methods.split(",")
    try:
        import madnis  # noqa: F401
    except ImportError:
        if "madnis" in methods:
            print("madnis is not importable here: skipped (see benchmarks/README.md for its environment)")
            methods.remove("madnis")
    # the first torch optimizer imports torch._dynamo (~1 s, once per process): madnis pays it building
    # its optimizer outside its timed training, mlgen inside; paid here, neither case's timing carries it
    import torch._dynamo  # noqa: F401

    rows = []
    machine = f"{os.cpu_count()} CPU cores, torch {torch.__version__}, device {device}" + (
        f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""
    )
    for case in args.cases.split(","):
        if case in ANALYTIC:
            dim, make = ANALYTIC[case]
            (f, exact), exact_err, process = make(), 0.0, None
        elif case in PHYSICS:
            _, process = physics_case(case, device)
            f, dim = process, process.dim
            exact, exact_err = reference_value(process, dim, 2 * args.train_calls, 0, device)
        else:
            raise SystemExit(f"unknown case {case!r}; expected one of {', '.join([*ANALYTIC, *PHYSICS])}")
        for seed in (int(s) for s in args.seeds.split(",")):
            for method in methods:
                t0 = time.perf_counter()
                if method == "vegas":
                    row = run_vegas(f, dim, args.train_calls, args.n_eval, seed, exact)
                elif method == "mlgen_flow":
                    row = run_mlgen_flow(f, dim, args.train_calls, args.n_eval, seed, exact, device)
                elif method in ("mlgen_quick", "mlgen_quick_noexplore"):
                    explore = method == "mlgen_quick"
                    row = run_mlgen_quick(f, dim, args.train_calls, seed, exact, device, explore)
                elif method == "mlgen_flow_d02":
                    row = run_mlgen_flow(f, dim, args.train_calls, args.n_eval, seed, exact, device, 0.02)
                elif method == "mlgen_flow_variance":
                    train = dict(anneal=0.0)
                    row = run_mlgen_flow(
                        f, dim, args.train_calls, args.n_eval, seed, exact, device, train=train
                    )
                elif method == "mlgen_flow_noreplay":
                    train = dict(replay=0)
                    row = run_mlgen_flow(
                        f, dim, args.train_calls, args.n_eval, seed, exact, device, train=train
                    )
                elif method == "mlgen_flow_mixture":
                    train = dict(fit="mixture")
                    row = run_mlgen_flow(
                        f, dim, args.train_calls, args.n_eval, seed, exact, device, train=train
                    )
                elif method == "mlgen_flow_untuned":
                    row = run_mlgen_flow(
                        f, dim, args.train_calls, args.n_eval, seed, exact, device, tune=False
                    )
                elif method == "mlgen_flow_warm":
                    row = run_mlgen_flow(
                        f, dim, args.train_calls, args.n_eval, seed, exact, device, warm_start=True
                    )
                elif method == "mlgen_multichannel":
                    if process is None:
                        continue  # no propagator structure: nothing to build channels from
                    row = run_multichannel(process, args.train_calls, args.n_eval, seed, exact, device)
                elif method == "madnis":
                    row = run_madnis(f, dim, args.train_calls, args.n_eval, seed, exact)
                else:
                    known = ", ".join(METHODS + EXTRA_METHODS)
                    raise SystemExit(f"unknown method {method!r}; expected one of {known}")
                if exact_err:
                    row["pull"] = (row["estimate"] - exact) / math.hypot(row["error"], exact_err)
                row |= {
                    "case": case,
                    "method": method,
                    "seed": seed,
                    "exact": exact,
                    "wall_s": time.perf_counter() - t0,
                }
                rows.append(row)
                print(
                    f"{case:10s} {method:19s} seed {seed}: {row['estimate']:.6g} +- {row['error']:.2g} "
                    f"(exact {exact:.6g}, pull {row['pull']:+.1f})  spread {row['spread']:.3g}  "
                    f"eff_max {row['eff_max']:.3g}  eff_q {row['eff_q']:.3g}  train {row['train_s']:.1f} s  "
                    f"{row['rate_per_s']:.3g} pts/s  err.unc {row['error_uncertainty']:.2f}"
                    + ("" if row.get("confirmed", True) else "  [FLAGGED]")
                    + (f"  {row['outcome']} ({row['verdict']})" if "outcome" in row else "")
                    + ("  [HEAVY TAIL]" if row["error_uncertainty"] > MAX_ERROR_UNCERTAINTY else "")
                    + (
                        f"  shares {row['shares']['defensive']:g}/{row['shares']['uniform']:g}"
                        if row.get("shares")
                        else ""
                    ),
                    flush=True,
                )
    tally: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        if "outcome" in row:
            counts = tally.setdefault((row["case"], row["method"]), {})
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    for (case, method), counts in tally.items():
        print(f"{case:10s} {method:22s} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"\nmachine: {machine}; training budget {args.train_calls} calls, {args.n_eval} evaluation points")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"machine": machine, "args": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=1
            )
        )
    return 0


def multichannel_settings(budget: int) -> FlowSettings:
    """The multi-channel flow's settings for ``budget`` integrand calls (VEGAS warm start, probe included)."""
    vegas_iter, vegas_n = 5, max(budget // 40, 5_000)
    probe_iter = 2
    return FlowSettings(
        vegas_adapt_iter=vegas_iter,
        vegas_per_iter=vegas_n,
        probe_iter=probe_iter,
        train=TrainConfig(n_calls=budget - (vegas_iter + probe_iter) * vegas_n, batch=4_000),
        n_iter=1,
        n_per_iter=1_000,
    )


def run_multichannel(process, budget: int, n_eval: int, seed: int, exact: float, device) -> dict:
    from mlgen.integrate.multichannel import multichannel_integrate
    from mlgen.process.channels import MultiChannelProcess

    settings = multichannel_settings(budget)
    t0 = time.perf_counter()
    channels = MultiChannelProcess(process)
    result, sampler = multichannel_integrate(channels, settings, seed=seed, device=device)
    mc = sampler.integrand(channels)
    t_train = time.perf_counter() - t0
    return evaluate_sampler(mc, sampler, n_eval, seed, exact, device) | {
        "train_s": t_train,
        "coverage": result.flags["coverage"]["message"],
        "confirmed": result.flags["coverage"]["confirmed"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
