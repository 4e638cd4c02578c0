"""PhaseSpace end to end: lab-frame momenta, x1 and x2, the weight against an independent Jacobian.

The independent check: for hadron beams, ``dx1 dx2 dPhi_n`` written in the free
coordinates ``z = (p_1, .., p_(n-1) three-vectors, p_n^z)`` is
``(2/s) (2 pi)^4 prod_i 1/((2 pi)^3 2 E_i) d^(3n-2) z`` (the ``delta^4`` eats ``x1, x2``
and ``p_n^T``), so ``weight = |det dz/du| x`` that factor, with the determinant from
``torch.autograd.functional.jacobian``. At a lepton collider ``z = (p_1 .. p_(n-2),
p_(n-1)^x, p_(n-1)^y)`` and the energy delta gives ``1/|v_(n-1)^z - v_n^z|``.
"""

from __future__ import annotations

import math

import pytest
import torch
from ps_checks import (
    assert_conserved,
    assert_mc,
    assert_on_shell,
    massless_volume,
    per_event_log_det,
    uniform,
)
from scipy.integrate import quad

from mlgen.phasespace import (
    Node,
    PhaseSpace,
    PhaseSpacePoint,
    drell_yan,
    ttbar_decay_chain,
    w_to_lepton_neutrino,
)

SQRT_S = 13000.0
TTBAR_MASSES = (4.7, 0.0, 0.0, 4.7, 0.0, 0.0)

SPACES = {
    "drell-yan": lambda: PhaseSpace(SQRT_S, [0.0, 0.0], drell_yan(), m_min=60.0, m_max=120.0),
    "w-enu": lambda: PhaseSpace(SQRT_S, [0.000511, 0.0], w_to_lepton_neutrino()),
    "ttbar-2to2": lambda: PhaseSpace(SQRT_S, [173.0, 173.0], Node((0, 1))),
    "ttbar-chain": lambda: PhaseSpace(SQRT_S, TTBAR_MASSES, ttbar_decay_chain(), m_min=250.0),
    "rambo-massive": lambda: PhaseSpace(SQRT_S, [173.0, 173.0, 91.2], "rambo"),
    **{
        f"rambo-{n}": (lambda n=n: PhaseSpace(SQRT_S, [0.0] * n, "rambo", m_min=20.0 * n))
        for n in range(2, 7)
    },
}
LEPTON_SPACES = {
    "ee-mumu": lambda: PhaseSpace(91.2, [0.10566, 0.10566], "rambo", hadronic=False),
    "ee-ttbar-chain": lambda: PhaseSpace(500.0, TTBAR_MASSES, ttbar_decay_chain(), hadronic=False),
    "ee-4jets": lambda: PhaseSpace(500.0, [0.0] * 4, "rambo", hadronic=False),
}


@pytest.mark.parametrize("name", list(SPACES) + list(LEPTON_SPACES))
def test_kinematics_and_round_trip(name: str) -> None:
    ps = (SPACES | LEPTON_SPACES)[name]()
    u = uniform(2000, ps.dim, seed=70)
    point, log_w = ps.forward(u)
    p = point.momenta
    assert p.shape == (2000, 2 + ps.n, 4) and ps.dim == ps.beams.dim + 3 * ps.n - 4
    assert bool(torch.isfinite(log_w).all())
    # incoming partons: beam A along +z with x1 sqrt_s / 2, beam B along -z
    half = 0.5 * ps.sqrt_s
    torch.testing.assert_close(p[:, 0, 0], point.x1 * half, rtol=1e-15, atol=0)
    torch.testing.assert_close(p[:, 0, 3], point.x1 * half, rtol=1e-15, atol=0)
    torch.testing.assert_close(p[:, 1, 3], -point.x2 * half, rtol=1e-15, atol=0)
    assert bool((p[:, :2, 1:3] == 0).all())
    assert bool(((point.x1 > 0) & (point.x1 <= 1) & (point.x2 > 0) & (point.x2 <= 1)).all())
    assert_conserved(p[:, :2].sum(1), p[:, 2:])
    assert_on_shell(p[:, 2:], ps.masses)
    u2, log_w2 = ps.inverse(point)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-9)


def _hadronic_log_density(ps: PhaseSpace, u: torch.Tensor) -> torch.Tensor:
    def coords(row: torch.Tensor) -> torch.Tensor:
        p = ps.forward(row[None])[0].momenta[0, 2:]
        return torch.cat([p[:-1, 1:].reshape(-1), p[-1, 3:]])

    p = ps.forward(u)[0].momenta[:, 2:]
    factor = math.log(2.0 / SQRT_S**2) + 4 * math.log(2 * math.pi)
    factor = factor - torch.log((2 * math.pi) ** 3 * 2 * p[..., 0]).sum(-1)
    return per_event_log_det(coords, u) + factor


