"""The (tau, y) luminosity map and the lepton-collider mode."""

from __future__ import annotations

import math

import pytest
import torch
from ps_checks import assert_mc, per_event_log_det, uniform

from mlgen.phasespace.invariants import BreitWigner, PowerLaw
from mlgen.phasespace.momentum_fractions import LeptonBeams, TauRapidity

SQRT_S = 13000.0
MAPS = {
    "log-tau": TauRapidity(SQRT_S, 10.0**2),
    "window": TauRapidity(SQRT_S, 60.0**2, 120.0**2),
    "bw": TauRapidity(SQRT_S, 60.0**2, 120.0**2, BreitWigner(91.19, 2.50)),
    "power": TauRapidity(SQRT_S, 100.0**2, None, PowerLaw(2.0)),
}


@pytest.mark.parametrize("name", list(MAPS))
def test_round_trip_and_range(name: str) -> None:
    m = MAPS[name]
    u = uniform(4000, 2, seed=10)
    x, log_j = m.forward(u)
    assert bool(((x > 0) & (x <= 1.0)).all())
    s_hat = x[:, 0] * x[:, 1] * SQRT_S**2
    assert bool(((s_hat >= m.s_hat_min * (1 - 1e-12)) & (s_hat <= m.s_hat_max * (1 + 1e-12))).all())
    u2, log_j_inv = m.inverse(x)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_j_inv, -log_j, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", list(MAPS))
def test_log_jacobian_against_autograd(name: str) -> None:
    m = MAPS[name]
    u = uniform(6, 2, seed=11)
    expected = per_event_log_det(lambda row: m.forward(row[None])[0][0], u)
    torch.testing.assert_close(m.forward(u)[1], expected, rtol=1e-8, atol=0)


def test_weight_integrates_to_the_area_of_the_tau_window() -> None:
    """``int dx1 dx2 [tau_min < x1 x2 < tau_max] = int dtau (-log tau)`` in closed form."""
    m = MAPS["window"]
    t0, t1 = m.s_hat_min / SQRT_S**2, m.s_hat_max / SQRT_S**2
    exact = (t1 - t1 * math.log(t1)) - (t0 - t0 * math.log(t0))
    w = torch.exp(m.forward(uniform(20000, 2, seed=12))[1])
    assert_mc(w, exact, max_rel_sdev=0.01)
    w = torch.exp(MAPS["bw"].forward(uniform(20000, 2, seed=13))[1])
    assert_mc(w, exact, max_rel_sdev=0.05)


def test_lepton_beams_use_no_numbers() -> None:
    m = LeptonBeams(500.0)
    u = torch.empty(7, 0, dtype=torch.float64)
    x, log_j = m.forward(u)
    assert m.dim == 0 and x.shape == (7, 2)
    assert bool((x == 1).all() and (log_j == 0).all())
    u2, log_j2 = m.inverse(x)
    assert u2.shape == (7, 0) and bool((log_j2 == 0).all())


def test_bad_window() -> None:
    with pytest.raises(ValueError, match="s_hat_min"):
        TauRapidity(100.0, 200.0**2)
