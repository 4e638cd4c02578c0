"""``mlgen compare A.lhe B.lhe [--truth T.lhe]``: are two event samples the same physics?

For every observable of :func:`mlgen.observables.observables` present in both
samples: normalised weighted histograms (binned regularly over the central
99.8% of B, or of the truth) with a ratio panel and statistical bands (PNG),
the per-bin pulls and their chi2/ndf; a classifier two-sample test (AUC of A vs B, next to the AUC of
B vs B, or truth vs truth, at the same size: the null); and, with a truth
sample, the amplification factor ``G`` of A relative to B's size (A was
trained on B) in the bulk and the tails of every observable.
"""

from __future__ import annotations

__all__ = ["compare_samples"]

import math
from pathlib import Path
from typing import Any

import numpy as np

from mlgen.events import EventBatch
from mlgen.gan.metrics import amplification_factor, classifier_auc, histogram_pulls
from mlgen.observables import observables


def _weights(batch: EventBatch) -> np.ndarray:
    w = batch.weight.detach().cpu().double().numpy()
    if (w < 0).any():
        raise ValueError("negative weights: compare positive-weight samples (see mlgen positive)")
    return w


def _discrete(values: np.ndarray) -> bool:
    """A count or a constant: at most 12 distinct finite values."""
    return len(np.unique(values[np.isfinite(values)])) <= 12


def _edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if _discrete(finite):  # a multiplicity: one bin per value
        lo, hi = finite.min(), finite.max()
        return np.arange(lo - 0.5, hi + 1.5)
    # regular bins over the central 99.8% of the reference (what a physicist plots)
    lo, hi = np.quantile(finite, [0.001, 0.999])
    if hi <= lo:
        lo, hi = finite.min(), finite.max() + 1e-9
    return np.linspace(lo, hi, n_bins + 1)


def compare_samples(
    a: EventBatch,
    b: EventBatch,
    truth: EventBatch | None = None,
    *,
    out_dir: str | Path | None = None,
    labels: tuple[str, str] = ("A", "B"),
    n_bins: int = 30,
    n_train: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare sample ``a`` with ``b`` (and a ``truth``); write PNGs into ``out_dir``; return the report."""
    oa, ob = observables(a), observables(b)
    wa, wb = _weights(a), _weights(b)
    ot = observables(truth) if truth is not None else None
    wt = _weights(truth) if truth is not None else None
    reference = ot if ot is not None else ob
    # a 2 -> 2 system's pT is zero up to rounding: its noise would tell samples apart, not physics
    names = [
        k
        for k in oa
        if k in ob and (ot is None or k in ot) and np.nanmax(np.abs(reference[k]), initial=0.0) > 1e-6
    ]
    if not names:
        raise ValueError("the two samples share no observable (different final states?)")
    report: dict[str, Any] = {"n_a": len(a), "n_b": len(b), "n_truth": None if truth is None else len(truth)}
    per_observable = {}
    plots = []
    for name in names:
        ref = ot[name] if ot is not None else ob[name]
        edges = _edges(ref, n_bins)
        va, vb = oa[name], ob[name]
        fa, fb = np.isfinite(va), np.isfinite(vb)
        ha, da, hb, db, pull = histogram_pulls(va[fa], wa[fa], vb[fb], wb[fb], edges)
        valid = np.isfinite(pull)
        chi2 = float(np.sum(pull[valid] ** 2))
        per_observable[name] = {
            "chi2": chi2,
            "ndf": int(valid.sum()),
            "chi2_ndf": chi2 / max(int(valid.sum()), 1),
            "max_abs_pull": float(np.max(np.abs(pull[valid]))) if valid.any() else 0.0,
            "bins_over_3_sigma": int(np.sum(np.abs(pull[valid]) > 3)),
        }
        if out_dir is not None:
            plots.append(str(_plot(name, edges, (ha, da), (hb, db), labels, Path(out_dir))))
    report["observables"] = per_observable
    report["classifier"] = {
        "auc": classifier_auc({k: oa[k] for k in names}, {k: ob[k] for k in names}, wa, wb, seed=seed),
        # the null: two halves of one sample, of the same size as the test above
        "auc_null": _null_auc(
            {k: reference[k] for k in names}, wt if wt is not None else wb, min(len(a), len(b)), seed
        ),
    }
    if truth is not None:
        n_train = n_train or len(b)
        factors = []
        for name in names:
            if name.startswith("n_") or _discrete(ot[name]):
                continue  # quantiles of a count or a constant are not defined
            factors += [
                f.to_dict()
                for f in amplification_factor(oa[name], ot[name], n_train, observable=name, sample_weight=wa)
            ]
        report["amplification"] = factors
    report["plots"] = plots
    return report


def _null_auc(sample: dict[str, np.ndarray], w: np.ndarray, n: int, seed: int) -> float:
    size = len(w)
    half = min(n, size // 2)
    if half < 50:
        return math.nan
    perm = np.random.default_rng(seed + 1).permutation(size)
    i, j = perm[:half], perm[half : 2 * half]
    return classifier_auc(
        {k: v[i] for k, v in sample.items()}, {k: v[j] for k, v in sample.items()}, w[i], w[j], seed=seed
    )


def _plot(name: str, edges: np.ndarray, a: tuple, b: tuple, labels: tuple[str, str], out_dir: Path) -> Path:
    from mlgen.plots import _require_plotting, _slug

    _, plt, mplhep = _require_plotting()
    out_dir.mkdir(parents=True, exist_ok=True)
    (ha, da), (hb, db) = a, b
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    mplhep.histplot(hb, edges, yerr=db, ax=top, histtype="step", label=labels[1])
    mplhep.histplot(ha, edges, yerr=da, ax=top, histtype="step", label=labels[0])
    top.set_ylabel("fraction of events per bin")
    top.legend()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(hb > 0, ha / hb, np.nan)
        band = np.where(hb > 0, db / hb, np.nan)
        ratio_err = np.where(hb > 0, da / hb, np.nan)
    centres = 0.5 * (edges[1:] + edges[:-1])
    bottom.fill_between(
        edges,
        np.append(1 - band, (1 - band)[-1]),
        np.append(1 + band, (1 + band)[-1]),
        step="post",
        alpha=0.3,
        label=f"{labels[1]} stat.",
    )
    bottom.errorbar(centres, ratio, yerr=ratio_err, fmt="o", ms=3)
    bottom.axhline(1.0, color="k", lw=0.8)
    bottom.set_ylabel(f"{labels[0]} / {labels[1]}")
    bottom.set_xlabel(name)
    bottom.set_ylim(0.5, 1.5)
    path = out_dir / f"{_slug(name)}.png"
    tmp = path.with_name(path.stem + ".part.png")
    fig.savefig(tmp, dpi=80, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path
