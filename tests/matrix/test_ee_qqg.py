"""e+e- -> q q~ g against the (x1^2 + x2^2)/((1 - x1)(1 - x2)) form times the Born cross section."""

from __future__ import annotations

import math

import pytest
import torch
from me_checks import check_protocol
from scipy import integrate, special

from mlgen.cards import parse_card
from mlgen.integrate.loop import vegas_integrate
from mlgen.matrix.ee_qqg import EEQQG
from mlgen.phasespace.tree import Node
from mlgen.physics.alphas import AlphaS
from mlgen.physics.sm import scheme
from mlgen.physics.vectors import dot, mass2
from mlgen.process.build import build_process
from mlgen.process.process import GEV2_TO_PB

FERMIONS = {
    11: (-1.0, -0.5),
    1: (-1 / 3, -0.5),
    2: (2 / 3, 0.5),
    3: (-1 / 3, -0.5),
    4: (2 / 3, 0.5),
    5: (-1 / 3, -0.5),
}
AXES = torch.tensor(
    [[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=torch.float64
)


def born_sigma(s, q, par, z=True):
    """sigma(e+e- -> q q~) = N_c 4 pi alpha^2/(3 s) C0 (textbook gamma/Z, written out here)."""
    (qe, te), (qq, tq) = FERMIONS[11], FERMIONS[q]
    sw2 = par.sw2
    ve, ae, vq, aq = te - 2 * qe * sw2, te, tq - 2 * qq * sw2, tq
    chi = s / (s - par.mz**2 + 1j * par.mz * par.wz) / (4 * sw2 * (1 - sw2)) if z else 0.0
    c0 = (qe * qq) ** 2 + 2 * qe * qq * ve * vq * chi.real + (ve**2 + ae**2) * (vq**2 + aq**2) * abs(chi) ** 2
    return 3 * 4 * math.pi * par.alpha**2 / (3 * s) * c0


def events(sqrt_s, x1, x2):
    """(B*6, 5, 4): each three-parton configuration with the beams along the six axes +-x, +-y, +-z
    (a spherical 2-design: averaging over them is the exact orientation average of |M|^2,
    which is quadratic in the beam direction)."""
    x3 = 2 - x1 - x2
    cos12 = 1 - 2 * (1 - x3) / (x1 * x2)
    sin12 = torch.sqrt(1 - cos12**2)
    e = sqrt_s / 2
    zero = torch.zeros_like(x1)
    # a fixed, generic orientation of the event plane
    p1 = e * x1[:, None] * torch.stack([zero + 0.48, zero + 0.6, zero + 0.64], -1)
    d1 = torch.tensor([0.48, 0.6, 0.64], dtype=torch.float64)
    u = torch.tensor([0.6, -0.48, 0.0], dtype=torch.float64)
    u = u / u.norm()  # orthogonal to d1
    p2 = e * x2[:, None] * (cos12[:, None] * d1 + sin12[:, None] * u)
    p3 = -(p1 + p2)
    partons = [torch.cat([e * x[:, None], v], -1) for x, v in ((x1, p1), (x2, p2), (x3, p3))]
    out = []
    for n in AXES:
        k1 = torch.cat([torch.full_like(x1, e)[:, None], e * n.expand(len(x1), 3)], -1)
        k2 = torch.cat([torch.full_like(x1, e)[:, None], -e * n.expand(len(x1), 3)], -1)
        out.append(torch.stack([k1, k2, *partons], 1))
    return torch.stack(out, 1).reshape(-1, 5, 4)


@pytest.mark.parametrize("mode,sqrt_s", [("photon", 30.0), ("full", 91.1876), ("full", 200.0)])
def test_orientation_average_is_x1_x2_formula(mode, sqrt_s):
    par = scheme("gmu")
    me = EEQQG(mode=mode, parameters=par)
    g = torch.Generator().manual_seed(3)
    x1 = 0.3 + 0.69 * torch.rand(20, generator=g, dtype=torch.float64)
    x2 = 1.0 - x1 + (0.999 - (1 - x1)) * torch.rand(20, generator=g, dtype=torch.float64)
    p = events(sqrt_s, x1, x2)
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2:].sum(1), rtol=0, atol=1e-12)
    torch.testing.assert_close(mass2(p), torch.zeros(p.shape[:2], dtype=torch.float64), rtol=0, atol=1e-9)
    alpha_s = torch.full((p.shape[0],), 0.12, dtype=torch.float64)
    avg = me(p, alpha_s).reshape(20, 6, -1).mean(1)
    shape = (x1**2 + x2**2) / ((1 - x1) * (1 - x2))
    for k, sub in enumerate(me.subprocesses):
        sigma = born_sigma(sqrt_s**2, sub.pdg[2], par, z=mode == "full")
        expected = 256 * math.pi**3 * sigma * (4 / 3) * 0.12 / (2 * math.pi) * shape
        torch.testing.assert_close(avg[:, k], expected, rtol=1e-11, atol=0)


def born_me2(s, cos, q, par):
    """Born |M|^2 of e+e- -> q q~ at quark angle ``cos`` to the electron, forward-backward term included."""
    (qe, te), (qq, tq) = FERMIONS[11], FERMIONS[q]
    sw2 = par.sw2
    ve, ae, vq, aq = te - 2 * qe * sw2, te, tq - 2 * qq * sw2, tq
    chi = s / (s - par.mz**2 + 1j * par.mz * par.wz) / (4 * sw2 * (1 - sw2))
    c0 = (qe * qq) ** 2 + 2 * qe * qq * ve * vq * chi.real + (ve**2 + ae**2) * (vq**2 + aq**2) * abs(chi) ** 2
    c1 = 2 * qe * qq * ae * aq * chi.real + 4 * ve * ae * vq * aq * abs(chi) ** 2
    return 3 * 16 * math.pi**2 * par.alpha**2 * ((1 + cos**2) * c0 + 2 * cos * c1)


