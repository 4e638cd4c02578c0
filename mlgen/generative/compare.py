"""``mlgen compare A.lhe B.lhe [--truth T.lhe]``: are two event samples the same physics?

For every observable of :func:`mlgen.observables.observables` present in both
samples: normalised weighted histograms (binned regularly over the central
99.8% of B, or of the truth) with a ratio panel and statistical bands (PNG),
the per-bin pulls and their chi2/ndf; a classifier two-sample test (AUC of A vs B, next to the AUC of
B vs B, or truth vs truth, at the same size: the null); and, with a truth
sample, the amplification factor ``G`` of A relative to B's size (A was
trained on B) in the bulk and the tails of every observable, flagged instead where
the truth has an atom or discrete values (the quantile method cannot work there).

An atom of a continuous observable (p_T(ll) = 0 in Born-level Z events: 55% of
MadGraph's Z + jets sample) shares a histogram bin with its neighbourhood, where a
generator that moved it off the atom (into 0-10 GeV) hides; each atom holding at
least :data:`ATOM_MIN_SHARE` of the reference is compared on its own: its share in A
and in B, and the pull.
"""

from __future__ import annotations

__all__ = ["ATOM_MIN_SHARE", "AtomComparison", "CompareReport", "ObservableComparison", "compare_samples"]

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlgen.atomic import atomic_path
from mlgen.events import EventBatch
from mlgen.generative.quality import (
    AmplificationFactor,
    amplification_factor,
    atom_share,
    atoms,
    classifier_auc,
    histogram_pulls,
)
from mlgen.observables import observables
from mlgen.seeds import SeedLike, as_seed_sequence, numpy_rng


#: The share of the reference at one value above which a continuous observable's atom is compared alone.
ATOM_MIN_SHARE = 0.01


@dataclass(frozen=True)
class AtomComparison:
    """The shares of A and B (with their errors) at one value of an observable, and the pull."""

    value: float
    share_a: float
    share_a_err: float
    share_b: float
    share_b_err: float
    pull: float


@dataclass(frozen=True)
class ObservableComparison:
    """One observable's pooled pulls: their chi2 over ``ndf`` bins, the largest, the bins beyond 3;
    and its atoms, each compared alone."""

    chi2: float
    ndf: int
    chi2_ndf: float
    max_abs_pull: float
    bins_over_3_sigma: int
    atoms: tuple[AtomComparison, ...] = ()


@dataclass(frozen=True)
class CompareReport:
    """What :func:`compare_samples` found: the sizes, the pulls per observable, the classifier's
    AUC with its null, the amplification factors (with a truth), and the plots written."""

    n_a: int
    n_b: int
    n_truth: int | None
    observables: dict[str, ObservableComparison]
    auc: float
    auc_null: float
    amplification: list[AmplificationFactor] | None = None
    plots: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the keys of ``compare.json``)."""
        out: dict[str, Any] = {"n_a": self.n_a, "n_b": self.n_b, "n_truth": self.n_truth}
        out["observables"] = {name: asdict(row) for name, row in self.observables.items()}
        out["classifier"] = {"auc": self.auc, "auc_null": self.auc_null}
        if self.amplification is not None:
            out["amplification"] = [f.to_dict() for f in self.amplification]
        return out | {"plots": self.plots}


def _weights(batch: EventBatch) -> np.ndarray:
    """The events' weights, signed: a sample with negative weights is compared as it is (weighted
    histograms, the classifier's loss and AUC weighted by them)."""
    w = batch.weight.detach().cpu().double().numpy()
    if not w.sum() > 0:
        raise ValueError(f"the weights sum to {w.sum():.4g}: no distribution to compare")
    return w


