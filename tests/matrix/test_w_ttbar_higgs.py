"""W, top-pair and g g -> H matrix elements against independent closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from me_checks import check_protocol, parity, two_to_two

from mlgen.matrix.higgs import GGH
from mlgen.matrix.ttbar import TTbar
from mlgen.matrix.w_boson import WLeptonNeutrino
from mlgen.physics.sm import scheme

COS = torch.linspace(-0.95, 0.95, 9, dtype=torch.float64)


@pytest.mark.parametrize("name", ["gmu", "mg5_sm"])
@pytest.mark.parametrize("sqrt_s", [60.0, 80.4, 110.0])
def test_w_against_breit_wigner_closed_form(name, sqrt_s):
    """|M|^2 = 64 pi^2 s dsigma/dOmega, dsigma/dcos = sigma(s) 3/8 (1 + cos theta(d~, e+))^2,
    sigma(s) = G_F^2 m_W^4 |V|^2 s / (18 pi |s - m_W^2 + i m_W G_W|^2)."""
    par = scheme(name)
    me = WLeptonNeutrino(charge=1, parameters=par)
    s = sqrt_s**2
    sigma = par.gf**2 * par.mw**4 * s / (18 * math.pi * ((s - par.mw**2) ** 2 + (par.mw * par.ww) ** 2))
    p = two_to_two(sqrt_s, COS)
    out = check_protocol(me, p)
    for k, sub in enumerate(me.subprocesses):
        # COS is the e+ angle to beam A; the d~-type antiquark is beam A when pdg[0] < 0.
        cos_dbar = COS if sub.pdg[0] < 0 else -COS
        expected = 64 * math.pi**2 * s * sigma * 3 / 8 * (1 + cos_dbar) ** 2 / (2 * math.pi)
        torch.testing.assert_close(out[:, k], expected, rtol=1e-12, atol=0)


def test_w_charge_conjugation_and_record():
    both = WLeptonNeutrino(charge=0)
    plus, minus = WLeptonNeutrino(charge=1), WLeptonNeutrino(charge=-1)
    assert [s.pdg for s in plus.subprocesses] == [
        (2, -1, -11, 12),
        (-1, 2, -11, 12),
        (4, -3, -11, 12),
        (-3, 4, -11, 12),
    ]
    assert [s.pdg for s in minus.subprocesses][:2] == [(1, -2, 11, -12), (-2, 1, 11, -12)]
    assert both.resonances[0].pdg_by_subprocess == (24,) * 4 + (-24,) * 4
    p = two_to_two(torch.tensor(79.0), COS)
    check_protocol(both, p)
    # CP: u(p1) d~(p2) -> e+(p3) nu(p4)  ==  u~(Pp1) d(Pp2) -> e-(Pp3) nu~(Pp4)
    torch.testing.assert_close(plus(p)[:, 0], minus(parity(p))[:, 1], rtol=1e-12, atol=0)
    torch.testing.assert_close(plus(p)[:, 0], plus(p[:, [1, 0, 2, 3]])[:, 1], rtol=1e-12, atol=0)
    torch.testing.assert_close(both(p), torch.cat([plus(p), minus(p)], 1), rtol=0, atol=0)


def esw_ttbar(p, m):
    """Ellis-Stirling-Webber eq. (10.12): |M|^2/g^4 in tau1, tau2, rho."""
    s = 2 * (p[:, 0, 0] * p[:, 1, 0] - (p[:, 0, 1:] * p[:, 1, 1:]).sum(-1))
    tau1 = 2 * (p[:, 0, 0] * p[:, 2, 0] - (p[:, 0, 1:] * p[:, 2, 1:]).sum(-1)) / s
    tau2 = 2 * (p[:, 1, 0] * p[:, 2, 0] - (p[:, 1, 1:] * p[:, 2, 1:]).sum(-1)) / s
    rho = 4 * m * m / s
    gg = (1 / (6 * tau1 * tau2) - 3 / 8) * (tau1**2 + tau2**2 + rho - rho**2 / (4 * tau1 * tau2))
    qq = 4 / 9 * (tau1**2 + tau2**2 + rho / 2)
    return gg, qq


@pytest.mark.parametrize("sqrt_s", [350.0, 500.0, 2000.0])
def test_ttbar_against_esw(sqrt_s):
    me = TTbar()
    m = me.parameters.mt
    p = two_to_two(sqrt_s, COS, m, m)
    alpha_s = torch.full((len(COS),), 0.11, dtype=torch.float64)
    out = me(p, alpha_s) / (4 * math.pi * 0.11) ** 2
    gg, qq = esw_ttbar(p, m)
    torch.testing.assert_close(out[:, 0], gg, rtol=1e-11, atol=0)
    for k in range(1, len(me.subprocesses)):
        torch.testing.assert_close(out[:, k], qq, rtol=1e-11, atol=0)
    # default alpha_s is alpha_s(m_Z) of the scheme; |M|^2 ~ alpha_s^2
    torch.testing.assert_close(me(p), me(p, torch.full_like(alpha_s, me.parameters.alpha_s_mz)))
    torch.testing.assert_close(me(p, 2 * alpha_s), 4 * me(p, alpha_s))


def test_ttbar_orderings_and_colour_flows():
    me = TTbar()
    m = me.parameters.mt
    p = two_to_two(600.0, COS, m, m)
    out = check_protocol(me, p)
    swapped = me(p[:, [1, 0, 2, 3]])
    torch.testing.assert_close(out[:, 1::2], swapped[:, 2::2], rtol=1e-12, atol=0)
    torch.testing.assert_close(out[:, 0], swapped[:, 0], rtol=1e-12, atol=0)
    w = me.colour_weights(p)
    w_swapped = me.colour_weights(p[:, [1, 0, 2, 3]])
    torch.testing.assert_close(w[:, 0], w_swapped[:, 0].flip(-1), rtol=1e-12, atol=0)
    # the top's colour comes from the gluon it goes along with: forward top -> flow 1 (g1 -> t)
    assert bool((w[COS > 0.1, 0, 0] > w[COS > 0.1, 0, 1]).all())
    assert bool((w[COS < -0.1, 0, 0] < w[COS < -0.1, 0, 1]).all())
    assert me.subprocesses[0].colour_flows[0][0] == (1, 2) and me.subprocesses[0].colour_flows[0][2] == (1, 0)


def test_ggh_normalisation():
    me = GGH(parameters=scheme("mg5_sm"))
    par = me.parameters
    mh = par.mh
    p = torch.zeros(3, 3, 4, dtype=torch.float64)
    p[:, 0] = torch.tensor([mh / 2, 0, 0, mh / 2])
    p[:, 1] = torch.tensor([mh / 2, 0, 0, -mh / 2])
    p[:, 2] = p[:, 0] + p[:, 1]
    alpha_s = torch.tensor([0.1, 0.118, 0.13], dtype=torch.float64)
    out = check_protocol(me, p)[:, 0]
    torch.testing.assert_close(out, me(p, torch.full_like(alpha_s, par.alpha_s_mz))[:, 0])
    out = me(p, alpha_s)[:, 0]
    v2 = 1 / (math.sqrt(2) * par.gf)
    torch.testing.assert_close(out, alpha_s**2 * mh**4 / (576 * math.pi**2 * v2), rtol=1e-12, atol=0)
    # sigma-hat = (pi/s) |M|^2 delta(s - mH^2) = sigma0 mH^2 delta(s - mH^2); sigma0 = G_F as^2/(288 sqrt2 pi)
    torch.testing.assert_close(math.pi * out / mh**2, me.sigma0(alpha_s) * mh**2, rtol=1e-12, atol=0)
    torch.testing.assert_close(me.sigma0(alpha_s), par.gf * alpha_s**2 / (288 * math.sqrt(2) * math.pi))
    assert me.narrow_width_resonance == (mh, par.wh)
    mw = mh * par.wh
    # in x = (s - mH^2)/(mH GH): int rho ds over |x| < 100 = (2/pi) atan(100)
    x = torch.linspace(-100, 100, 400001, dtype=torch.float64)
    norm = float(torch.trapezoid(mw * me.line_shape(mh**2 + mw * x), x))
    assert abs(norm - 2 / math.pi * math.atan(100)) < 1e-8


@pytest.mark.gpu
def test_w_ttbar_higgs_on_cuda():
    p = two_to_two(torch.tensor(500.0), COS, 173.0, 173.0)
    a = torch.full((len(COS),), 0.12, dtype=torch.float64)
    for me in (WLeptonNeutrino(charge=0), TTbar(), GGH()):
        torch.testing.assert_close(me(p.cuda(), a.cuda()).cpu(), me(p, a), rtol=1e-12, atol=0)
    torch.testing.assert_close(TTbar().colour_weights(p.cuda()).cpu(), TTbar().colour_weights(p))
