"""Cell resampling: no negative weight left, the cross section exact, the shape kept within its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlgen.events import EventBatch
from mlgen.resample import cell_resample, embed_events
from mlgen.resample.embedding import TAU
from tests.positive.toys import bin_integrals, cos_theta, signed_sample

EDGES = np.linspace(-1, 1, 21)


def shape_pulls(batch: EventBatch, weights: np.ndarray, errors_from: np.ndarray) -> np.ndarray:
    """Per-bin (estimate - exact) / (the original sample's error), in pb."""
    c = cos_theta(batch)
    n = len(weights)
    est = np.histogram(c, EDGES, weights=weights)[0] / n
    err = np.sqrt(np.histogram(c, EDGES, weights=errors_from**2)[0]) / n
    return (est - bin_integrals(EDGES)) / err


def test_cell_resampling_removes_negative_weights_and_keeps_sigma_and_shape() -> None:
    info, batch = signed_sample(40_000, seed=5)
    w = batch.weight.numpy()
    assert 0.2 < (w < 0).mean() < 0.3
    points = embed_events(batch)
    result = cell_resample(w, points)
    new = result.weights
    assert (new >= 0).all() and result.n_capped == 0
    assert math.isclose(new.sum(), w.sum(), rel_tol=1e-12)
    # the input estimates sigma = 1 pb; sigma/sigma small enough to mean something
    assert abs(w.mean() - 1.0) < 4 * w.std() / math.sqrt(len(w)) and w.std() / math.sqrt(len(w)) < 0.01
    before, after = shape_pulls(batch, w, w), shape_pulls(batch, new, w)
    assert np.abs(before).max() < 4 and np.abs(after).max() < 4
    assert (after**2).mean() < 1.5
    # effective sample size per event goes up
    assert (new.sum() ** 2 / (new**2).sum()) > 1.2 * (w.sum() ** 2 / (w**2).sum())


def test_cells_shrink_as_the_sample_grows() -> None:
    radii = []
    for n in (4_000, 32_000):
        _, batch = signed_sample(n, seed=7)
        radii.append(cell_resample(batch.weight.numpy(), embed_events(batch)).median_radius)
    assert radii[1] < 0.6 * radii[0]


def test_capped_cells_leave_counted_negative_weights_and_sigma_exact() -> None:
    _, batch = signed_sample(4_000, seed=9)
    w = batch.weight.numpy()
    result = cell_resample(w, embed_events(batch), max_cell_size=0.5)
    assert result.n_capped > 0 and (result.weights < 0).sum() > 0
    assert result.max_radius <= 0.5
    assert math.isclose(result.weights.sum(), w.sum(), rel_tol=1e-12)


def test_extra_weights_are_averaged_over_the_same_cells() -> None:
    _, batch = signed_sample(2_000, seed=11)
    w = batch.weight.numpy()
    extra = np.stack([w * 1.1, w * 0.9 + 0.01], 1)
    result = cell_resample(w, embed_events(batch), extra=extra)
    np.testing.assert_allclose(result.extra.sum(0), extra.sum(0), rtol=1e-12)
    # a variation proportional to the central weight stays proportional
    np.testing.assert_allclose(result.extra[:, 0], 1.1 * result.weights, rtol=1e-12, atol=1e-15)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="points: expected shape"):
        cell_resample(np.ones(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="max_cell_size"):
        cell_resample(np.ones(3), np.ones((3, 2)), max_cell_size=0)


def test_event_distance_is_infrared_and_collinear_safe() -> None:
    """An extra soft gluon, or a quark split collinearly, barely moves an event."""
    from tests.positive.toys import dimuon

    base = dimuon(np.array([0.3]), np.array([0.2]), np.array([1.0]))

    def with_partons(partons: list[list[float]]) -> EventBatch:
        out = EventBatch.concat([base])
        k = len(partons)
        out.momenta = torch.cat([out.momenta, torch.tensor([partons], dtype=torch.float64)], 1)
        out.pdg = torch.cat([out.pdg, torch.tensor([[1] + [21] * (k - 1)])], 1)
        out.status = torch.cat([out.status, torch.ones(1, k, dtype=torch.long)], 1)
        out.mothers = torch.cat([out.mothers, torch.zeros(1, k, 2, dtype=torch.long)], 1)
        out.colors = torch.cat([out.colors, torch.zeros(1, k, 2, dtype=torch.long)], 1)
        out.masses = torch.cat([out.masses, torch.zeros(1, k, dtype=torch.float64)], 1)
        return out

    quark = [40.0, 30.0, 0.0, math.sqrt(40.0**2 - 30.0**2)]
    soft = [0.01, 0.0, 0.01, 0.0]
    z = 0.3  # the quark's momentum shared 30/70 with a collinear gluon
    events = EventBatch.concat(
        [
            with_partons([quark]),
            with_partons([quark, soft]),
            with_partons([[(1 - z) * x for x in quark], [z * x for x in quark]]),
            with_partons([[40.0, -30.0, 0.0, math.sqrt(40.0**2 - 30.0**2)]]),
        ]
    )
    x = embed_events(events)
    d = np.linalg.norm(x[1:] - x[0], axis=1)
    # soft: of the order of the 0.01 GeV gluon, sqrt(tau^2 pT^2 + |p|^2) for a jet of its own
    assert d[0] < 1.5 * math.hypot(TAU * 0.01, 0.01) and d[1] < 1e-9 and d[2] > 50
