"""How good is a generated sample? Histogram pulls, a classifier two-sample test, the amplification factor.

* :func:`histogram_pulls`: per-bin ``(a - b) / sigma`` of normalised, weighted
  histograms, with ``sigma`` the spread of ``a - b`` if both samples came from
  one distribution, whose bin content is estimated from both (the pooled
  two-sample test of Gagunashvili, arXiv:physics/0605123). Each sample's own
  errors ``sqrt(sum w^2)`` (returned for plotting) would instead turn a
  downward fluctuation of the smaller sample in a sparse bin into a large pull:
  1 event of ``10^4`` where ``10^5`` generated events put 5.1 (51 of them) is
  ``3.3 sigma`` on the samples' own errors, ``1.8`` pooled.
* :func:`classifier_auc`: a small network is trained to tell sample A from
  sample B on half of the events and its ROC AUC measured on the other half
  (weighted); 0.5 means it cannot. The null is the same test between two halves
  of one sample of the same size, so a number can be read against it.
* :func:`amplification_factor`: the quantile-MSE method of GANplification
  (Butter, Diefenbacher, Kasieczka, Nachman, Plehn, arXiv:2008.06545): the
  truth sample's quantiles define ``N_q`` bins of probability ``1/N_q``; a
  sample's mean squared deviation from ``1/N_q`` is compared with that of an
  ideal sample of size ``n``, ``c / n + c / N_truth`` with ``c = (1 - 1/N_q)/N_q``
  (the second term: the truth's own quantiles are estimates), so
  ``n_equiv = c / (MSE - c / N_truth)`` and ``G = n_equiv / n_train``; computed
  in the bulk (the central quantiles) and the tails (the outer ones) separately,
  with bootstrap errors. Quantile bins need a continuous distribution: where the
  truth has an atom (:func:`atoms`: p_T(ll) = 0 in Born-level Z events, a count) the
  bins collapse onto it, and ``G`` came out 0.00 +- 0.00 for a sample that had the
  atom right; such an observable is flagged (``AmplificationFactor.flag``) and ``G`` is
  not computed.
"""

from __future__ import annotations

__all__ = [
    "AmplificationFactor",
    "PeakFit",
    "amplification_factor",
    "atom_share",
    "atoms",
    "breit_wigner_fit",
    "classifier_auc",
    "histogram_pulls",
    "weighted_auc",
]

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from mlgen.initialise import fresh_module
from mlgen.seeds import SeedLike, as_seed_sequence, numpy_rng, torch_generator