def _signed_pulls(
    a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalised weighted histograms, their ``sqrt(sum w^2)`` errors and the pulls, for signed
    weights (:func:`~mlgen.generative.quality.histogram_pulls`' pooled estimate needs positive
    contents); NaN where neither sample has an event."""
    sa, sb = wa.sum(), wb.sum()
    ha = np.histogram(a, edges, weights=wa / sa)[0]
    hb = np.histogram(b, edges, weights=wb / sb)[0]
    da = np.sqrt(np.histogram(a, edges, weights=(wa / sa) ** 2)[0])
    db = np.sqrt(np.histogram(b, edges, weights=(wb / sb) ** 2)[0])
    error = np.hypot(da, db)
    with np.errstate(invalid="ignore", divide="ignore"):
        pull = np.where(error > 0, (ha - hb) / error, np.nan)
    return ha, da, hb, db, pull


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


def _atoms(
    reference: np.ndarray, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[AtomComparison, ...]:
    """The atoms of a continuous ``reference`` compared between ``a`` and ``b`` (values, weights)."""
    finite = reference[np.isfinite(reference)]
    if _discrete(finite):  # a count: one histogram bin per value already
        return ()
    scale = max(float(np.abs(finite).max()), 1e-300)
    out = []
    for value, _ in atoms(finite, min_share=ATOM_MIN_SHARE):
        share_a, err_a = atom_share(a[0], a[1], value, scale)
        share_b, err_b = atom_share(b[0], b[1], value, scale)
        error = math.hypot(err_a, err_b)
        pull = (share_a - share_b) / error if error > 0 else math.nan
        out.append(AtomComparison(value, share_a, err_a, share_b, err_b, pull))
    return tuple(out)


def compare_samples(
    a: EventBatch,
    b: EventBatch,
    truth: EventBatch | None = None,
    *,
    out_dir: str | Path | None = None,
    labels: tuple[str, str] = ("A", "B"),
    n_bins: int = 30,
    n_train: int | None = None,
    seed: SeedLike = 0,
) -> CompareReport:
    """Compare sample ``a`` with ``b`` (and a ``truth``); write PNGs into ``out_dir``; return the report.

    ``seed``: the stream; the classifier test and its null each take a child.
    """
    test_seed, null_seed = as_seed_sequence(seed).spawn(2)
    oa, ob = observables(a), observables(b)
    wa, wb = _weights(a), _weights(b)
    ot = observables(truth) if truth is not None else None
    wt = _weights(truth) if truth is not None else None
    reference = ot if ot is not None else ob
    signed = bool((wa < 0).any() or (wb < 0).any() or (wt is not None and (wt < 0).any()))
    # a 2 -> 2 system's pT is zero up to rounding: its noise would tell samples apart, not physics
    names = [
        k
        for k in oa
        if k in ob and (ot is None or k in ot) and np.nanmax(np.abs(reference[k]), initial=0.0) > 1e-6
    ]
    if not names:
        raise ValueError("the two samples share no observable (different final states?)")
    per_observable = {}
    plots = []
    for name in names:
        ref = ot[name] if ot is not None else ob[name]
        edges = _edges(ref, n_bins)
        va, vb = oa[name], ob[name]
        fa, fb = np.isfinite(va), np.isfinite(vb)
        pulls = _signed_pulls if signed else histogram_pulls
        ha, da, hb, db, pull = pulls(va[fa], wa[fa], vb[fb], wb[fb], edges)
        valid = np.isfinite(pull)
        chi2 = float(np.sum(pull[valid] ** 2))
        per_observable[name] = ObservableComparison(
            chi2=chi2,
            ndf=int(valid.sum()),
            chi2_ndf=chi2 / max(int(valid.sum()), 1),
            max_abs_pull=float(np.max(np.abs(pull[valid]))) if valid.any() else 0.0,
            bins_over_3_sigma=int(np.sum(np.abs(pull[valid]) > 3)),
            atoms=_atoms(ref, (va, wa), (vb, wb)),
        )
        if out_dir is not None:
            plots.append(str(_plot(name, edges, (ha, da), (hb, db), labels, Path(out_dir))))
    auc = classifier_auc({k: oa[k] for k in names}, {k: ob[k] for k in names}, wa, wb, seed=test_seed)
    # the null: two halves of one sample, of the same size as the test above
    null = _null_auc(
        {k: reference[k] for k in names}, wt if wt is not None else wb, min(len(a), len(b)), null_seed
    )
    factors: list[AmplificationFactor] | None = None
    if truth is not None and ot is not None:
        n_train = n_train or len(b)
        factors = []
        for name in names:
            # a count or an atom comes back flagged, G not computed: quantile bins need a continuum
            factors += amplification_factor(oa[name], ot[name], n_train, observable=name, sample_weight=wa)
    n_truth = None if truth is None else len(truth)
    return CompareReport(len(a), len(b), n_truth, per_observable, auc, null, factors, plots)


def _null_auc(sample: dict[str, np.ndarray], w: np.ndarray, n: int, seed: SeedLike) -> float:
    size = len(w)
    half = min(n, size // 2)
    if half < 50:
        return math.nan
    split_seed, test_seed = as_seed_sequence(seed).spawn(2)
    perm = numpy_rng(split_seed).permutation(size)
    i, j = perm[:half], perm[half : 2 * half]
    return classifier_auc(
        {k: v[i] for k, v in sample.items()}, {k: v[j] for k, v in sample.items()}, w[i], w[j], seed=test_seed
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
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