def test_soft_gluon_limit_is_eikonal_times_born():
    """p3 -> 0: |M|^2 -> C_F g^2 2 p1.p2/((p1.p3)(p2.p3)) |M_Born|^2, with the angular (A_FB) term."""
    par = scheme("gmu")
    me = EEQQG(parameters=par)
    eps = torch.tensor([1e-5], dtype=torch.float64)
    p = events(91.0, 1 - eps, 1 - 0.7 * eps)
    alpha_s = torch.full((6,), 0.1, dtype=torch.float64)
    out = me(p, alpha_s)
    k1, _, p1, p2, p3 = p.unbind(1)
    eikonal = (4 / 3) * 4 * math.pi * 0.1 * 2 * dot(p1, p2) / (dot(p1, p3) * dot(p2, p3))
    cos = (p1[:, 1:] * k1[:, 1:]).sum(-1) / (p1[:, 0] * k1[:, 0])
    for k, sub in enumerate(me.subprocesses):
        torch.testing.assert_close(
            out[:, k], eikonal * born_me2(91.0**2, cos, sub.pdg[2], par), rtol=1e-4, atol=0
        )


def test_protocol_and_flow():
    me = EEQQG()
    x = torch.tensor([0.7, 0.9], dtype=torch.float64)
    p = events(91.0, x, torch.tensor([0.8, 0.5], dtype=torch.float64))
    out = check_protocol(me, p)
    assert me.subprocesses[0].colour_flows == (((0, 0), (0, 0), (1, 0), (0, 2), (2, 1)),)
    torch.testing.assert_close(me(p, torch.full((len(p),), 0.2, dtype=torch.float64)), out * 0.2 / 0.118)


@pytest.mark.gpu
def test_ee_qqg_on_cuda():
    x = torch.tensor([0.7, 0.9], dtype=torch.float64)
    p = events(91.0, x, torch.tensor([0.8, 0.5], dtype=torch.float64))
    torch.testing.assert_close(EEQQG()(p.cuda()).cpu(), EEQQG()(p), rtol=1e-12, atol=0)


def three_jet_shape(y: float) -> float:
    """``int (x1^2 + x2^2)/((1 - x1)(1 - x2)) dx1 dx2`` over ``y_ij = m_ij^2 / s > y`` for all pairs:
    the O(alpha_s) three-jet rate ``R_3 = C_F alpha_s / (2 pi)`` times this, in closed form
    (Ellis, Stirling, Webber, *QCD and Collider Physics*, sec. 3.3)."""
    li2 = special.spence(1 - y / (1 - y))  # scipy's spence(z) is Li2(1 - z)
    return (
        (3 - 6 * y) * math.log(y / (1 - 2 * y))
        + 2 * math.log(y / (1 - y)) ** 2
        + 2.5
        - 6 * y
        - 4.5 * y**2
        + 4 * li2
        - math.pi**2 / 3
    )


@pytest.mark.parametrize("y", [0.01, 0.1])
def test_three_jet_shape_against_quadrature(y):
    quad, _ = integrate.dblquad(
        lambda x2, x1: (x1**2 + x2**2) / ((1 - x1) * (1 - x2)),
        2 * y,
        1 - y,
        lambda x1: 1 + y - x1,
        lambda x1: 1 - y,
        epsabs=1e-12,
        epsrel=1e-12,
    )
    assert three_jet_shape(y) == pytest.approx(quad, rel=1e-12)


@pytest.mark.parametrize("y_cut", [0.01, 0.05])
def test_three_jet_cross_section_from_the_card(y_cut):
    """Card -> process -> VEGAS: sigma(y_ij > y_cut) = sigma_Born C_F alpha_s / (2 pi) x shape(y_cut).

    The phase-space maps sample the pair masses only above the cut (``Node.floor``), so this also
    checks the floors' Jacobians."""
    sqrt_s = 91.188
    card = (
        '[process]\nmatrix_element = "ee_qqg"\n[beams]\nparticles = ["e-", "e+"]\n'
        f'sqrt_s = {sqrt_s}\n[scales]\nmu_r = "fixed"\nmu_f = "fixed"\nvalue = {sqrt_s}\n'
        f'[[cuts]]\nobservable = "y_pair"\nobjects = "jets"\nmin = {y_cut}\n'
    )
    process = build_process(parse_card(card))
    inner = list(_inner_nodes(process.phase_space.final.root))
    assert len(inner) == 1 and inner[0].floor == (0.0, y_cut) and inner[0].nu == 1.0  # the q g pair
    result, _ = vegas_integrate(process, process.dim, n_adapt_iter=10, n_per_iter=50_000, n_iter=5, seed=5)
    par = scheme("gmu")
    alpha_s = float(AlphaS.from_mz(par.alpha_s_mz, mz=par.mz)(torch.tensor([sqrt_s**2]))[0])
    born = sum(born_sigma(sqrt_s**2, q, par) for q in (1, 2, 3, 4, 5)) * GEV2_TO_PB
    exact = born * (4 / 3) * alpha_s / (2 * math.pi) * three_jet_shape(y_cut)
    assert abs(result.mean - exact) < 4 * result.sdev, (result.mean, result.sdev, exact)
    assert result.sdev / exact < 6e-3  # VEGAS on one channel's map: spread ~2 per point


def _inner_nodes(node):
    for child in node.children:
        if isinstance(child, Node):
            yield child
            yield from _inner_nodes(child)
