"""Boosts with the frame's mass given, the Källén function, incoming partons."""

from __future__ import annotations

import torch
from ps_checks import uniform

from mlgen.phasespace.base import boost_from_rest, boost_to_rest, incoming_momenta, kallen
from mlgen.physics.vectors import boost_from_rest_frame, mass2


def test_boosts_agree_with_vectors_and_invert() -> None:
    g = torch.Generator().manual_seed(80)
    q3 = torch.randn(500, 3, generator=g, dtype=torch.float64) * 200.0
    m = 50.0 + 100.0 * torch.rand(500, generator=g, dtype=torch.float64)
    frame = torch.cat([torch.sqrt((q3 * q3).sum(-1) + m * m)[:, None], q3], -1)
    p = torch.cat([torch.full((500, 1), 30.0, dtype=torch.float64), 10.0 * uniform(500, 3, seed=81)], -1)
    lab = boost_from_rest(p, frame, m)
    torch.testing.assert_close(lab, boost_from_rest_frame(p, frame), rtol=1e-12, atol=1e-10)
    torch.testing.assert_close(boost_to_rest(lab, frame, m), p, rtol=1e-12, atol=1e-10)
    rest = torch.stack([m, 0 * m, 0 * m, 0 * m], -1)
    torch.testing.assert_close(boost_from_rest(rest, frame, m), frame, rtol=1e-14, atol=1e-12)


def test_boost_keeps_precision_for_large_gamma() -> None:
    """gamma = 1e7: the daughters of a light pair still add up to the parent to rounding."""
    m = torch.tensor([1e-4], dtype=torch.float64)
    frame = torch.tensor([[1e3, 0.0, 0.0, (1e6 - 1e-8) ** 0.5]], dtype=torch.float64)
    daughters = torch.tensor([[[5e-5, 3e-5, 0.0, 4e-5], [5e-5, -3e-5, 0.0, -4e-5]]], dtype=torch.float64)
    lab = boost_from_rest(daughters, frame[:, None], m[:, None])
    assert float((lab.sum(1) - frame).abs().max()) < 1e-12 * 1e3


def test_kallen_and_incoming() -> None:
    s = torch.tensor([1000.0**2], dtype=torch.float64)
    m1, m2 = 173.0, 80.0
    expanded = s**2 + m1**4 + m2**4 - 2 * s * m1**2 - 2 * s * m2**2 - 2 * m1**2 * m2**2
    torch.testing.assert_close(kallen(s, m1, m2), expanded, rtol=1e-12, atol=0)
    assert float(kallen(torch.tensor([100.0], dtype=torch.float64), 6.0, 6.0)) == 0.0
    pa, pb = incoming_momenta(torch.tensor([0.1]), torch.tensor([0.2]), 1000.0)
    torch.testing.assert_close(mass2(pa + pb), torch.tensor([0.1 * 0.2 * 1000.0**2]))