@pytest.mark.parametrize("name", list(SPACES))
def test_weight_against_autograd_jacobian_of_momenta(name: str) -> None:
    ps = SPACES[name]()
    u = uniform(4, ps.dim, seed=71)
    torch.testing.assert_close(ps.forward(u)[1], _hadronic_log_density(ps, u), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("name", list(LEPTON_SPACES))
def test_lepton_weight_against_autograd_jacobian(name: str) -> None:
    ps = LEPTON_SPACES[name]()
    n = ps.n

    def coords(row: torch.Tensor) -> torch.Tensor:
        p = ps.forward(row[None])[0].momenta[0, 2:]
        return torch.cat([p[: n - 2, 1:].reshape(-1), p[n - 2, 1:3]])

    u = uniform(4, ps.dim, seed=72)
    point, log_w = ps.forward(u)
    p = point.momenta[:, 2:]
    velocity = p[..., 3] / p[..., 0]
    expected = (
        per_event_log_det(coords, u)
        + 4 * math.log(2 * math.pi)
        - torch.log((2 * math.pi) ** 3 * 2 * p[..., 0]).sum(-1)
        - torch.log((velocity[:, n - 2] - velocity[:, n - 1]).abs())
    )
    torch.testing.assert_close(log_w, expected, rtol=1e-8, atol=1e-8)


def _tau_integral(s_lo: float, s_hi: float, f) -> float:  # noqa: ANN001
    """``int dx1 dx2 f(s_hat) = int dtau (-log tau) f(tau s)``, by quadrature."""
    s = SQRT_S**2
    return quad(lambda t: -math.log(t) * f(t * s), s_lo / s, s_hi / s, epsrel=1e-10, limit=200)[0]


def test_drell_yan_volume() -> None:
    """The m_ll window is the tau range, and the weights add up to ``int dtau (-log tau) / (8 pi)``."""
    ps = SPACES["drell-yan"]()
    point, log_w = ps.forward(uniform(40000, ps.dim, seed=73))
    m_ll = torch.sqrt(point.x1 * point.x2) * SQRT_S
    assert float(m_ll.min()) >= 60.0 - 1e-9 and float(m_ll.max()) <= 120.0 + 1e-9
    exact = _tau_integral(60.0**2, 120.0**2, lambda s_hat: 1 / (8 * math.pi))
    assert_mc(torch.exp(log_w), exact, max_rel_sdev=0.05)


def test_massive_two_to_two_volume_tree_and_diet_agree_with_quadrature() -> None:
    m = 173.0

    def phi2(s_hat: float) -> float:
        return math.sqrt(max(s_hat * (s_hat - 4 * m * m), 0.0)) / (8 * math.pi * s_hat)

    exact = _tau_integral((2 * m) ** 2, SQRT_S**2, phi2)
    spaces = (
        (SPACES["ttbar-2to2"](), 74, 0.02),
        (PhaseSpace(SQRT_S, [m, m], "rambo"), 75, 0.02),
        (PhaseSpace(SQRT_S, [m, m], Node((0, 1), nu=2.0)), 78, 0.06),  # s_hat^-2: steeper than needed
    )
    assert spaces[2][0].beams.invariant.nu == 2.0
    for ps, seed, tolerance in spaces:
        assert_mc(torch.exp(ps.forward(uniform(40000, ps.dim, seed=seed))[1]), exact, max_rel_sdev=tolerance)


def test_lepton_collider_massless_volume_is_exact() -> None:
    ps = LEPTON_SPACES["ee-4jets"]()
    point, log_w = ps.forward(uniform(100, ps.dim, seed=76))
    assert bool((point.x1 == 1).all() and (point.x2 == 1).all())
    exact = massless_volume(4, 500.0**2)
    torch.testing.assert_close(torch.exp(log_w), torch.full_like(log_w, exact), rtol=1e-12, atol=0)


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="m_min"):
        PhaseSpace(SQRT_S, [0.0, 0.0], "rambo")
    with pytest.raises(ValueError, match="window"):
        PhaseSpace(SQRT_S, [0.0, 0.0], drell_yan(), m_min=120.0, m_max=60.0)
    with pytest.raises(ValueError, match="topology"):
        PhaseSpace(SQRT_S, [0.0, 0.0], "flat")  # type: ignore[arg-type]


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["drell-yan", "ttbar-chain", "rambo-massive", "rambo-5"])
def test_same_numbers_on_cuda(name: str) -> None:
    ps = SPACES[name]()
    u = uniform(1000, ps.dim, seed=77)
    point, log_w = ps.forward(u)
    point_gpu, log_w_gpu = ps.forward(u.to("cuda"))
    assert point_gpu.momenta.device.type == "cuda" and log_w_gpu.device.type == "cuda"
    torch.testing.assert_close(point_gpu.momenta.cpu(), point.momenta, rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(log_w_gpu.cpu(), log_w, rtol=1e-12, atol=1e-10)
    u2, _ = ps.inverse(point_gpu)
    torch.testing.assert_close(u2.cpu(), u, rtol=0, atol=1e-10)
    assert isinstance(point.to("cuda"), PhaseSpacePoint)
