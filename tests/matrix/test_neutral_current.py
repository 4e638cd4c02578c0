"""gamma/Z/Z' exchange: e+e- -> mu+mu- and q q~ -> l+l- against the textbook angular formula."""

from __future__ import annotations

import math

import pytest
import torch
from me_checks import check_protocol, parity, two_to_two

from mlgen.matrix.drell_yan import DrellYan
from mlgen.matrix.ee_mumu import EEMuMu
from mlgen.matrix.neutral_current import ZPrime
from mlgen.physics.sm import scheme

# (Q, T3) written out here, independently of mlgen.physics.propagators.
FERMIONS = {
    11: (-1.0, -0.5),
    13: (-1.0, -0.5),
    1: (-1 / 3, -0.5),
    2: (2 / 3, 0.5),
    3: (-1 / 3, -0.5),
    4: (2 / 3, 0.5),
    5: (-1 / 3, -0.5),
}


def textbook(s, cos, f, f2, par, chi_scale=1.0, parts=("photon", "z", "interference")):
    """|M|^2 = 64 pi^2 s dsigma/dOmega with dsigma/dOmega = alpha^2/(4s) [(1+c^2) C0 + 2c C1]."""
    (q1, t1), (q2, t2) = FERMIONS[f], FERMIONS[f2]
    sw2 = par.sw2
    v1, a1, v2, a2 = t1 - 2 * q1 * sw2, t1, t2 - 2 * q2 * sw2, t2
    chi = chi_scale * s / (s - par.mz**2 + 1j * par.mz * par.wz) / (4 * sw2 * (1 - sw2))
    c0 = c1 = 0.0
    if "photon" in parts:
        c0 = c0 + (q1 * q2) ** 2
    if "interference" in parts:
        c0 = c0 + 2 * q1 * q2 * v1 * v2 * chi.real
        c1 = c1 + 2 * q1 * q2 * a1 * a2 * chi.real
    if "z" in parts:
        c0 = c0 + (v1**2 + a1**2) * (v2**2 + a2**2) * abs(chi) ** 2
        c1 = c1 + 4 * v1 * a1 * v2 * a2 * abs(chi) ** 2
    dsdo = par.alpha**2 / (4 * s) * ((1 + cos**2) * c0 + 2 * cos * c1)
    return 64 * math.pi**2 * s * dsdo


COS = torch.linspace(-0.95, 0.95, 9, dtype=torch.float64)


@pytest.mark.parametrize("sqrt_s", [30.0, 88.0, 91.1876, 94.0, 250.0])
@pytest.mark.parametrize("name", ["gmu", "mg5_sm"])
def test_ee_mumu_against_angular_formula(sqrt_s, name):
    par = scheme(name)
    p = two_to_two(sqrt_s, COS)
    expected = {
        "full": textbook(sqrt_s**2, COS, 11, 13, par),
        "photon": textbook(sqrt_s**2, COS, 11, 13, par, parts=("photon",)),
        "z": textbook(sqrt_s**2, COS, 11, 13, par, parts=("z",)),
        "interference": textbook(sqrt_s**2, COS, 11, 13, par, parts=("interference",)),
    }
    for mode, value in expected.items():
        got = (
            check_protocol(EEMuMu(mode=mode, parameters=par), p)[:, 0]
            if mode != "interference"
            else EEMuMu(mode=mode, parameters=par)(p)[:, 0]
        )
        torch.testing.assert_close(got, value, rtol=1e-12, atol=1e-15)


def test_ee_mumu_forward_backward_asymmetry_sign():
    """Below the Z the gamma-Z interference makes mu- go backward (A_FB < 0), above it forward."""
    me = EEMuMu()
    for sqrt_s, sign in ((60.0, -1), (120.0, 1)):
        fwd, bwd = me(two_to_two(sqrt_s, torch.tensor([0.7, -0.7])))[:, 0]
        assert sign * (fwd - bwd) > 0


def test_zprime_clone_of_z_doubles_z_amplitude():
    """A Z' identical to the Z (mass, width, lepton couplings) doubles the Z amplitude;
    this fixes the convention g'_L = g_V + g_A."""
    par = scheme("gmu")
    norm = math.sqrt(par.e2) / (2 * math.sqrt(par.sw2 * (1 - par.sw2)))
    zp = ZPrime(par.mz, par.wz, gv_l=norm * (-0.5 + 2 * par.sw2), ga_l=norm * -0.5)
    p = two_to_two(91.0, COS)
    torch.testing.assert_close(EEMuMu(mode="zprime", zprime=zp)(p), EEMuMu(mode="z")(p), rtol=1e-12, atol=0)
    full = EEMuMu(mode="full", zprime=zp)(p)[:, 0]
    torch.testing.assert_close(full, textbook(91.0**2, COS, 11, 13, par, chi_scale=2.0), rtol=1e-12, atol=0)
    interference = EEMuMu(mode="interference", zprime=zp)(p)
    parts = sum(EEMuMu(mode=m, zprime=zp)(p) for m in ("photon", "z", "zprime"))
    torch.testing.assert_close(interference + parts, EEMuMu(mode="full", zprime=zp)(p), rtol=1e-12, atol=0)


