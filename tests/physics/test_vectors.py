"""Four-vector functions against independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlgen.physics import vectors as v


def random_momenta(n: int, seed: int = 1, massive: bool = True) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    p3 = torch.randn(n, 3, generator=g, dtype=torch.float64) * 50.0
    m = (
        torch.rand(n, generator=g, dtype=torch.float64) * 20.0
        if massive
        else torch.zeros(n, dtype=torch.float64)
    )
    e = torch.sqrt((p3 * p3).sum(-1) + m * m)
    return torch.cat([e[:, None], p3], dim=-1)


def test_mass_pt_rapidity_against_numpy() -> None:
    p = random_momenta(1000)
    a = p.numpy()
    m2 = a[:, 0] ** 2 - a[:, 1] ** 2 - a[:, 2] ** 2 - a[:, 3] ** 2
    np.testing.assert_allclose(v.mass2(p).numpy(), m2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(v.pt(p).numpy(), np.sqrt(a[:, 1] ** 2 + a[:, 2] ** 2), rtol=1e-14)
    y = 0.5 * np.log((a[:, 0] + a[:, 3]) / (a[:, 0] - a[:, 3]))
    np.testing.assert_allclose(v.rapidity(p).numpy(), y, rtol=1e-12)
    theta = np.arctan2(np.hypot(a[:, 1], a[:, 2]), a[:, 3])
    np.testing.assert_allclose(v.pseudorapidity(p).numpy(), -np.log(np.tan(theta / 2)), rtol=1e-10)
    np.testing.assert_allclose(v.phi(p).numpy(), np.arctan2(a[:, 2], a[:, 1]), rtol=1e-14)


def test_boost_round_trip_and_invariance() -> None:
    p = random_momenta(500, seed=2)
    frame = random_momenta(500, seed=3) + torch.tensor([200.0, 0, 0, 0], dtype=torch.float64)
    rest = v.boost_to_rest_frame(frame, frame)
    # the frame itself is at rest in its own rest frame
    torch.testing.assert_close(rest[:, 1:], torch.zeros_like(rest[:, 1:]), atol=1e-9, rtol=0)
    torch.testing.assert_close(rest[:, 0], v.mass(frame), rtol=1e-12, atol=0)
    q = v.boost_to_rest_frame(p, frame)
    torch.testing.assert_close(v.mass2(q), v.mass2(p), rtol=1e-9, atol=1e-8)
    torch.testing.assert_close(v.dot(q, rest), v.dot(p, frame), rtol=1e-10, atol=1e-8)
    back = v.boost_from_rest_frame(q, frame)
    torch.testing.assert_close(back, p, rtol=1e-11, atol=1e-9)


def test_boost_along_z_matches_rapidity_shift() -> None:
    p = random_momenta(100, seed=4)
    eta = 0.7
    boosted = v.boost(p, torch.tensor([0.0, 0.0, math.tanh(eta)], dtype=torch.float64))
    torch.testing.assert_close(v.rapidity(boosted), v.rapidity(p) + eta, rtol=0, atol=1e-12)
    torch.testing.assert_close(v.pt(boosted), v.pt(p), rtol=1e-14, atol=0)


def test_zero_boost_is_exact_identity() -> None:
    p = random_momenta(10, seed=5)
    out = v.boost(p, torch.zeros(10, 3, dtype=torch.float64))
    assert torch.equal(out, p)


def test_delta_phi_wraps_and_delta_r() -> None:
    a = v.from_pt_eta_phi_m(*(torch.tensor([x], dtype=torch.float64) for x in (30.0, 0.5, 3.0, 0.0)))
    b = v.from_pt_eta_phi_m(*(torch.tensor([x], dtype=torch.float64) for x in (40.0, -0.5, -3.0, 0.0)))
    dphi = float(v.delta_phi(a, b))
    assert dphi == pytest.approx(6.0 - 2 * math.pi, abs=1e-12)
    assert float(v.delta_r(a, b)) == pytest.approx(math.hypot(1.0, 6.0 - 2 * math.pi), abs=1e-12)


def test_from_pt_eta_phi_m_round_trip() -> None:
    p = random_momenta(200, seed=6)
    q = v.from_pt_eta_phi_m(v.pt(p), v.pseudorapidity(p), v.phi(p), v.mass(p))
    torch.testing.assert_close(q, p, rtol=1e-10, atol=1e-9)


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    p = random_momenta(100, seed=7)
    frame = random_momenta(100, seed=8) + torch.tensor([300.0, 0, 0, 0], dtype=torch.float64)
    cpu = v.boost_to_rest_frame(p, frame)
    gpu = v.boost_to_rest_frame(p.cuda(), frame.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-12, atol=1e-12)
