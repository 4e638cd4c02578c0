"""The classifier's B - S: a cross-fitted classifier's ratio on B's events, cells, and the null.

A network trained to tell S from B, each event weighted by its share of its
sample's cross section, learns ``D = sigma_S p_S / (sigma_S p_S + sigma_B p_B)``,
hence the local ratio ``r(x) = D / (1 - D) = (dsigma_S / dsigma_B)(x)``; an event of
B carries ``w_B (1 - r)`` of the difference. Where ``r`` scatters above 1 by noise,
cell resampling (:mod:`mlgen.resample.cell`) cancels the negative weights against
neighbours. What the cells leave negative is compared with a calibrated null
(:func:`null_leftover`), so that a real negative region is told from the ratio's noise.

References:
    A. Andreassen, B. Nachman, Phys. Rev. D 101 (2020) 091901, arXiv:1907.08209 (classifier ratios).
"""

from __future__ import annotations

__all__ = [
    "NULL_NEIGHBOURS",
    "NULL_REPLICATES",
    "ClassifierDifference",
    "classifier_difference",
    "null_leftover",
]

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from mlgen.events import EventBatch
from mlgen.resample.cell import cell_resample
from mlgen.resample.classifier import ClassifierConfig, cross_fit
from mlgen.resample.embedding import embed_events, network_features
from mlgen.seeds import SeedLike, numpy_rng


@dataclass(frozen=True)
class ClassifierDifference:
    """The classifier's B - S on B's events (pb): its integral, its negative part before and after
    the cells, the null hypothesis' leftovers (:func:`null_leftover`), the cells and the epochs."""

    sigma_from_weights_pb: float
    negative_weights_sigma_pb: float
    negative_weights_fraction: float
    negative_after_cells_sigma_pb: float
    negative_after_cells_null_pb: tuple[float, ...]
    cells: dict[str, float | int]
    epochs_per_fold: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["negative_after_cells_null_pb"] = list(self.negative_after_cells_null_pb)
        out["epochs_per_fold"] = list(self.epochs_per_fold)
        return out


def _local_scale(points: np.ndarray, seed: SeedLike, k: int = 10) -> float:
    """Three times the median distance from an event to its ``k``-th neighbour (GeV), from 2000 events."""
    rng = numpy_rng(seed)
    probe = points[rng.choice(len(points), min(2000, len(points)), replace=False)]
    dist, _ = cKDTree(points).query(probe, k=min(k + 1, len(points)))
    return 3.0 * float(np.median(dist[:, -1]))


#: Replicates of the null hypothesis ``B - S >= 0`` behind the negative-region warning.
NULL_REPLICATES = 4
#: Events over which the null's smooth ``B - S`` is averaged (nearest neighbours in the embedding).
NULL_NEIGHBOURS = 50


def null_leftover(diff: np.ndarray, points: np.ndarray, max_cell_size: float, seed: SeedLike) -> np.ndarray:
    """What the cells leave negative (pb) when ``B - S >= 0`` everywhere, with the ratio's noise as it is.

    The difference is smoothed over each event's ``NULL_NEIGHBOURS`` nearest neighbours; the null's
    truth is that smooth difference clipped at zero, and its noise the event's deviation from the
    smooth one with a random sign (the noise of a ratio near 1 is symmetric, the clipping that makes
    the leftover one-sided is the cells'). Each of the ``NULL_REPLICATES`` null samples goes through
    the same cells; returns their leftover negative sums (per event of B, like the real one).
    """
    tree = cKDTree(points)
    _, idx = tree.query(points, k=min(NULL_NEIGHBOURS, len(points)), workers=-1)
    smooth = diff[idx].mean(1)
    noise = diff - smooth
    rng = numpy_rng(seed)
    out = []
    for _ in range(NULL_REPLICATES):
        null = np.clip(smooth, 0.0, None) + noise * rng.choice([-1.0, 1.0], len(diff))
        cells = cell_resample(null, points, max_cell_size=max_cell_size)
        out.append(float(cells.weights[cells.weights < 0].sum()) / len(diff))
    return np.array(out)


def classifier_difference(
    b: EventBatch,
    s: EventBatch,
    w_b: np.ndarray,
    w_s: np.ndarray,
    config: ClassifierConfig,
    max_cell_size: float | None,
    device: str,
    seed: np.random.SeedSequence,
) -> tuple[np.ndarray, ClassifierDifference]:
    """B's events' weights of B - S (pb per event, cell-resampled) and the classifier's report."""
    classifier_seed, scale_seed, null_seed = seed.spawn(3)
    both = EventBatch.concat([b, s])
    points = embed_events(both)
    features = network_features(both)
    label = np.concatenate([np.zeros(len(b), dtype=bool), np.ones(len(s), dtype=bool)])
    # each event weighs its share of its sample's cross section: the classes' totals are sigma_B, sigma_S
    size = np.concatenate([w_b / len(w_b), w_s / len(w_s)])
    d, epochs = cross_fit(features, label, size, config, device, classifier_seed)
    d_b = np.clip(d[: len(b)], 0.0, 1.0 - 1e-12)
    r = d_b / (1 - d_b)
    diff = w_b * (1 - r)
    negative = diff < 0
    # Where S is nearly B, 1 - r fluctuates about a small value; clipping it at 0 would bias those
    # regions upwards. Cells cancel the negative fluctuations against their neighbours instead,
    # keeping every local sum (a real negative region needs cells wider than max_cell_size and
    # keeps negative weights: reported).
    if max_cell_size is None:
        max_cell_size = _local_scale(points[: len(b)], scale_seed)
    cells = cell_resample(diff, points[: len(b)], max_cell_size=max_cell_size)
    null = null_leftover(diff, points[: len(b)], max_cell_size, null_seed)
    report = ClassifierDifference(
        sigma_from_weights_pb=float(diff.mean()),
        negative_weights_sigma_pb=float(diff[negative].sum()) / len(w_b),
        negative_weights_fraction=float(negative.mean()),
        negative_after_cells_sigma_pb=float(cells.weights[cells.weights < 0].sum()) / len(w_b),
        negative_after_cells_null_pb=tuple(null.tolist()),
        cells=cells.to_dict() | {"max_cell_size_gev": max_cell_size},
        epochs_per_fold=tuple(epochs),
    )
    return cells.weights, report