@pytest.mark.parametrize("mode", ["full", "photon", "z", "interference"])
def test_drell_yan_against_angular_formula_and_orderings(mode):
    par = scheme("mg5_sm")
    me = DrellYan(mode=mode, lepton=13, parameters=par)
    parts = {"full": ("photon", "z", "interference")}.get(mode, (mode,))
    sqrt_s = torch.tensor(85.0)
    p = two_to_two(sqrt_s, COS)
    out = me(p)
    swapped = me(p[:, [1, 0, 2, 3]])
    for k, sub in enumerate(me.subprocesses):
        q = abs(sub.pdg[0])
        # cos is the angle of l- to beam A; for q~ q beam A is the antiquark.
        cos = COS if sub.pdg[0] > 0 else -COS
        expected = textbook(85.0**2, cos, q, 13, par, parts=parts) / 3.0
        torch.testing.assert_close(out[:, k], expected, rtol=1e-12, atol=1e-15)
        # q q~ at p equals q~ q at the beam-swapped momenta
        partner = k + 1 if sub.pdg[0] > 0 else k - 1
        torch.testing.assert_close(out[:, k], swapped[:, partner], rtol=1e-12, atol=1e-15)


def test_drell_yan_protocol_and_cp():
    me = DrellYan()
    p = two_to_two(torch.tensor(120.0), COS)
    out = check_protocol(me, p)
    assert [s.pdg for s in me.subprocesses][:2] == [(1, -1, 11, -11), (-1, 1, 11, -11)]
    # CP: q(p1) q~(p2) -> l-(p3) l+(p4)  ==  q~(Pp1) q(Pp2) -> l+(Pp3) l-(Pp4): the q~ q column
    # with its leptons exchanged
    cp = me(parity(p)[:, [0, 1, 3, 2]])
    torch.testing.assert_close(out[:, 0::2], cp[:, 1::2], rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="mode"):
        DrellYan(mode="gluon")


@pytest.mark.gpu
def test_neutral_current_on_cuda():
    p = two_to_two(torch.tensor(91.0), COS)
    for me in (EEMuMu(), DrellYan(zprime=ZPrime(500.0, 5.0, 0.1, 0.05, 0.1, 0.05))):
        torch.testing.assert_close(me(p.cuda()).cpu(), me(p), rtol=1e-12, atol=0)


def test_options_as_a_run_card_gives_them():
    """Inline tables and lists (TOML) are accepted; bad ones name the option."""
    par = scheme("gmu")
    zp = {"mass": 2000.0, "width": 20.0, "gv_q": 0.1, "ga_q": 0.05, "gv_l": 0.1, "ga_l": 0.05}
    me = DrellYan(zprime=zp, quarks=[2, 1], parameters=par)
    assert me.zprime == ZPrime(**zp)
    assert [s.pdg[0] for s in me.subprocesses] == [2, -2, 1, -1]
    with pytest.raises(ValueError, match="zprime: expected keys"):
        DrellYan(zprime={"mass": 1.0})
    with pytest.raises(ValueError, match="quarks: expected"):
        DrellYan(quarks=[6])
    with pytest.raises(ValueError, match="lepton"):
        EEMuMu(lepton=11)
    with pytest.raises(ValueError, match="needs a Z'"):
        DrellYan(mode="zprime")


def test_drell_yan_zprime_quark_couplings():
    """A Z' with the Z's d-quark and lepton couplings reproduces the Z for d and s (not for u)."""
    par = scheme("gmu")
    norm = math.sqrt(par.e2) / (2 * math.sqrt(par.sw2 * (1 - par.sw2)))
    v_d, v_l = -0.5 + 2 / 3 * par.sw2, -0.5 + 2 * par.sw2
    zp = ZPrime(par.mz, par.wz, norm * v_d, norm * -0.5, norm * v_l, norm * -0.5)
    p = two_to_two(torch.tensor(93.0), COS)
    z, zprime = DrellYan(mode="z")(p), DrellYan(mode="zprime", zprime=zp)(p)
    torch.testing.assert_close(zprime[:, [0, 1, 4, 5, 8, 9]], z[:, [0, 1, 4, 5, 8, 9]], rtol=1e-12, atol=0)
    assert not torch.allclose(zprime[:, 2], z[:, 2])
