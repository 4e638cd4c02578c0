"""Two-body phase space: angles, decay kinematics, its volume and the inverse."""

from __future__ import annotations

import math

import torch
from ps_checks import assert_conserved, assert_on_shell, per_event_log_det, uniform

from mlgen.phasespace.twobody import Angles, TwoBody, rest_frame_angles
from mlgen.physics.vectors import boost_to_rest_frame, mass2


def _parents(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    p3 = torch.randn(n, 3, generator=g, dtype=torch.float64) * 300.0
    m = 400.0 + 100.0 * torch.rand(n, generator=g, dtype=torch.float64)
    return torch.cat([torch.sqrt((p3 * p3).sum(-1) + m * m)[:, None], p3], -1)


def test_angles_bijection_and_jacobian() -> None:
    u = uniform(1000, 2, seed=20)
    y, log_j = Angles().forward(u)
    u2, log_j2 = Angles().inverse(y)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-14)
    torch.testing.assert_close(log_j2, -log_j)
    expected = per_event_log_det(lambda row: Angles().forward(row[None])[0][0], u[:5])
    torch.testing.assert_close(log_j[:5], expected, rtol=1e-12, atol=0)


def test_massive_two_body_decay() -> None:
    P = _parents(2000, seed=21)
    m1, m2 = 173.0, 80.4
    tb = TwoBody(m1, m2)
    u = uniform(2000, 2, seed=22)
    p, log_w = tb.forward(u, P)
    assert_conserved(P, p)
    assert_on_shell(p, [m1, m2])
    s = mass2(P)
    lam = (s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2)
    torch.testing.assert_close(log_w, torch.log(torch.sqrt(lam) / (8 * math.pi * s)), rtol=1e-12, atol=0)
    u2, log_w2 = tb.inverse(p)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-10)
    # cos(theta*) of p1 in the rest frame of P is 2 u_0 - 1
    q = boost_to_rest_frame(p[:, 0], P)
    torch.testing.assert_close(q[:, 3] / torch.linalg.vector_norm(q[:, 1:], dim=-1), 2 * u[:, 0] - 1)
    torch.testing.assert_close(rest_frame_angles(q), u, rtol=0, atol=1e-10)


def test_massless_two_body_volume_is_one_over_eight_pi() -> None:
    P = torch.tensor([[250.0, 0.0, 0.0, 120.0]], dtype=torch.float64).expand(10, 4)
    _, log_w = TwoBody(0.0, 0.0).forward(uniform(10, 2, seed=23), P)
    torch.testing.assert_close(torch.exp(log_w), torch.full((10,), 1 / (8 * math.pi), dtype=torch.float64))
