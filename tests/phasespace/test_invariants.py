"""Invariant-mass maps: bijection, log|J| against autograd, and integrals of propagators."""

from __future__ import annotations

import math

import pytest
import torch
from ps_checks import assert_mc, uniform

from mlgen.phasespace.invariants import BreitWigner, Flat, PowerLaw

MZ, WZ = 91.1876, 2.4952

MAPS = [
    ("flat", Flat(), 10.0, 2.0e4),
    ("bw", BreitWigner(MZ, WZ), 60.0**2, 120.0**2),
    ("bw-wide", BreitWigner(MZ, WZ), 0.0, 1.0e6),
    ("log", PowerLaw(1.0), 10.0, 1.0e8),
    ("nu0.7", PowerLaw(0.7), 1.0, 1.0e6),
    ("nu1.5-shift", PowerLaw(1.5, shift=4.0), 0.0, 1.0e6),
]


@pytest.mark.parametrize(("name", "m", "lo", "hi"), MAPS, ids=[x[0] for x in MAPS])
def test_round_trip_and_bounds(name: str, m, lo: float, hi: float) -> None:  # noqa: ANN001
    u = uniform(4000, 1, seed=1)[:, 0]
    s, log_j = m.forward(u, lo, hi)
    assert bool(((s >= lo * (1 - 1e-12)) & (s <= hi * (1 + 1e-12))).all())
    u2, log_j_inv = m.inverse(s, lo, hi)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_j_inv, -log_j, rtol=0, atol=1e-12)
    # the end points map onto the bounds
    ends, _ = m.forward(torch.tensor([0.0, 1.0], dtype=torch.float64), lo, hi)
    torch.testing.assert_close(ends, torch.tensor([lo, hi], dtype=torch.float64), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize(("name", "m", "lo", "hi"), MAPS, ids=[x[0] for x in MAPS])
def test_log_jacobian_against_autograd(name: str, m, lo: float, hi: float) -> None:  # noqa: ANN001
    u = uniform(12, 1, seed=2)[:, 0]
    jac = torch.autograd.functional.jacobian(lambda x: m.forward(x, lo, hi)[0], u)
    torch.testing.assert_close(jac - torch.diag(torch.diagonal(jac)), torch.zeros_like(jac))
    _, log_j = m.forward(u, lo, hi)
    torch.testing.assert_close(log_j, torch.log(torch.diagonal(jac).abs()), rtol=1e-8, atol=0)


def test_bounds_may_be_tensors() -> None:
    u = uniform(50, 1, seed=3)[:, 0]
    lo = torch.linspace(0.0, 100.0, 50, dtype=torch.float64)
    hi = lo + torch.linspace(1.0, 1e4, 50, dtype=torch.float64)
    s, _ = BreitWigner(80.0, 2.0).forward(u, lo, hi)
    assert bool(((s >= lo) & (s <= hi)).all())
    u2, _ = BreitWigner(80.0, 2.0).inverse(s, lo, hi)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-12)


def _bw(s: torch.Tensor) -> torch.Tensor:
    return 1.0 / ((s - MZ**2) ** 2 + (MZ * WZ) ** 2)


def test_breit_wigner_integrates_to_arctan_closed_form() -> None:
    lo, hi = 60.0**2, 120.0**2
    exact = (math.atan((hi - MZ**2) / (MZ * WZ)) - math.atan((lo - MZ**2) / (MZ * WZ))) / (MZ * WZ)
    u = uniform(20000, 1, seed=4)[:, 0]
    # the Breit-Wigner map flattens the Breit-Wigner: every weight is the integral
    s, log_j = BreitWigner(MZ, WZ).forward(u, lo, hi)
    w = torch.exp(log_j) * _bw(s)
    torch.testing.assert_close(w, torch.full_like(w, exact), rtol=1e-12, atol=0)
    # a flat map estimates the same number, with a spread, and the BW map integrates a flat function
    s, log_j = Flat().forward(u, lo, hi)
    assert_mc(torch.exp(log_j) * _bw(s), exact, max_rel_sdev=0.05)
    s, log_j = BreitWigner(MZ, WZ).forward(u, lo, hi)
    assert_mc(torch.exp(log_j), hi - lo, max_rel_sdev=0.05)


def test_power_law_flattens_its_propagator() -> None:
    lo, hi = 1.0, 1.0e6
    u = uniform(1000, 1, seed=5)[:, 0]
    s, log_j = PowerLaw(1.0).forward(u, lo, hi)
    torch.testing.assert_close(
        torch.exp(log_j) / s, torch.full_like(s, math.log(hi / lo)), rtol=1e-12, atol=0
    )
    s, log_j = PowerLaw(1.3).forward(u, lo, hi)
    exact = (lo**-0.3 - hi**-0.3) / 0.3
    torch.testing.assert_close(torch.exp(log_j) * s**-1.3, torch.full_like(s, exact), rtol=1e-12, atol=0)


def test_log_map_refuses_zero_lower_bound() -> None:
    with pytest.raises(ValueError, match="s_min"):
        PowerLaw(1.0).forward(uniform(3, 1, seed=6)[:, 0], 0.0, 1.0)
    with pytest.raises(ValueError, match="width"):
        BreitWigner(91.0, 0.0)
