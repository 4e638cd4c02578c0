"""Negative-weight elimination: speed and what each method keeps, on signed Drell-Yan samples.

    python benchmarks/positive.py [--sizes 100000 1000000] [--methods cell neural] [--folds K] [--members M]
                                  [--json OUT]

The sample is what ``cards/drell_yan_offpeak.toml`` describes (120 < m_ee < 500 GeV at 13 TeV): the squared
photon and Z amplitudes and their signed interference, each sampled from its own adapted VEGAS grid as a
generator would (or flat: ``--sampling flat``, a much harder case with weights spread over decades), ``N/3``
events each, merged so the mean weight is the full cross section. The full |M|^2 sampled
the same way is the direct reference for the shapes. Per method and size: wall time and events per
second (embedding, neighbour search or training, weights), r- and N_eff per stored event before and
after, sigma before and after, the events needed for one unit of N_eff (downstream cost: showering,
detector simulation), the largest chi2/ndf of the observables against the signed sample (and what an
independent direct sample of the same size scores: the null for new events), and with
``--auc`` a classifier's AUC between the treated sample and the direct full-|M|^2 one (both positive),
next to the same test between two halves of the direct sample.
Not a test. There is no peer in this environment: cres (Rust) cannot be built without crates.io.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from mlgen.cards import load_card
from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generate import generate_weighted
from mlgen.generative.quality import classifier_auc
from mlgen.integrate.uniform import UniformSampler
from mlgen.observables import observables
from mlgen.positive import METHODS, RENAMED, NeuralConfig, PositiveConfig, make_positive
from mlgen.positive.summary import distortion
from mlgen.process.build import build_process
from mlgen.process.record import EventBuilder
from mlgen.resample.embedding import TAU
from mlgen.run import prepare, slha_text
from mlgen.seeds import torch_generator

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "cards" / "drell_yan_offpeak.toml"


def piece(mode: str, n: int, seed: int, sampling: str) -> EventBatch:
    """``n`` weighted events of one piece of |M|^2, sampled flat or from the card's adapted VEGAS grid."""
    card = load_card(CARD, [f"process.options.mode={mode}", "scales.variations=false", f"run.seed={seed}"])
    if sampling == "vegas":
        prepared = prepare(card, log=None)
        process, sampler = prepared.process, prepared.sampler
    else:
        process = build_process(card)
        sampler = UniformSampler(process.dim)
    batch, _ = generate_weighted(
        process, sampler, n, torch_generator(seed + 100), EventBuilder(process.matrix_element)
    )
    return batch


