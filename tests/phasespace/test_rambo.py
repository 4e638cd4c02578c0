"""RAMBO (forward only) and RAMBO on diet (invertible): volumes, kinematics, inverse."""

from __future__ import annotations

import math

import pytest
import torch
from ps_checks import assert_conserved, assert_on_shell, massless_volume, uniform

from mlgen.phasespace.diet import RamboDiet
from mlgen.phasespace.rambo import Rambo
from mlgen.phasespace.rambo import massless_volume as library_volume

SQRT_S = 1000.0


def _rest(n: int) -> torch.Tensor:
    return torch.tensor([SQRT_S, 0.0, 0.0, 0.0], dtype=torch.float64).expand(n, 4)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_massless_volume_exact_per_point(n: int) -> None:
    exact = massless_volume(n, SQRT_S**2)
    assert library_volume(n, SQRT_S**2) == pytest.approx(exact, rel=1e-14)
    rambo = Rambo(SQRT_S, [0.0] * n)
    p, log_w = rambo.forward(uniform(500, rambo.dim, seed=40 + n))
    assert_conserved(_rest(500), p)
    assert_on_shell(p, [0.0] * n)
    torch.testing.assert_close(torch.exp(log_w), torch.full_like(log_w, exact), rtol=1e-12, atol=0)
    diet = RamboDiet([0.0] * n)
    assert diet.dim == 3 * n - 4
    u = uniform(500, diet.dim, seed=50 + n)
    p, log_w = diet.forward(u, _rest(500))
    assert_conserved(_rest(500), p)
    assert_on_shell(p, [0.0] * n)
    torch.testing.assert_close(torch.exp(log_w), torch.full_like(log_w, exact), rtol=1e-12, atol=0)
    u2, log_w2 = diet.inverse(p)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-10)


def test_massive_two_body_volume() -> None:
    m1, m2 = 173.0, 250.0
    s = SQRT_S**2
    exact = math.sqrt((s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2)) / (8 * math.pi * s)
    rambo = Rambo(SQRT_S, [m1, m2])
    p, log_w = rambo.forward(uniform(200, rambo.dim, seed=60))
    assert_on_shell(p, [m1, m2])
    assert_conserved(_rest(200), p)
    torch.testing.assert_close(torch.exp(log_w), torch.full_like(log_w, exact), rtol=1e-10, atol=0)
    p, log_w = RamboDiet([m1, m2]).forward(uniform(200, 2, seed=61), _rest(200))
    torch.testing.assert_close(torch.exp(log_w), torch.full_like(log_w, exact), rtol=1e-12, atol=0)


@pytest.mark.parametrize("masses", [(173.0, 173.0, 80.4), (5.0, 0.0, 91.2, 30.0)])
def test_massive_diet_against_massive_rambo(masses: tuple[float, ...]) -> None:
    """Two independent algorithms estimate the same massive phase-space volume."""
    rambo = Rambo(SQRT_S, masses)
    p, log_w = rambo.forward(uniform(40000, rambo.dim, seed=62))
    assert_on_shell(p, masses)
    assert_conserved(_rest(40000), p)
    w_rambo = torch.exp(log_w)
    diet = RamboDiet(masses)
    u = uniform(40000, diet.dim, seed=63)
    p, log_w = diet.forward(u, _rest(40000))
    assert_on_shell(p, masses)
    assert_conserved(_rest(40000), p)
    w_diet = torch.exp(log_w)
    mean_r, mean_d = float(w_rambo.mean()), float(w_diet.mean())
    err = math.hypot(float(w_rambo.std()), float(w_diet.std())) / math.sqrt(40000)
    assert abs(mean_r - mean_d) < 4 * err
    assert err / mean_r < 0.01
    u2, log_w2 = diet.inverse(p)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-10)


def test_rambo_refuses_too_heavy_final_states() -> None:
    with pytest.raises(ValueError, match="sum of masses"):
        Rambo(100.0, [60.0, 60.0])
    assert not hasattr(Rambo(100.0, [0.0, 0.0]), "inverse")


