"""The generative models side by side on one training sample: flow, flow with a discriminator, GAN.

    python benchmarks/generative.py [--cases toy ttbar dy] [--models flow discflow gan] [--seeds 1 2 3]
                                    [--n-train 1000] [--gan-epochs 150] [--json OUT]

Per case and seed, one training sample, and every model trained on it and generating the same
number of events. Not a test.

* ``toy``: the 2-d correlated two-peak toy of ``tests/generative/test_gan.py`` (p p -> mu mu at a
  fixed mass; rapidity y and cos(theta) c from two Gaussians), exact per bin: chi2/ndf of the
  generated (y, c) histogram against the exact bins with the band of a truth sample of the training
  size (1 for a sample as good as the training sample, below for a better one), its largest pull,
  G = n_equiv / n_train (quantile MSE, arXiv:2008.06545) in the bulk and the tails of y and c
  against 10^6 exact draws, training seconds. Every model with ``knots=6`` (the coarse feature map
  leaves the shape to the network).
* ``ttbar``, ``dy``: mlgen's own t tbar -> 6 partons and Drell-Yan (``benchmarks/amplify.py``'s
  samples): classifier AUC against a held-out truth with its null, chi2/ndf of the standard
  observables, G per observable, the t, W (Z) peaks fitted in generated, training and truth events.
* ``zjets``: a file mlgen did not write, MadGraph5's Z + 0, 1, 2 jets (MLM, 10^4 events,
  ``../shared/data/lhe``): per seed a random ``n_train`` of its events train, the rest are the truth
  (the file holds too few for ``--truth-factor``); the same figures, the Z peak from the file's
  ``<slha>`` pole and width.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the toy lives with its test

from mlgen.generative import AmplifyConfig, amplify, compare_samples  # noqa: E402
from mlgen.generative.config import GANConfig  # noqa: E402
from mlgen.generative.quality import amplification_factor  # noqa: E402
from mlgen.seeds import numpy_rng  # noqa: E402
from tests.generative.test_gan import TOY_CONFIG, band_pulls, toy_draw, toy_events, toy_observed  # noqa: E402

#: ``flow-matched``: the flow with the GAN's minibatch and epochs (as many steps as the GAN takes; the
#: flow's defaults take 60 steps on the toy's 900 training events).
MODELS = ("flow", "discflow", "gan", "flow-matched")


def config_of(model: str, args: argparse.Namespace, seed: int, **common: Any) -> AmplifyConfig:
    """The model's settings: the flow's defaults, discflow's discriminator weight 0.5 (the CLI's),
    the GAN's with ``--gan-epochs``."""
    gan = TOY_CONFIG.gan if args.cases == ["toy"] else GANConfig()
    if model == "gan":
        return AmplifyConfig(epochs=args.gan_epochs, seed=seed, gan=gan, **common)
    if model == "flow-matched":
        return AmplifyConfig(epochs=args.gan_epochs, batch=gan.batch, seed=seed, **common)
    return AmplifyConfig(seed=seed, adversarial=0.5 if model == "discflow" else 0.0, **common)