def signed_sample(n: int, seed: int, sampling: str = "vegas") -> tuple[RunInfo, EventBatch]:
    modes = ("photon", "z", "interference")
    parts = [piece(mode, n // 3, seed + k, sampling) for k, mode in enumerate(modes)]
    for part in parts:
        part.weight = part.weight * 3  # three pieces of N/3: the merged mean is the sum of their means
    batch = EventBatch.concat(parts)
    batch = batch[torch.randperm(len(batch), generator=torch.Generator().manual_seed(seed))]
    sigma = float(batch.weight.mean())
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        weight_strategy=-4,
        processes=(ProcessLine(sigma, float(batch.weight.std()) / len(batch) ** 0.5, 1.0, 1),),
        # the masses and widths, as mlgen run writes them (the flow method's line shapes read them)
        header=f"<slha>\n{slha_text(build_process(load_card(CARD)).matrix_element)}</slha>",
    )
    return info, batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["cell", "neural"],
        choices=[*METHODS, *RENAMED],
        help="flow was called gan before (gan is taken as flow)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--auc", action="store_true", help="classifier AUC of the treated sample against the direct one"
    )
    parser.add_argument(
        "--sampling", choices=("vegas", "flat"), default="vegas", help="how each piece is sampled"
    )
    parser.add_argument("--folds", type=int, default=2, help="neural, flow: the sign classifier's parts")
    parser.add_argument("--members", type=int, default=1, help="neural, flow: sign classifiers per part")
    parser.add_argument(
        "--tau", type=float, nargs="+", default=[TAU], help="pT weights of the distance to try"
    )
    parser.add_argument("--refine", action="store_true", help="flow: refine by a classifier's density ratio")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for old in set(args.methods) & set(RENAMED):
        print(f"--methods {old} is now called {RENAMED[old]}: running {RENAMED[old]}", file=sys.stderr)
    args.methods = [RENAMED.get(m, m) for m in args.methods]
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    rows = []
    for n in args.sizes:
        t0 = time.perf_counter()
        info, batch = signed_sample(n, args.seed, args.sampling)
        generation = time.perf_counter() - t0
        reference = piece("full", n, args.seed + 10, args.sampling)
        # what a fresh sample of the truth, of the same size, scores against the signed one: the null
        # for methods that write new events (flow), which cannot follow the input's own fluctuations
        null = {k: v["chi2_ndf"] for k, v in distortion(batch, reference, same_events=False).items()}
        print(
            f"N = {len(batch):>8d} null (direct full |M|^2 sample): chi2/ndf "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted(null.items())),
            flush=True,
        )
        for method, tau in itertools.product(args.methods, args.tau):
            config = PositiveConfig(
                method=method,
                tau=tau,
                neural=NeuralConfig(folds=args.folds, members=args.members),
                refine=args.refine,
                device="cuda" if torch.cuda.is_available() else "cpu",
            )
            t0 = time.perf_counter()
            out, _, positive = make_positive(batch, info, config)
            seconds = time.perf_counter() - t0
            report = positive.to_json()  # the keys of OUT.positive.json
            before, after = report["before"], report["after"]
            worst = max(report["distortion"].items(), key=lambda kv: kv[1]["chi2_ndf"])
            auc = auc_null = None
            if args.auc:
                # the treated sample against the directly generated full |M|^2 (both positive), and the
                # same test between two halves of the direct sample: the null at that size
                ref_obs, ref_w = observables(reference), reference.weight.numpy()
                auc = classifier_auc(observables(out), ref_obs, out.weight.numpy(), ref_w)
                half = len(reference) // 2
                first = {k: v[:half] for k, v in ref_obs.items()}
                second = {k: v[half:] for k, v in ref_obs.items()}
                auc_null = classifier_auc(first, second, ref_w[:half], ref_w[half:])
            row = {
                "n": len(batch),
                "sampling": args.sampling,
                "method": method,
                "tau": tau,
                "classifier_folds": args.folds,
                "classifier_members": args.members,
                "refine": args.refine,
                "generation_s": generation,
                "seconds": seconds,
                "events_per_s": len(batch) / seconds,
                "r_minus_before": before["r_minus"],
                "r_minus_after": after["r_minus"],
                "n_eff_per_event_before": before["n_eff_per_event"],
                "n_eff_per_event_after": after["n_eff_per_event"],
                "events_per_n_eff_before": 1 / before["n_eff_per_event"],
                "events_per_n_eff_after": 1 / after["n_eff_per_event"],
                "sigma_before_pb": before["sigma_pb"],
                "sigma_after_pb": after["sigma_pb"],
                "error_pb": before["error_pb"],
                "sigma_full_pb": float(reference.weight.mean()),
                "sigma_full_error_pb": float(reference.weight.std()) / len(reference) ** 0.5,
                "worst_chi2_ndf": worst[1]["chi2_ndf"],
                "worst_observable": worst[0],
                "distortion": report["distortion"],
                "null_chi2_ndf": null,
                "details": report.get("cells") or report.get("neural"),
                "flow": report.get("flow"),
                "gan": report.get("gan"),  # the same figures under the flow method's former name
                "auc_vs_direct": auc,
                "auc_null": auc_null,
            }
            rows.append(row)
            print(
                f"N = {row['n']:>8d} {method:6s} tau {tau:g} {seconds:7.1f} s "
                f"({row['events_per_s']:9.0f} ev/s)  "
                f"r- {row['r_minus_before']:.3f} -> {row['r_minus_after']:.3f}  N_eff/N "
                f"{row['n_eff_per_event_before']:.3f} -> {row['n_eff_per_event_after']:.3f}  sigma "
                f"{row['sigma_before_pb']:.4f} -> {row['sigma_after_pb']:.4f} +- {row['error_pb']:.4f} pb "
                f"(full |M|^2: {row['sigma_full_pb']:.4f} +- {row['sigma_full_error_pb']:.4f})  "
                f"worst chi2/ndf {row['worst_chi2_ndf']:.2f} ({row['worst_observable']})"
                + (f"  AUC vs direct {auc:.3f} (null {auc_null:.3f})" if auc is not None else ""),
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