@pytest.mark.gpu
def test_same_numbers_on_cuda() -> None:
    masses = (173.0, 0.0, 80.4, 5.0)
    rambo = Rambo(SQRT_S, masses)
    u = uniform(1000, rambo.dim, seed=64)
    p, log_w = rambo.forward(u)
    p_gpu, log_w_gpu = rambo.forward(u.to("cuda"))
    torch.testing.assert_close(p_gpu.cpu(), p, rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(log_w_gpu.cpu(), log_w, rtol=1e-12, atol=1e-10)
    diet = RamboDiet(masses)
    u = uniform(1000, diet.dim, seed=65)
    p, log_w = diet.forward(u, _rest(1000))
    p_gpu, log_w_gpu = diet.forward(u.to("cuda"), _rest(1000).to("cuda"))
    torch.testing.assert_close(p_gpu.cpu(), p, rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(log_w_gpu.cpu(), log_w, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("masses", [(0.0,) * 5, (173.0, 5.0, 0.0, 80.4, 91.2)])
def test_diet_mass_parametrisation_jacobian_against_autograd(masses: tuple[float, ...]) -> None:
    """``u -> (M_2^2 .. M_(n-1)^2)`` (invariants of the tails, angles fixed) by autograd, plus the
    closed-form two-body factors, gives the diet's weight: ``w = prod dPhi_2 prod dM_i^2/du_i / (2 pi)``."""
    n = len(masses)
    diet = RamboDiet(masses)
    u = uniform(4, diet.dim, seed=66)

    def tail_masses2(r: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        p, _ = diet.forward(torch.cat([r, angles])[None], _rest(1))
        tails = torch.flip(torch.cumsum(torch.flip(p[0], [0]), 0), [0])[1 : n - 1]
        return tails[:, 0] ** 2 - (tails[:, 1:] ** 2).sum(-1)

    _, log_w = diet.forward(u, _rest(4))
    for row, lw in zip(u, log_w, strict=True):
        r, angles = row[: n - 2], row[n - 2 :]
        jac = torch.autograd.functional.jacobian(lambda x, a=angles: tail_masses2(x, a), r)
        big_m = [SQRT_S, *tail_masses2(r, angles).sqrt().tolist(), masses[-1]]
        two_body = sum(
            0.5
            * math.log(
                (big_m[j] ** 2 - (masses[j] + big_m[j + 1]) ** 2)
                * (big_m[j] ** 2 - (masses[j] - big_m[j + 1]) ** 2)
            )
            - math.log(8 * math.pi * big_m[j] ** 2)
            for j in range(n - 1)
        )
        expected = float(torch.linalg.slogdet(jac).logabsdet) - (n - 2) * math.log(2 * math.pi) + two_body
        assert float(lw) == pytest.approx(expected, rel=1e-8)


def test_diet_round_trip_at_the_ends_of_the_mass_variables() -> None:
    """The root finder (bisection, then Newton) inverts each mass CDF from 1e-6 of 0 and 1e-14 of 1.

    Closer to 0 the last pair becomes collinear (``M^2 ~ r M_parent^2``); the forward map stays
    exact, but the inverse recomputes invariants and rest frames from lab-frame float64 momenta
    and loses ~``eps / r`` in ``u`` (1e-10 at ``r = 1e-6``, 1e-8 at 1e-8): a limit of the representation.
    """
    diet = RamboDiet([0.0] * 7)
    ends = torch.cat(
        [
            torch.logspace(-6, -1, 200, dtype=torch.float64),
            1.0 - torch.logspace(-14, -1, 200, dtype=torch.float64),
        ]
    )
    exact = massless_volume(7, SQRT_S**2)
    for column in range(5):
        u = uniform(400, diet.dim, seed=67 + column)
        u[:, column] = ends
        p, log_w = diet.forward(u, _rest(400))
        assert_conserved(_rest(400), p)
        torch.testing.assert_close(diet.inverse(p)[0], u, rtol=0, atol=1e-9)
        # near r = 1, M_i -> M_(i-1): (M_(i-1)^2 - M_i^2) and (1 - x_i) cancel only to eps / (1 - x_i)
        torch.testing.assert_close(torch.exp(log_w), torch.full_like(log_w, exact), rtol=1e-8, atol=0)
