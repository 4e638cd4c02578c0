"""The six-parton t t~ matrix element: integrating out the decays gives sigma(t t~) x BR^2."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from me_checks import check_protocol, two_to_two

from mlgen.matrix.ttbar import TTbar
from mlgen.matrix.ttbar_decay import TTbarAllHadronic
from mlgen.physics.sm import scheme
from mlgen.physics.vectors import boost_from_rest_frame, boost_to_rest_frame


def isotropic(n, g):
    cos = 2 * torch.rand(n, generator=g, dtype=torch.float64) - 1
    phi = 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    sin = torch.sqrt(1 - cos * cos)
    return torch.stack([sin * torch.cos(phi), sin * torch.sin(phi), cos], -1)


def decay(parent, m1sq, m2sq, g):
    """Isotropic two-body decay of ``parent`` (B, 4); returns (p1, p2, dPhi_2)."""
    msq = parent[:, 0] ** 2 - (parent[:, 1:] ** 2).sum(-1)
    lam = (msq - m1sq - m2sq) ** 2 - 4 * m1sq * m2sq
    k = torch.sqrt(lam) / (2 * torch.sqrt(msq))
    d = isotropic(len(parent), g) * k[:, None]
    p1 = torch.cat([torch.sqrt(k * k + m1sq)[:, None], d], -1)
    p2 = torch.cat([torch.sqrt(k * k + m2sq)[:, None], -d], -1)
    return (
        boost_from_rest_frame(p1, parent),
        boost_from_rest_frame(p2, parent),
        torch.sqrt(lam) / (8 * math.pi * msq),
    )


def breit_wigner_sample(n, mass, width, half_window, g):
    """s in [(M - h)^2, (M + h)^2] flat in arctan.

    Returns (s, ds/(2 pi) weight, captured fraction Dphi/pi).
    """
    lo = math.atan(((mass - half_window) ** 2 - mass**2) / (mass * width))
    hi = math.atan(((mass + half_window) ** 2 - mass**2) / (mass * width))
    phi = lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)
    s = mass**2 + mass * width * torch.tan(phi)
    weight = (hi - lo) * ((s - mass**2) ** 2 + (mass * width) ** 2) / (mass * width) / (2 * math.pi)
    return s, weight, (hi - lo) / math.pi


def test_decays_integrate_to_branching_fractions():
    """int ds_t/2pi ds_t~/2pi dPhi_3 dPhi_3 |M_6|^2 = |M_2->2|^2 (G(t -> b u d~)/G_t)^2 in the narrow-width
    limit, G(t -> b u d~) = G(t -> b W) G(W -> u d~)/G_W from the textbook widths (G_F, m_t, m_W)."""
    par = replace(scheme("gmu"), wt=0.005, ww=0.002)  # narrow: finite-width corrections ~ G/m < 1e-4
    me6, me2 = TTbarAllHadronic(parameters=par), TTbar(parameters=par)
    mt, mw, gf = par.mt, par.mw, par.gf
    n, g = 100_000, torch.Generator().manual_seed(11)
    sqrt_s, cos, phi = 500.0, 0.3, 0.4
    direction = torch.tensor(
        [math.sqrt(1 - cos * cos) * math.cos(phi), math.sqrt(1 - cos * cos) * math.sin(phi), cos],
        dtype=torch.float64,
    )
    s_t, w_t, f_t = breit_wigner_sample(n, mt, par.wt, 1.0, g)
    s_tb, w_tb, _ = breit_wigner_sample(n, mt, par.wt, 1.0, g)
    k = torch.sqrt((sqrt_s**2 - s_t - s_tb) ** 2 - 4 * s_t * s_tb) / (2 * sqrt_s)
    p_t = torch.cat([torch.sqrt(k * k + s_t)[:, None], k[:, None] * direction], -1)
    p_tb = torch.cat([torch.sqrt(k * k + s_tb)[:, None], -k[:, None] * direction], -1)
    weight = w_t * w_tb
    legs = []
    for top in (p_t, p_tb):
        s_w, w_w, f_w = breit_wigner_sample(n, mw, par.ww, 0.5, g)
        b, w_boson, phase_1 = decay(top, torch.zeros(n, dtype=torch.float64), s_w, g)
        f1, f2, phase_2 = decay(
            w_boson, torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64), g
        )
        legs += [b, f1, f2]
        weight = weight * w_w * phase_1 * phase_2
    beams = two_to_two(sqrt_s, torch.full((n,), cos))[:, :2]
    p = torch.cat([beams, torch.stack(legs, 1)], 1)
    torch.testing.assert_close(p[:, 0] + p[:, 1], p[:, 2:].sum(1), rtol=0, atol=1e-9)
    alpha_s = torch.full((n,), 0.1, dtype=torch.float64)
    values = me6(p, alpha_s)[:, [0, 4]] * weight[:, None]
    mean, err = values.mean(0), values.std(0) / math.sqrt(n)

    x = mw**2 / mt**2
    width_tbw = gf * mt**3 / (8 * math.pi * math.sqrt(2)) * (1 - x) ** 2 * (1 + 2 * x)
    width_wud = 3 * gf * mw**3 / (6 * math.pi * math.sqrt(2))
    branching = f_t * width_tbw * f_w * width_wud / par.ww / par.wt
    on_shell = two_to_two(sqrt_s, torch.tensor([cos]), mt, mt, phi=phi)
    expected = me2(on_shell, alpha_s[:1])[0, [0, 1]] * branching**2
    for i in range(2):
        assert abs(float(mean[i] - expected[i])) < 4 * float(err[i]), (mean, expected, err)
        assert float(err[i] / expected[i]) < 0.01


def test_structure_and_generations():
    me = TTbarAllHadronic()
    assert me.subprocesses[0].pdg == (21, 21, 5, 2, -1, -5, -2, 1)
    assert [s.pdg[2:] for s in me.subprocesses[:4]] == [
        (5, 2, -1, -5, -2, 1),
        (5, 2, -1, -5, -4, 3),
        (5, 4, -3, -5, -2, 1),
        (5, 4, -3, -5, -4, 3),
    ]
    assert [s.pdg[:2] for s in me.subprocesses[::4]] == [(21, 21)] + [
        (a, b) for q in (1, 2, 3, 4, 5) for a, b in ((q, -q), (-q, q))
    ]
    assert [(r.pdg, r.daughters) for r in me.resonances] == [
        (6, (2, 3, 4)),
        (-6, (5, 6, 7)),
        (24, (3, 4)),
        (-24, (6, 7)),
    ]
    assert len(TTbarAllHadronic(generations=1).subprocesses) == 11
    # a generic six-parton point in its centre-of-mass frame
    g = torch.Generator().manual_seed(2)
    q = torch.randn(4, 6, 3, generator=g, dtype=torch.float64) * 60
    legs = torch.cat([q.norm(dim=-1, keepdim=True), q], -1)
    total = legs.sum(1, keepdim=True)
    legs = boost_to_rest_frame(legs, total.expand_as(legs))
    e = legs[:, :, 0].sum(1) / 2
    zero = torch.zeros_like(e)
    beams = torch.stack([torch.stack([e, zero, zero, e], -1), torch.stack([e, zero, zero, -e], -1)], 1)
    p = torch.cat([beams, legs], 1)
    out = check_protocol(me, p)
    torch.testing.assert_close(out[:, 0:4], out[:, :1].expand(4, 4), rtol=1e-12, atol=0)
    weights = me.colour_weights(p)
    # exchanging the gluons exchanges the two leading-colour flows
    torch.testing.assert_close(
        me.colour_weights(p[:, [1, 0, 2, 3, 4, 5, 6, 7]])[:, 0], weights[:, 0].flip(-1)
    )
    torch.testing.assert_close(me(p[:, [1, 0, 2, 3, 4, 5, 6, 7]])[:, 0], out[:, 0])


@pytest.mark.gpu
def test_ttbar_decay_on_cuda():
    g = torch.Generator().manual_seed(2)
    q = torch.randn(4, 6, 3, generator=g, dtype=torch.float64) * 60
    legs = torch.cat([q.norm(dim=-1, keepdim=True), q], -1)
    legs = boost_to_rest_frame(legs, legs.sum(1, keepdim=True).expand_as(legs))
    e = legs[:, :, 0].sum(1) / 2
    zero = torch.zeros_like(e)
    beams = torch.stack([torch.stack([e, zero, zero, e], -1), torch.stack([e, zero, zero, -e], -1)], 1)
    p = torch.cat([beams, legs], 1)
    me = TTbarAllHadronic()
    torch.testing.assert_close(me(p.cuda()).cpu(), me(p), rtol=1e-12, atol=0)