def run_toy(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    y_truth, c_truth = toy_draw(1_000_000, numpy_rng(99))
    for seed in args.seeds:
        rng = numpy_rng(7 + 100 * seed)
        y, c = toy_draw(args.n_train, rng)
        info, batch = toy_events(y, c, rng)
        # the training sample against the exact bins: its own counting error only
        train_pulls = band_pulls(y, c, 10**15)
        for model in args.models:
            config = config_of(model, args, seed, knots=6)
            out, report = amplify(batch, info, args.factor * args.n_train, config=config)
            y_gen, c_gen = toy_observed(out)
            pulls = band_pulls(y_gen, c_gen, args.n_train)
            row: dict[str, Any] = {
                "case": "toy",
                "model": model,
                "seed": seed,
                "chi2_ndf": float((pulls**2).mean()),
                "max_pull": float(np.abs(pulls).max()),
                "train_chi2_ndf": float((train_pulls**2).mean()),
                "train_seconds": report.train_seconds,
                "best_epoch": report.groups[0].best_epoch,
            }
            for name, gen, truth in (("y", y_gen, y_truth), ("c", c_gen, c_truth)):
                for f in amplification_factor(gen, truth, args.n_train, observable=name):
                    row[f"G_{name}_{f.region}"] = (f.g, f.g_low)
            rows.append(row)
            print(
                f"toy seed {seed} {model:8s} chi2/ndf {row['chi2_ndf']:.2f} (training sample "
                f"{row['train_chi2_ndf']:.2f}) max |pull| {row['max_pull']:.1f}  "
                + "  ".join(f"G {k[2:]} {v[0]:.2f} [{v[1]:.2f}]" for k, v in row.items() if k[:2] == "G_")
                + f"  train {row['train_seconds']:.0f} s",
                flush=True,
            )
    return rows


#: MadGraph5's Z + jets (MLM) sample and its Z line (the pole and width of its ``<slha>`` block).
ZJETS = ROOT.parent / "shared" / "data" / "lhe" / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
ZJETS_SHAPES = {"m_leptons [GeV]": (91.188, 2.441404)}


def training_and_truth(case: str, args: argparse.Namespace, seed: int) -> tuple[Any, Any, Any]:
    """``(run info, training events, truth events)`` of a case and seed, each sample at the input's sigma."""
    if case == "zjets":
        from mlgen.lhe import read_lhe

        info, events = read_lhe(ZJETS)
        order = torch.as_tensor(numpy_rng(seed).permutation(len(events)))
        events = events[order]
    else:
        from amplify import CASES, sample  # benchmarks/amplify.py: the samples

        info, events, _ = sample(CASES[case][0], args.n_train + args.truth_factor * args.n_train, seed)
    train, truth = events[: args.n_train], events[args.n_train :]
    train.weight = train.weight * len(events) / len(train)
    truth.weight = truth.weight * len(events) / len(truth)
    return info, train, truth


def run_physics(case: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from amplify import CASES, peaks  # benchmarks/amplify.py: the peak fits

    shapes = ZJETS_SHAPES if case == "zjets" else CASES[case][1]
    rows = []
    for seed in args.seeds:
        info, train, truth = training_and_truth(case, args, seed)
        for model in args.models:
            config = config_of(model, args, seed)
            out, report = amplify(train, info, args.factor * args.n_train, config=config)
            cmp = compare_samples(out, train, truth, n_train=args.n_train, seed=seed).to_json()
            row = {
                "case": case,
                "model": model,
                "seed": seed,
                "auc": cmp["classifier"]["auc"],
                "auc_null": cmp["classifier"]["auc_null"],
                "chi2_ndf": {k: v["chi2_ndf"] for k, v in cmp["observables"].items()},
                "amplification": cmp["amplification"],
                "peaks": {
                    "generated": peaks(out, shapes),
                    "train": peaks(train, shapes),
                    "truth": peaks(truth, shapes),
                },
                "n_train": len(train),
                "n_truth": len(truth),
                "train_seconds": report.train_seconds,
                "best_epochs": [g.best_epoch for g in report.groups],
                "rejected": report.rejected,
            }
            rows.append(row)
            if args.json:  # after every row: a long run that stops keeps what it measured
                args.json.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1, default=str))
            print(
                f"{case} seed {seed} {model:8s} AUC {row['auc']:.3f} (null {row['auc_null']:.3f}) "
                f"median chi2/ndf {np.median(list(row['chi2_ndf'].values())):.2f} "
                f"train {row['train_seconds']:.0f} s",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["toy"], choices=["toy", "ttbar", "dy", "zjets"])
    parser.add_argument("--models", nargs="+", default=list(MODELS[:3]), choices=MODELS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--factor", type=int, default=50, help="generated events per training event")
    parser.add_argument("--truth-factor", type=int, default=20, help="physics: truth per training event")
    parser.add_argument("--gan-epochs", type=int, default=TOY_CONFIG.epochs)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for case in args.cases:
        rows += run_toy(args) if case == "toy" else run_physics(case, args)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, cpu",
        "args": {k: v for k, v in vars(args).items() if k != "json"},
        "seconds": time.perf_counter() - start,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
