"""Batched anti-kT against a plain per-event implementation written from the algorithm's definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlgen.physics.jets import anti_kt


def reference_anti_kt(particles: list[np.ndarray], radius: float) -> list[np.ndarray]:
    """One event, one merge at a time, straight from the definition (Cacciari, Salam, Soyez 2008)."""
    pseudo = [p.copy() for p in particles]
    jets = []

    def kin(p: np.ndarray) -> tuple[float, float, float]:
        pt2 = p[1] ** 2 + p[2] ** 2
        return pt2, 0.5 * math.log((p[0] + p[3]) / (p[0] - p[3])), math.atan2(p[2], p[1])

    while pseudo:
        best, action = math.inf, None
        for i, p in enumerate(pseudo):
            pt2, _, _ = kin(p)
            if 1 / pt2 < best:
                best, action = 1 / pt2, ("beam", i, -1)
            for j in range(i + 1, len(pseudo)):
                qt2, yq, aq = kin(pseudo[j])
                _, yp, ap = kin(p)
                dphi = (ap - aq + math.pi) % (2 * math.pi) - math.pi
                d = min(1 / pt2, 1 / qt2) * ((yp - yq) ** 2 + dphi**2) / radius**2
                if d < best:
                    best, action = d, ("pair", i, j)
        kind, i, j = action
        if kind == "beam":
            jets.append(pseudo.pop(i))
        else:
            pseudo[i] = pseudo[i] + pseudo[j]
            pseudo.pop(j)
    return sorted(jets, key=lambda p: -(p[1] ** 2 + p[2] ** 2))


def random_partons(n_events: int, n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    pt = rng.exponential(40.0, (n_events, n)) + 1.0
    eta = rng.normal(0, 1.0, (n_events, n))
    phi = rng.uniform(-np.pi, np.pi, (n_events, n))
    # pull some partons close together so merges happen
    eta[:, 1] = eta[:, 0] + rng.normal(0, 0.2, n_events)
    phi[:, 1] = phi[:, 0] + rng.normal(0, 0.2, n_events)
    p = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)
    return torch.tensor(p, dtype=torch.float64)


@pytest.mark.parametrize("radius", [0.4, 1.0])
def test_anti_kt_matches_reference(radius: float) -> None:
    p = random_partons(60, 5, seed=3)
    mask = torch.ones(p.shape[:2], dtype=torch.bool)
    mask[::4, 4] = False  # events with four partons only in the same batch
    jets, is_jet = anti_kt(p, mask, radius)
    merged = 0
    for e in range(len(p)):
        ref = reference_anti_kt([p[e, i].numpy() for i in range(5) if mask[e, i]], radius)
        got = sorted(
            (jets[e, i].numpy() for i in range(5) if is_jet[e, i]), key=lambda q: -(q[1] ** 2 + q[2] ** 2)
        )
        assert len(got) == len(ref)
        np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-12, atol=1e-9)
        merged += int(mask[e].sum()) - len(ref)
    assert merged > 10  # the test exercised merging, not just the beam step
    # four-momentum is conserved event by event
    torch.testing.assert_close(jets.sum(1), (p * mask[..., None]).sum(1), rtol=1e-12, atol=1e-9)


def test_collinear_pair_is_one_jet_and_wide_pair_two() -> None:
    p = torch.tensor(
        [[[50.0, 50, 0, 0], [10.0, 10 * math.cos(0.1), 10 * math.sin(0.1), 0], [30.0, -30, 0, 0]]],
        dtype=torch.float64,
    )
    jets, is_jet = anti_kt(p, torch.ones(1, 3, dtype=torch.bool), 0.4)
    assert is_jet.tolist() == [[True, False, True]]
    torch.testing.assert_close(jets[0, 0], p[0, 0] + p[0, 1])
    with pytest.raises(ValueError, match="jet radius"):
        anti_kt(p, torch.ones(1, 3, dtype=torch.bool), 0.0)
