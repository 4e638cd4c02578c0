"""Amplification on mlgen's own Drell-Yan and t tbar -> 6 partons, against a held-out truth.

    python benchmarks/amplify.py [--cases dy ttbar] [--n-train 10000] [--truth-factor 20] [--factor 10]
                                 [--epochs 60] [--knots K] [--mass-knots K] [--refine]
                                 [--json OUT]

Per case, one VEGAS grid (the card's) gives n_train training events and truth_factor times as many
independent truth events, timed: that is the rate of mlgen's own sampler. ``mlgen.generative.amplify`` trains
on the training events and writes factor times as many, to an LHE file (timed). Figures: the
classifier AUC of generated against truth next to its truth-against-truth null, the amplification
factor G = n_equiv / n_train (quantile MSE, arXiv:2008.06545) in the bulk and the tails of every
observable, Breit-Wigner fits of the resonance peaks (Z, W, t) in the generated, training and truth
samples, and the CPU seconds the sampler would need for the n_equiv events each G stands for. Not a
test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from mlgen.cards import load_card
from mlgen.commands.reports import describe_refine
from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generative import AmplifyConfig, RefineConfig, amplify, compare_samples
from mlgen.generative.quality import breit_wigner_fit
from mlgen.lhe import LHEWriter
from mlgen.observables import observables
from mlgen.resample.classifier import ClassifierConfig
from mlgen.run import event_stream, prepare

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "dy": (ROOT / "cards" / "drell_yan.toml", {"m_leptons [GeV]": (91.19, 2.4952)}),
    "dy_wide": (ROOT / "cards" / "drell_yan_wide.toml", {"m_leptons [GeV]": (91.19, 2.4952)}),
    "ttbar": (
        ROOT / "cards" / "ttbar_6j.toml",
        {"m leading top [GeV]": (172.5, 1.42), "m leading W [GeV]": (80.4, 2.085)},
    ),
}


def sample(card: Path, n: int, seed: int) -> tuple[RunInfo, EventBatch, float]:
    """``n`` unweighted events from the card's sampler, and the seconds they took after integration."""
    prepared = prepare(load_card(card, ["scales.variations=false", f"run.seed={seed}"]), log=None)
    start = time.perf_counter()
    events = EventBatch.concat([batch for batch, _ in event_stream(prepared, n)])[:n]
    seconds = time.perf_counter() - start
    sigma = float(prepared.result.mean)
    events.weight = torch.full((len(events),), sigma / n, dtype=torch.float64)
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        weight_strategy=3,
        processes=(ProcessLine(sigma, float(prepared.result.sdev), sigma, 1),),
        header=prepared.run_info.header,  # with the <slha> block: the line shapes' masses and widths
    )
    return info, events, seconds


def peaks(batch: EventBatch, shapes: dict[str, tuple[float, float]]) -> dict[str, dict]:
    obs = observables(batch)
    w = batch.weight.double().numpy()
    return {name: breit_wigner_fit(obs[name], w, *shape).to_dict() for name, shape in shapes.items()}


def run_case(name: str, args: argparse.Namespace) -> dict:
    card, shapes = CASES[name]
    n_truth = args.truth_factor * args.n_train
    info, events, seconds = sample(card, args.n_train + n_truth, args.seed)
    rate = len(events) / seconds
    train, truth = events[: args.n_train], events[args.n_train :]
    train.weight = train.weight * len(events) / len(train)
    truth.weight = truth.weight * len(events) / len(truth)
    n_out = int(args.factor * args.n_train)
    config = AmplifyConfig(epochs=args.epochs, knots=args.knots, mass_knots=args.mass_knots, seed=args.seed)
    start = time.perf_counter()
    refine = RefineConfig(classifier=ClassifierConfig(seed=args.seed)) if args.refine else None
    out, amplified = amplify(train, info, n_out, config=config, refine=refine)
    total = time.perf_counter() - start
    report = amplified.to_json()  # the keys of `mlgen amplify --report`
    train_s = amplified.train_seconds
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with LHEWriter(Path(tmp) / "amplified.lhe.gz", dataclasses.replace(info, weight_strategy=3)) as w:
            w.write(out)
        write_s = time.perf_counter() - start
    cmp = compare_samples(out, train, truth, n_train=args.n_train, seed=args.seed).to_json()
    for f in cmp["amplification"]:
        f["sampler_seconds_for_n_equiv"] = f["n_equiv"] / rate
    result = {
        "case": name,
        "n_train": args.n_train,
        "n_truth": n_truth,
        "n_generated": n_out,
        "sampler_events_per_s": rate,
        "train_seconds": train_s,
        "generate_seconds": total - train_s,
        "lhe_write_seconds": write_s,
        "generated_events_per_s": n_out / (total - train_s + write_s),
        "best_epochs": [g["best_epoch"] for g in report["groups"]],
        "line_shapes": [g["line_shapes"] for g in report["groups"]],
        "rejected": sum(g["rejected"] for g in report["groups"]),
        "refine": report.get("refine"),
        "auc": cmp["classifier"]["auc"],
        "auc_null": cmp["classifier"]["auc_null"],
        "chi2_ndf": {k: v["chi2_ndf"] for k, v in cmp["observables"].items()},
        "amplification": cmp["amplification"],
        "peaks": {
            "generated": peaks(out, shapes),
            "train": peaks(train, shapes),
            "truth": peaks(truth, shapes),
        },
    }
    print(
        f"\n== {name}: train {args.n_train}, truth {n_truth}, generated {n_out}; sampler {rate:.3g} ev/s; "
        f"training {train_s:.0f} s, generation {result['generated_events_per_s']:.3g} ev/s (LHE written)"
    )
    print(f"AUC {result['auc']:.3f} (null {result['auc_null']:.3f}); rejected {result['rejected']}")
    if amplified.refine is not None:
        print(describe_refine(amplified.refine, n_out))
    for f in cmp["amplification"]:
        print(
            f"  G {f['observable']:28s} {f['region']:5s} {f['g']:6.2f} +- {f['g_err']:5.2f}"
            f" (low {f['g_low']:.2f})"
            f"  sampler {f['sampler_seconds_for_n_equiv']:.2g} s for its n_equiv"
        )
    for obs in shapes:
        for label in ("generated", "train", "truth"):
            p = result["peaks"][label][obs]
            print(
                f"  peak {obs:22s} {label:9s} m = {p['mass']:.3f} +- {p['mass_err']:.3f}, "
                f"Gamma = {p['width']:.3f} +- {p['width_err']:.3f}"
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--truth-factor", type=int, default=20)
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=AmplifyConfig.epochs)
    parser.add_argument("--knots", type=int, default=AmplifyConfig.knots)
    parser.add_argument("--mass-knots", type=int, default=AmplifyConfig.mass_knots)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--refine", action="store_true", help="refine by a classifier's density ratio")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, cpu",
        "cases": [run_case(name, args) for name in args.cases],
    }
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
