"""Subtraction on Drell-Yan: (gamma + Z) - gamma against a direct |M_Z|^2 + interference sample.

    python benchmarks/subtract.py [--events 50000] [--method classifier|flow] [--factor K]
                                  [--direct-events N] [--keep-negative] [--exact-ratio]
                                  [--refine] [--folds K] [--members M] [--seed S] [--json OUT]

``cards/drell_yan_offpeak.toml`` (120 < m_ee < 500 GeV, where the photon is a third of the rate): B is
the full |M|^2 and S the photon alone, each unweighted from its own VEGAS grid; B - S is written by
``mlgen.generative.subtract`` (``--factor K``: K times as many events as B, flow route only); the
direct sample is |M_Z|^2 and the gamma-Z interference, weighted, merged (signed weights). Per
observable: chi2/ndf of B - S against the direct sample (both errors), and the same for the binned
subtraction of B and S at the same statistics; the time; the direct sample's negative part (where B -
S < 0, to set against what the warning reports); with ``--exact-ratio``, the classifier's ratio
against the exact dsigma_S/dsigma_B from the matrix elements, and the negative part that the exact
ratio leaves through the same cells (what the warning should say). ``--method generator`` is the
flow route's former name (taken as ``flow``). Not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mlgen.cards import load_card
from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generate import generate_weighted
from mlgen.generative import AmplifyConfig, RefineConfig
from mlgen.generative.subtract import METHODS, subtract
from mlgen.observables import observables
from mlgen.process.record import EventBuilder
from mlgen.resample.classifier import ClassifierConfig
from mlgen.run import event_stream, prepare
from mlgen.seeds import as_seed_sequence, torch_generator

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "cards" / "drell_yan_offpeak.toml"


def card(mode: str, seed: int):
    return load_card(CARD, [f"process.options.mode={mode}", "scales.variations=false", f"run.seed={seed}"])


def unweighted(mode: str, n: int, seed: int) -> tuple[RunInfo, EventBatch]:
    prepared = prepare(card(mode, seed), log=None)
    batches = [batch for batch, _ in event_stream(prepared, n)]
    events = EventBatch.concat(batches)[:n]
    sigma = float(prepared.result.mean)
    events.weight = torch.full((len(events),), sigma, dtype=torch.float64)  # pb per event
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        weight_strategy=4,
        processes=(ProcessLine(sigma, float(prepared.result.sdev), sigma, 1),),
    )
    return info, events


def weighted(mode: str, n: int, seed: int) -> EventBatch:
    prepared = prepare(card(mode, seed), log=None)
    process = prepared.process
    batch, _ = generate_weighted(
        process, prepared.sampler, n, torch_generator(seed + 7), EventBuilder(process.matrix_element)
    )
    return batch


def exact_ratio(events: EventBatch) -> np.ndarray:
    """dsigma_S / dsigma_B at each event of B from the matrix elements: photon over full |M|^2, each summed
    over the quark flavours and both beam orderings with the card's PDFs at the event's x1, x2 (at LO the
    leptons fix them; the event's incoming momenta carry them)."""
    from mlgen.matrix.drell_yan import DrellYan
    from mlgen.process.build import build_process

    process = build_process(card("full", 1), "cpu")
    m, pdg, status = events.momenta, events.pdg, events.status
    if not bool((status[:, :2] == -1).all()):
        raise ValueError("expected the two incoming partons first in every event")
    leptons = [(m * ((pdg == code) & (status == 1))[..., None]).sum(1) for code in (11, -11)]
    p = torch.stack([m[:, 0], m[:, 1], *leptons], 1)
    x1, x2 = 2 * m[:, 0, 0] / process.sqrt_s, 2 * m[:, 1, 0] / process.sqrt_s
    lum = process.luminosity(x1, x2, process._scales(p)[1] ** 2)
    full, photon = ((lum * DrellYan(mode=mode)(p)).sum(1) for mode in ("full", "photon"))
    return (photon / full).numpy()


def ratio_check(base, sub, config, od, wd, n_direct) -> dict:
    """The classifier's ratio against the exact one on B's events, and what each leaves through the cells.

    The cells' leftover with the exact ratio is the negative part of B - S that no positive sample of B's
    events can carry: what the warning should report. The written shape (kept weights, normalised to
    sigma_B - sigma_S, without hit-or-miss noise) with the exact ratio is what a perfect classifier would
    give; its chi2/ndf on the binned errors is the floor set by dropping the negative part.
    The classifier is trained again here, with the same settings and seeds (the same ratio as in
    ``subtract``, whose report keeps no per-event ratio).
    """
    from mlgen.generative.difference import _local_scale
    from mlgen.resample.cell import cell_resample
    from mlgen.resample.classifier import cross_fit
    from mlgen.resample.embedding import embed_events, network_features

    # subtract's streams: its classifier's child of config.seed, whose first two children are the
    # networks' and the cells' scale's (mlgen.generative.difference.classifier_difference)
    classifier_seed, scale_seed, _ = as_seed_sequence(config.seed).spawn(3)[0].spawn(3)
    (_, b), (_, s) = base, sub
    w_b, w_s = b.weight.numpy(), s.weight.numpy()
    both = EventBatch.concat([b, s])
    label = np.r_[np.zeros(len(b), bool), np.ones(len(s), bool)]
    weights = np.r_[w_b / len(b), w_s / len(s)]
    d = cross_fit(network_features(both), label, weights, config, "cpu", classifier_seed)[0]
    d_b = np.clip(d[: len(b)], 0.0, 1.0 - 1e-12)
    ratios = {"exact": exact_ratio(b), "classifier": d_b / (1 - d_b)}
    points = embed_events(both)[: len(b)]
    size = _local_scale(points, scale_seed)
    sigma = float(w_b.mean() - w_s.mean())
    ob, os_ = observables(b), observables(s)
    out: dict = {}
    for name, r in ratios.items():
        diff = w_b * (1 - r)
        cells = cell_resample(diff, points, max_cell_size=size).weights
        kept = np.clip(cells, 0.0, None)
        entry = {
            "negative_before_cells_pb": float(diff[diff < 0].sum()) / len(b),
            "negative_after_cells_pb": float(cells[cells < 0].sum()) / len(b),
        }
        for obs in ("cos theta* (CS)", "y_leptons (system)", "m_leptons [GeV]"):
            edges = np.linspace(*np.quantile(od[obs], [0.005, 0.995]), 21)
            hd, ed = histogram(od[obs], wd, n_direct, edges)
            written = np.histogram(ob[obs], edges, weights=kept)[0] / kept.sum() * sigma
            _, eb = histogram(ob[obs], w_b, len(b), edges)
            _, es = histogram(os_[obs], w_s, len(s), edges)
            entry[f"written_chi2_ndf_on_binned_errors {obs}"] = float(
                ((written - hd) ** 2 / (eb**2 + es**2 + ed**2)).mean()
            )
        out[name] = entry
    bias = ratios["classifier"] - ratios["exact"]
    out["classifier_minus_exact"] = {
        "mean": float(np.average(bias, weights=w_b)),
        "rms": float(np.sqrt(np.average(bias**2, weights=w_b))),
        "rms_over_exact": float(np.sqrt(np.average((bias / ratios["exact"]) ** 2, weights=w_b))),
    }
    return out


def histogram(
    values: np.ndarray, weights: np.ndarray, n: int, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    h = np.histogram(values, edges, weights=weights)[0] / n
    e = np.sqrt(np.histogram(values, edges, weights=weights**2)[0]) / n
    return h, e


def negative_part(obs: dict[str, np.ndarray], weight: np.ndarray, n: int) -> dict[str, float]:
    """The direct sample's B - S where it is negative (pb), in bins of (m_ll, cos theta*, y_ll): the
    sum over negative bins, and over the bins beyond 3 sigma (not noise). Without y_ll, the region
    where the interference wins (large |y_ll|: no dilution of cos theta* by the unknown quark
    direction) is averaged away."""
    out = {}
    for label, axes in (("m_cos", 2), ("m_cos_y", 3)):
        values = [obs["m_leptons [GeV]"], obs["cos theta* (CS)"], obs["y_leptons (system)"]][:axes]
        edges = [np.geomspace(120.0, 500.0, 13), np.linspace(-1.0, 1.0, 21), np.linspace(-2.5, 2.5, 7)][:axes]
        h = np.histogramdd(values, edges, weights=weight)[0] / n
        e = np.sqrt(np.histogramdd(values, edges, weights=weight**2)[0]) / n
        out[f"negative_{label}_pb"] = float(h[h < 0].sum())
        out[f"negative_{label}_beyond_3sigma_pb"] = float(h[h < -3 * e].sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument(
        "--method",
        choices=(*METHODS, "generator"),
        default="classifier",
        help="generator: the old name of flow",
    )
    parser.add_argument("--factor", type=float, default=1.0, help="events written per event of B")
    parser.add_argument("--epochs", type=int, default=60, help="flow: mixture epochs")
    parser.add_argument("--warm-epochs", type=int, default=30, help="flow: epochs from the classifier")
    parser.add_argument("--hidden", type=int, default=AmplifyConfig.hidden, help="flow: MLP width")
    parser.add_argument("--bins", type=int, default=AmplifyConfig.bins, help="flow: spline bins")
    parser.add_argument(
        "--direct-events", type=int, help="events of each direct piece (default 2 x --events)"
    )
    parser.add_argument("--refine", action="store_true", help="flow: refine towards the classifier's B - S")
    parser.add_argument(
        "--overweight", type=float, default=RefineConfig.overweight, help="refine: the share above rho_max"
    )
    parser.add_argument("--keep-negative", action="store_true", help="write B - S < 0 as negative weights")
    parser.add_argument("--folds", type=int, default=2, help="classifier: cross-fitting parts")
    parser.add_argument("--members", type=int, default=1, help="classifier: networks per part")
    parser.add_argument("--seed", type=int, default=1, help="classifier: seed of its folds and networks")
    parser.add_argument(
        "--exact-ratio",
        action="store_true",
        help="also compare the classifier's ratio with the exact one from the matrix elements",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.method == "generator":
        print("--method generator is now called flow: running flow", file=sys.stderr)
        args.method = "flow"
    n = args.events
    base, sub = unweighted("full", n, 1), unweighted("photon", n, 2)
    n_direct = args.direct_events or 2 * n
    direct = EventBatch.concat([weighted("z", n_direct, 3), weighted("interference", n_direct, 4)])
    direct.weight = direct.weight * 2  # two pieces of equal size: the mean is their sum
    t0 = time.perf_counter()
    config = ClassifierConfig(
        batch=512, lr=1e-3, patience=15, folds=args.folds, members=args.members, seed=args.seed
    )
    out, _, subtracted = subtract(
        base,
        sub,
        method=args.method,
        n_out=int(args.factor * n) if args.method == "flow" else None,
        config=config,
        generator=AmplifyConfig(epochs=args.epochs, hidden=args.hidden, bins=args.bins),
        warm_epochs=args.warm_epochs,
        negative="keep" if args.keep_negative else "drop",
        refine=RefineConfig(classifier=config, overweight=args.overweight) if args.refine else None,
    )
    seconds = time.perf_counter() - t0
    report = subtracted.to_json()  # the keys of OUT.subtract.json
    sigma_direct = float(direct.weight.mean())
    sigma_direct_err = float(direct.weight.std()) / math.sqrt(len(direct))
    rows = {}
    ob, os_, od, oo = observables(base[1]), observables(sub[1]), observables(direct), observables(out)
    for name in ("m_leptons [GeV]", "cos theta* (CS)", "y_leptons (system)", "pT leading leptons [GeV]"):
        edges = np.linspace(*np.quantile(od[name], [0.005, 0.995]), 21)
        hd, ed = histogram(od[name], direct.weight.numpy(), len(direct), edges)
        ho, eo = histogram(oo[name], out.weight.numpy() * len(out), len(out), edges)
        hb, eb = histogram(ob[name], base[1].weight.numpy(), n, edges)
        hs, es = histogram(os_[name], sub[1].weight.numpy(), n, edges)
        pull = (ho - hd) / np.hypot(eo, ed)
        binned = (hb - hs - hd) / np.sqrt(eb**2 + es**2 + ed**2)
        rows[name] = {
            "chi2_ndf_subtract": float((pull**2).mean()),
            # the deviation measured against the binned B - S's error: below 1 means more precise
            "chi2_ndf_subtract_on_binned_errors": float(((ho - hd) ** 2 / (eb**2 + es**2 + ed**2)).mean()),
            "pulls_subtract": [round(float(p), 2) for p in pull],
            "chi2_ndf_binned": float((binned**2).mean()),
            "mean_error_subtract": float(eo.mean()),
            "mean_error_binned": float(np.hypot(eb, es).mean()),
        }
        print(
            f"{name:26s} chi2/ndf  B-S events {rows[name]['chi2_ndf_subtract']:.2f}  binned B - S "
            f"{rows[name]['chi2_ndf_binned']:.2f}  (B-S events on the binned errors "
            f"{rows[name]['chi2_ndf_subtract_on_binned_errors']:.2f})   mean bin error "
            f"{rows[name]['mean_error_subtract']:.3g} vs "
            f"binned {rows[name]['mean_error_binned']:.3g} pb",
            flush=True,
        )
    negative = negative_part(od, direct.weight.numpy(), len(direct))
    ratio = (
        ratio_check(base, sub, config, od, direct.weight.numpy(), len(direct)) if args.exact_ratio else None
    )
    if ratio is not None:
        for name in ("exact", "classifier"):
            print(
                f"{name} ratio through the cells: negative {ratio[name]['negative_before_cells_pb']:.4f} pb "
                f"before, {ratio[name]['negative_after_cells_pb']:.4f} after; written shape chi2/ndf on the "
                "binned errors: "
                + ", ".join(f"{k.split(' ', 1)[1]} {v:.2f}" for k, v in ratio[name].items() if "chi2" in k)
            )
        print(
            "classifier ratio - exact ratio (B's events): {mean:+.4f} mean, {rms:.4f} rms, "
            "{rms_over_exact:.3f} rms relative".format(**ratio["classifier_minus_exact"])
        )
    print(
        "direct B - S where negative: (m_ll, cos theta*) bins {negative_m_cos_pb:.4f} pb "
        "({negative_m_cos_beyond_3sigma_pb:.4f} beyond 3 sigma), (m_ll, cos theta*, y_ll) bins "
        "{negative_m_cos_y_pb:.4f} pb ({negative_m_cos_y_beyond_3sigma_pb:.4f} beyond 3 sigma)".format(
            **negative
        )
    )
    summary = {
        "method": args.method,
        "keep_negative": args.keep_negative,
        "refine": report.get("refine"),
        "classifier_folds": args.folds,
        "classifier_members": args.members,
        "classifier_seed": args.seed,
        "events": n,
        "factor": args.factor,
        "epochs": args.epochs,
        "warm_epochs": args.warm_epochs,
        "hidden": args.hidden,
        "bins": args.bins,
        "layouts": [{k: v for k, v in g.items() if k != "losses"} for g in report.get("layouts", [])],
        "seconds": seconds,
        "n_out": report["n_out"],
        "sigma_b_minus_s_pb": report["sigma_pb"],
        "error_pb": report["error_pb"],
        "sigma_direct_pb": sigma_direct,
        "sigma_direct_error_pb": sigma_direct_err,
        "sigma_from_classifier_pb": report["sigma_from_weights_pb"],
        "observables": rows,
        "warnings": report["warnings"],
        "direct_negative": negative,
        "exact_ratio": ratio,
    }
    print(
        f"sigma: B - S = {report['sigma_pb']:.5g} +- {report['error_pb']:.2g} pb, direct "
        f"{sigma_direct:.5g} +- {sigma_direct_err:.2g} pb; {report['n_out']} events of {n} in B; "
        f"{seconds:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