def histogram_pulls(
    a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalised histograms of ``a`` and ``b``, their errors, and the pooled pull per bin.

    Returns ``(ha, da, hb, db, pull)``; each histogram sums to one over all events
    (events outside the edges count in the normalisation), ``da``, ``db`` are each
    histogram's own errors. Under the hypothesis of one distribution the bin's
    content ``p`` is the inverse-variance mean of ``ha`` and ``hb``, and
    ``Var(ha - hb) = p (v_a + v_b)`` with ``v = d^2 / h`` the variance per unit content
    (``1 / N`` for unweighted events; the sample's overall ``sum w^2 / (sum w)^2`` in
    a bin it leaves empty). ``pull`` is NaN where both bins are empty.
    """
    sa, sb = wa.sum(), wb.sum()
    ha, _ = np.histogram(a, edges, weights=wa / sa)
    hb, _ = np.histogram(b, edges, weights=wb / sb)
    da2 = np.histogram(a, edges, weights=(wa / sa) ** 2)[0]
    db2 = np.histogram(b, edges, weights=(wb / sb) ** 2)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        va = np.where(ha > 0, da2 / ha, np.sum((wa / sa) ** 2))
        vb = np.where(hb > 0, db2 / hb, np.sum((wb / sb) ** 2))
        pooled = (ha / va + hb / vb) / (1 / va + 1 / vb)
        var = pooled * (va + vb)
        pull = np.where(var > 0, (ha - hb) / np.sqrt(var), np.nan)
    return ha, np.sqrt(da2), hb, np.sqrt(db2), pull


def weighted_auc(score: np.ndarray, label: np.ndarray, weight: np.ndarray | None = None) -> float:
    """ROC AUC of ``score`` for ``label`` (1 = positive), with event weights; ties count half."""
    w = np.ones_like(score, dtype=np.float64) if weight is None else np.asarray(weight, dtype=np.float64)
    y = np.asarray(label).astype(bool)
    # per distinct score: positive and negative weight; a positive beats the negatives below it
    _, group = np.unique(score, return_inverse=True)
    pos = np.bincount(group, weights=np.where(y, w, 0.0))
    neg = np.bincount(group, weights=np.where(y, 0.0, w))
    neg_below = np.cumsum(neg) - neg
    total = float(np.sum(pos * (neg_below + 0.5 * neg)))
    w_pos, w_neg = w[y].sum(), w[~y].sum()
    return float(total / (w_pos * w_neg)) if w_pos > 0 and w_neg > 0 else math.nan


def _features(columns: dict[str, np.ndarray]) -> np.ndarray:
    """Standardised features; a missing value (NaN) becomes 0 plus an indicator column."""
    out = []
    for values in columns.values():
        present = np.isfinite(values)
        x = np.where(present, values, 0.0)
        if present.any():
            mu, sd = x[present].mean(), x[present].std() or 1.0
            x = np.where(present, (x - mu) / sd, 0.0)
        out.append(x)
        if not present.all():
            out.append(present.astype(np.float64))
    return np.stack(out, 1)


def classifier_auc(
    a: dict[str, np.ndarray],
    b: dict[str, np.ndarray],
    wa: np.ndarray | None = None,
    wb: np.ndarray | None = None,
    *,
    seed: SeedLike = 0,
    epochs: int = 20,
    max_events: int = 50_000,
) -> float:
    """AUC of a classifier telling ``a`` from ``b`` (observable tables), on held-out halves.

    Both samples are cut to the same size (at most ``max_events``) so the test is balanced. Events
    present in both (the same features) are trained on or tested on together, never split.
    ``seed``: the stream; the sample split, the network and its batches each take a child.
    """
    keys = sorted(set(a) & set(b))
    split_seed, init_seed, batch_seed = as_seed_sequence(seed).spawn(3)
    rng = numpy_rng(split_seed)
    n = min(len(next(iter(a.values()))), len(next(iter(b.values()))), max_events)
    ia = rng.permutation(len(next(iter(a.values()))))[:n]
    ib = rng.permutation(len(next(iter(b.values()))))[:n]
    joint = {k: np.concatenate([a[k][ia], b[k][ib]]) for k in keys}
    x = _features(joint)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    w = np.concatenate(
        [
            np.ones(n) if wa is None else wa[ia] / wa[ia].mean(),
            np.ones(n) if wb is None else wb[ib] / wb[ib].mean(),
        ]
    )
    # an event in both samples (a reweighted copy of its input: positive's cells) goes to one half with
    # both its copies: split apart, the network learnt the training copy's label and scored the other
    # copy against it (AUC 0.44 for cells against their input, where 0.5 is right)
    _, event = np.unique(x, axis=0, return_inverse=True)
    half = rng.random(int(event.max()) + 1) < 0.5
    train, test = np.flatnonzero(half[event.ravel()]), np.flatnonzero(~half[event.ravel()])
    gen = torch_generator(batch_seed)
    net = fresh_module(
        lambda: torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 1),
        ),
        init_seed,
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt = torch.tensor(x[train], dtype=torch.float32)
    yt = torch.tensor(y[train], dtype=torch.float32)
    wt = torch.tensor(w[train], dtype=torch.float32)
    batch = 512
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), batch):
            idx = order[start : start + batch]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                net(xt[idx]).squeeze(1), yt[idx], weight=wt[idx]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        score = net(torch.tensor(x[test], dtype=torch.float32)).squeeze(1).numpy()
    return weighted_auc(score, y[test], w[test])


@dataclass(frozen=True)
class AmplificationFactor:
    """``G = n_equiv / n_train`` in one region of one observable, with its bootstrap error.

    ``g_low`` is the 16% quantile of the bootstrap (the lower 1 sigma bound); ``saturated``
    says the sample is indistinguishable from the truth at the truth's own precision
    (``n_equiv`` is then a lower bound, set to ``n_truth``). ``flag`` says why the quantile method
    cannot work on this observable (an atom, discrete values); ``G`` and its errors are then NaN.
    """

    observable: str
    region: str
    g: float
    g_err: float
    g_low: float
    n_equiv: float
    n_train: int
    saturated: bool
    flag: str = ""

    def to_dict(self) -> dict[str, object]:
        """The fields, NaN as ``None`` (JSON has no NaN)."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


#: Values closer than this, relative to the largest |value|, are one value (an LHE file's rounding).
ATOM_TOLERANCE = 1e-7


def atoms(
    values: np.ndarray, weight: np.ndarray | None = None, min_share: float = 0.01
) -> list[tuple[float, float]]:
    """The values that hold at least ``min_share`` of the (weighted) sample each: ``(value, share)``,
    largest share first. Values within :data:`ATOM_TOLERANCE` of the largest |value| count as one;
    NaNs are left out (of the total too)."""
    x = np.asarray(values, dtype=np.float64)
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    keep = np.isfinite(x)
    x, w = x[keep], w[keep]
    if len(x) == 0 or not w.sum() > 0:
        return []
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    tolerance = ATOM_TOLERANCE * max(float(np.abs(x).max()), 1e-300)
    cluster = np.concatenate([[0], np.cumsum(np.diff(x) > tolerance)])
    share = np.bincount(cluster, weights=w) / w.sum()
    first = np.searchsorted(cluster, np.arange(len(share)))
    found = [(float(x[first[k]]), float(share[k])) for k in np.flatnonzero(share >= min_share)]
    return sorted(found, key=lambda atom: -atom[1])


def atom_share(values: np.ndarray, weight: np.ndarray | None, at: float, scale: float) -> tuple[float, float]:
    """The (weighted) share of ``values`` at ``at`` (within :data:`ATOM_TOLERANCE` of ``scale``) and its
    statistical error, ``sqrt(sum w^2 (1_at - share)^2) / sum w``; NaNs are left out."""
    x = np.asarray(values, dtype=np.float64)
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    keep = np.isfinite(x)
    x, w = x[keep], w[keep]
    total = w.sum()
    if len(x) == 0 or total == 0:
        return math.nan, math.nan
    inside = np.abs(x - at) <= ATOM_TOLERANCE * scale
    share = float(w[inside].sum() / total)
    return share, float(np.sqrt(np.sum(w**2 * (inside - share) ** 2)) / abs(total))


def _quantile_flag(truth: np.ndarray, n_quantiles: int) -> str:
    """Why quantile bins of ``truth`` cannot work, or ``""``: an atom shifts the bin it sits in by up to
    its share, which matters once it exceeds the statistical error of a bin's share in the truth."""
    c = (1.0 - 1.0 / n_quantiles) / n_quantiles
    found = atoms(truth, min_share=math.sqrt(c / max(len(truth), 1)))
    if not found:
        return ""
    distinct = len(np.unique(truth))
    if sum(share for _, share in found) >= 0.99:  # a count: its rare values hold little
        return f"discrete: {distinct} values; quantile bins need a continuous distribution"
    value, share = found[0]
    return f"atom: {share:.1%} of the truth at {value:.6g}; quantile bins need a continuous distribution"


def _n_equiv(fractions: np.ndarray, n_q: int, n_truth: int, bins: np.ndarray, extra: float = 0.0) -> float:
    """``c / (MSE - c / N_truth - extra)``, capped at ``N_truth`` (the truth cannot resolve more)."""
    c = (1.0 - 1.0 / n_q) / n_q
    mse = float(np.mean((fractions[bins] - 1.0 / n_q) ** 2))
    excess = mse - c / n_truth - extra
    return min(c / excess, float(n_truth)) if excess > 0 else float(n_truth)


def amplification_factor(
    sample: np.ndarray,
    truth: np.ndarray,
    n_train: int,
    *,
    observable: str = "",
    sample_weight: np.ndarray | None = None,
    n_quantiles: int = 50,
    tail_quantiles: int = 5,
    n_boot: int = 200,
    seed: int = 0,
) -> list[AmplificationFactor]:
    """The amplification factor of ``sample`` against ``truth`` in the bulk and in the tails.

    The tails are the ``tail_quantiles`` outermost quantile bins on each side,
    the bulk the others. NaNs (observable absent in an event) are dropped. Where the truth has an
    atom or discrete values, both regions come back flagged, with ``G`` NaN.
    """
    sample = np.asarray(sample, dtype=np.float64)
    w = np.ones_like(sample) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    keep = np.isfinite(sample)
    sample, w = sample[keep], w[keep]
    truth = np.asarray(truth, dtype=np.float64)
    truth = truth[np.isfinite(truth)]
    flag = _quantile_flag(truth, n_quantiles)
    if flag:
        nan = math.nan
        return [
            AmplificationFactor(observable, region, nan, nan, nan, nan, n_train, False, flag)
            for region in ("bulk", "tails")
        ]
    edges = np.quantile(truth, np.linspace(0.0, 1.0, n_quantiles + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    regions = {
        "bulk": np.arange(tail_quantiles, n_quantiles - tail_quantiles),
        "tails": np.r_[np.arange(tail_quantiles), np.arange(n_quantiles - tail_quantiles, n_quantiles)],
    }
    which = np.clip(np.searchsorted(edges, sample, side="right") - 1, 0, n_quantiles - 1)

    def fractions(idx: np.ndarray) -> np.ndarray:
        return np.bincount(which[idx], weights=w[idx], minlength=n_quantiles) / w[idx].sum()

    rng = np.random.default_rng(seed)
    base = fractions(np.arange(len(sample)))
    boots = [fractions(rng.integers(0, len(sample), len(sample))) for _ in range(n_boot)]
    # a bootstrap replica deviates from the sample by c / n_eff more: taken out again
    c = (1.0 - 1.0 / n_quantiles) / n_quantiles
    resampling = c * float((w**2).sum() / w.sum() ** 2)
    out = []
    for region, bins in regions.items():
        n_eq = _n_equiv(base, n_quantiles, len(truth), bins)
        gs = np.array([_n_equiv(f, n_quantiles, len(truth), bins, resampling) for f in boots]) / n_train
        out.append(
            AmplificationFactor(
                observable,
                region,
                n_eq / n_train,
                float(gs.std()),
                float(np.quantile(gs, 0.16)),
                n_eq,
                n_train,
                n_eq >= len(truth),
            )
        )
    return out


@dataclass(frozen=True)
class PeakFit:
    """A Breit-Wigner fitted to a mass peak: position and full width, with their errors (GeV)."""

    mass: float
    mass_err: float
    width: float
    width_err: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def breit_wigner_fit(
    mass: np.ndarray, weight: np.ndarray | None, center: float, width: float, window: float = 5.0
) -> PeakFit:
    """Unbinned weighted maximum-likelihood fit of a Cauchy line shape in ``center +- window * width``.

    The line shape is normalised over the window (the events outside do not enter); the errors come
    from the curvature of the likelihood, with the weights' effective number of events.
    """
    from scipy.optimize import minimize

    m = np.asarray(mass, dtype=np.float64)
    w = np.ones_like(m) if weight is None else np.asarray(weight, dtype=np.float64)
    lo, hi = center - window * width, center + window * width
    keep = np.isfinite(m) & (m > lo) & (m < hi)
    m, w = m[keep], w[keep]
    if len(m) < 20:
        raise ValueError(f"only {len(m)} events in the peak window [{lo:.4g}, {hi:.4g}] GeV")
    n_eff = w.sum() ** 2 / (w**2).sum()
    w = w * n_eff / w.sum()

    def nll(theta: np.ndarray) -> float:
        m0, gamma = theta[0], abs(theta[1]) / 2
        norm = (np.arctan((hi - m0) / gamma) - np.arctan((lo - m0) / gamma)) / np.pi
        density = gamma / np.pi / ((m - m0) ** 2 + gamma**2) / norm
        return float(-(w * np.log(density)).sum())

    start = np.array([np.median(m), width])
    best = minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-6 * width, "fatol": 1e-6})
    theta = best.x
    h = 1e-3 * width
    hess = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (
                nll(theta + ei + ej) - nll(theta + ei - ej) - nll(theta - ei + ej) + nll(theta - ei - ej)
            ) / (4 * h * h)
    cov = np.linalg.inv(hess)
    return PeakFit(
        float(theta[0]), float(np.sqrt(cov[0, 0])), float(abs(theta[1])), float(np.sqrt(cov[1, 1])), len(m)
    )
