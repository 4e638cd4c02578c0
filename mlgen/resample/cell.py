"""Cell resampling: negative weights cancelled against their nearest neighbours, exactly.

Each negative-weight event (a seed; the most negative first) grows a cell of
its nearest neighbours in the event distance of :mod:`mlgen.resample.embedding`
until the cell's summed weight is no longer negative, or the next neighbour is
farther than the maximum cell size. The cell's summed weight is then shared
among its members in proportion to ``|w|`` (as cres does; or equally, the cell
mean, as in the first paper). The sum of weights — the cross section — is kept to
rounding in every cell, so exactly in every observable's integral; the shape is
smeared only within cells, whose size falls as the sample grows. A seed whose
cell reached the size limit keeps a (smaller) negative weight and is counted.

Neighbours come from a KD-tree (scipy's ``cKDTree``) queried for all seeds at
once; only seeds whose cell outgrows the first ``k`` neighbours query again.

References:
    J. R. Andersen, A. Maier, Eur. Phys. J. C 82 (2022) 433, arXiv:2109.07851;
    J. R. Andersen, A. Maier, D. Maître, Eur. Phys. J. C 83 (2023) 835, arXiv:2303.15246.
"""

from __future__ import annotations

__all__ = ["CellResult", "cell_resample"]

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class CellResult:
    """The resampled weights and what the cells looked like.

    Attributes:
        weights: ``(N,)`` new weights (same unit as the input).
        extra: ``(N, k)`` the extra weights averaged over the same cells, or ``None``.
        n_cells: seeds that grew a cell (a seed already made non-negative by an earlier cell grows none).
        n_capped: cells stopped by the maximum size with a negative sum.
        median_radius, max_radius: distance from the seed to the farthest member (GeV).
        mean_members: mean number of events per cell.
    """

    weights: np.ndarray
    extra: np.ndarray | None
    n_cells: int
    n_capped: int
    median_radius: float
    max_radius: float
    mean_members: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "n_cells": self.n_cells,
            "n_capped": self.n_capped,
            "median_radius_gev": self.median_radius,
            "max_radius_gev": self.max_radius,
            "mean_members": self.mean_members,
        }


def _grow(w: np.ndarray, seed: int, dist: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Members of the cell around ``seed`` among the sorted neighbours; (members, radius, closed)."""
    found = np.isfinite(dist)
    dist, idx = dist[found], idx[found]
    keep = idx != seed
    dist, idx = dist[keep], idx[keep]
    total = w[seed] + np.cumsum(w[idx])
    closed = np.flatnonzero(total >= 0)
    last = closed[0] if len(closed) else len(idx) - 1
    members = np.concatenate([[seed], idx[: last + 1]])
    return members, float(dist[last]) if last >= 0 else 0.0, bool(len(closed))


def cell_resample(
    weights: np.ndarray,
    points: np.ndarray,
    *,
    extra: np.ndarray | None = None,
    max_cell_size: float = math.inf,
    proportional: bool = True,
    neighbours: int = 32,
    workers: int = -1,
) -> CellResult:
    """Resample ``weights`` of events at ``points`` (``(N, D)``, GeV) into non-negative ones.

    Arguments:
        weights: ``(N,)`` signed event weights.
        points: ``(N, D)`` event coordinates (:func:`mlgen.resample.embedding.embed_events`).
        extra: ``(N, k)`` further weights of the same events (scale and PDF variations): each
            is averaged over the cells the central weight defines, so every variation keeps its
            cross section too.
        max_cell_size: largest seed-to-member distance in GeV (cres' ``--max-cell-size``);
            smaller is faster and smears less but may leave negative weights.
        proportional: share each cell's summed weight in proportion to ``|w|`` (cres' choice);
            ``False`` gives every member the cell's mean weight.
        neighbours: neighbours fetched per seed in the first, batched query.
        workers: threads for the tree queries (-1: all cores).

    Example:
        >>> w = np.array([1.0, -0.5, 2.0, 1.0]); x = np.array([[0.0], [0.1], [5.0], [5.1]])
        >>> cell_resample(w, x).weights.tolist()
        [0.3333333333333333, 0.16666666666666666, 2.0, 1.0]
        >>> cell_resample(w, x, proportional=False).weights.tolist()
        [0.25, 0.25, 2.0, 1.0]
    """
    w = np.array(weights, dtype=np.float64)
    x = np.asarray(points, dtype=np.float64)
    more = None if extra is None else np.array(extra, dtype=np.float64).reshape(len(w), -1)
    if x.ndim != 2 or len(x) != len(w):
        raise ValueError(f"points: expected shape ({len(w)}, D), got {x.shape}")
    if not max_cell_size > 0:
        raise ValueError(f"max_cell_size: expected a distance > 0 in GeV, got {max_cell_size}")
    seeds = np.flatnonzero(w < 0)
    seeds = seeds[np.argsort(w[seeds], kind="stable")]
    radii: list[float] = []
    members_n: list[int] = []
    capped = 0
    if len(seeds):
        tree = cKDTree(x)
        k = min(neighbours, len(w))
        dist, idx = tree.query(x[seeds], k=k, distance_upper_bound=max_cell_size, workers=workers)
        dist, idx = dist.reshape(len(seeds), k), idx.reshape(len(seeds), k)
        for row, seed in enumerate(seeds):
            if w[seed] >= 0:
                continue
            d, i = dist[row], idx[row]
            members, radius, closed = _grow(w, int(seed), d, i)
            kk = k
            # the cell outgrew the batch of neighbours while still inside the size limit: fetch more
            while not closed and kk < len(w) and np.isfinite(d[-1]):
                kk = min(4 * kk, len(w))
                d, i = tree.query(x[seed], k=kk, distance_upper_bound=max_cell_size)
                members, radius, closed = _grow(w, int(seed), d, i)
            if proportional:
                # the cell's sum shared in proportion to |w|: the shape inside the cell survives
                a = np.abs(w[members])
                share = a / a.sum()
            else:
                share = np.full(len(members), 1.0 / len(members))
            w[members] = share * w[members].sum()
            if more is not None:
                more[members] = share[:, None] * more[members].sum(0)
            capped += not closed
            radii.append(radius)
            members_n.append(len(members))
    return CellResult(
        weights=w,
        extra=more,
        n_cells=len(radii),
        n_capped=capped,
        median_radius=float(np.median(radii)) if radii else 0.0,
        max_radius=float(np.max(radii)) if radii else 0.0,
        mean_members=float(np.mean(members_n)) if members_n else 0.0,
    )
