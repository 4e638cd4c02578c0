"""Cuts and scale choices against direct formulas on hand-made momenta."""

from __future__ import annotations

import math

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.physics import vectors as v
from mlgen.process.cuts import Cut, Cuts
from mlgen.process.objects import object_indices
from mlgen.process.scales import scale


def events(n: int = 2000, seed: int = 3) -> torch.Tensor:
    """u u~ -> e- e+ -like events: two massless back-to-back leptons boosted along z."""
    g = torch.Generator().manual_seed(seed)
    m = 40 + 100 * torch.rand(n, generator=g, dtype=torch.float64)
    cos = 2 * torch.rand(n, generator=g, dtype=torch.float64) - 1
    phi = 2 * math.pi * torch.rand(n, generator=g, dtype=torch.float64)
    y = 4 * torch.rand(n, generator=g, dtype=torch.float64) - 2
    sin = torch.sqrt(1 - cos**2)
    k = torch.stack([m / 2, m / 2 * sin * torch.cos(phi), m / 2 * sin * torch.sin(phi), m / 2 * cos], -1)
    kbar = torch.stack([k[:, 0], -k[:, 1], -k[:, 2], -k[:, 3]], -1)
    beta = torch.stack([torch.zeros_like(y), torch.zeros_like(y), torch.tanh(y)], -1)
    l1, l2 = v.boost(k, beta), v.boost(kbar, beta)
    total = l1 + l2
    ea = 0.5 * (total[:, 0] + total[:, 3])
    eb = 0.5 * (total[:, 0] - total[:, 3])
    zero = torch.zeros_like(ea)
    pa = torch.stack([ea, zero, zero, ea], -1)
    pb = torch.stack([eb, zero, zero, -eb], -1)
    return torch.stack([pa, pb, l1, l2], 1)


def test_object_classes_pick_slots() -> None:
    assert object_indices("leptons", [(11, -11)]) == (2, 3)
    assert object_indices("charged_leptons", [(-11, 12), (11, -12)]) == (2,)
    assert object_indices("jets", [(5, 2, -1, -5, -2, 1)]) == (2, 3, 4, 5, 6, 7)
    with pytest.raises(ValueError, match="different final-state slots"):
        object_indices("leptons", [(11, -11), (1, -1)])
    with pytest.raises(ValueError, match="unknown object class"):
        object_indices("muons", [(13, -13)])


def test_cuts_against_direct_evaluation() -> None:
    p = events()
    card = parse_card(
        '[process]\nmatrix_element = "x"\n[beams]\nsqrt_s = 13000.0\n'
        '[[cuts]]\nobservable = "m"\nobjects = "leptons"\nmin = 60.0\nmax = 120.0\n'
        '[[cuts]]\nobservable = "pt"\nobjects = "leptons"\nmin = 25.0\n'
        '[[cuts]]\nobservable = "abs_eta"\nobjects = "leptons"\nmax = 2.5\n'
        '[[cuts]]\nobservable = "delta_r"\nobjects = "leptons"\nmin = 0.4\n'
    )
    cuts = Cuts.from_cards(card.cuts, [(11, -11)])
    mll = v.mass(p[:, 2] + p[:, 3])
    pt = v.pt(p[:, 2:])
    eta = v.pseudorapidity(p[:, 2:])
    dr = v.delta_r(p[:, 2], p[:, 3])
    expected = (mll >= 60) & (mll <= 120) & (pt >= 25).all(1) & (eta.abs() <= 2.5).all(1) & (dr >= 0.4)
    got = cuts.passes(p)
    assert torch.equal(got, expected)
    assert 0.1 < got.double().mean() < 0.9  # the sample straddles the cuts
    assert cuts.window("m", (2, 3)) == (60.0, 120.0)
    assert cuts.window("m", (2,)) == (None, None)


def test_cut_on_missing_objects_is_an_error() -> None:
    card = parse_card(
        '[process]\nmatrix_element = "x"\n[beams]\nsqrt_s = 13000.0\n'
        '[[cuts]]\nobservable = "pt"\nobjects = "photons"\nmin = 10.0\n'
    )
    with pytest.raises(ValueError, match=r"cuts\[0\].objects"):
        Cuts.from_cards(card.cuts, [(11, -11)])


def test_single_cut_window_and_sums() -> None:
    p = events(50)
    ht = Cut("ht", (2, 3), 100.0, None)
    assert torch.equal(ht.passes(p), (v.pt(p[:, 2]) + v.pt(p[:, 3])) >= 100.0)


def test_pair_floors_for_the_phase_space_maps() -> None:
    cuts = Cuts(
        [
            Cut("y_pair", (2, 3, 4), 0.01, None),
            Cut("y_pair", (2, 3, 4), 0.005, 0.9),  # looser: the tightest lower bound wins
            Cut("m", (3, 2), 20.0, None),  # a pair, in any order
            Cut("m", (2, 3, 4), 50.0, None),  # not a pair: the luminosity map's business
            Cut("pt", (2, 3, 4), 10.0, None),
            Cut("y_pair", (3, 4, 5), None, 0.5),  # an upper bound only
        ]
    )
    assert cuts.pair_floors(4) == {(0, 1): (400.0, 0.01), (0, 2): (0.0, 0.01), (1, 2): (0.0, 0.01)}
    assert Cuts().pair_floors(3) == {}
    # pT > 20 and 30 GeV with dR > 0.4: m^2 >= 2 pT_i pT_j (1 - cos dR), reached at dy = 0, dphi = dR
    jets = Cuts(
        [Cut("pt", (2, 3), 20.0, None), Cut("pt", (3,), 30.0, None), Cut("delta_r", (2, 3), 0.4, None)]
    )
    s_lo = 2 * 20.0 * 30.0 * (1 - math.cos(0.4))
    assert jets.pair_floors(2) == {(0, 1): (pytest.approx(s_lo, rel=1e-14), 0.0)}
    g = torch.Generator().manual_seed(4)
    n, f64 = 20000, torch.float64
    pt = torch.stack(
        [20 + 50 * torch.rand(n, generator=g, dtype=f64), 30 + 50 * torch.rand(n, generator=g, dtype=f64)], 1
    )
    y = 2 * torch.rand(n, 2, generator=g, dtype=f64) - 1
    phi = torch.stack([torch.zeros(n, dtype=f64), 4 * torch.rand(n, generator=g, dtype=f64) - 2], 1)
    mass = torch.tensor([0.0, 5.0], dtype=f64).expand(n, 2).clone()  # the bound holds for massive ones too
    # the last event sits on the bound: massless, pT at the cuts, dy = 0, dphi = dR
    pt[-1] = torch.tensor([20.0, 30.0])
    y[-1], mass[-1] = 0.0, 0.0
    phi[-1, 1] = 0.4 + 1e-12
    mt = torch.sqrt(pt**2 + mass**2)
    p = torch.stack([mt * torch.cosh(y), pt * torch.cos(phi), pt * torch.sin(phi), mt * torch.sinh(y)], -1)
    p = torch.cat([torch.zeros(n, 2, 4, dtype=f64), p], 1)
    passed = jets.passes(p)
    assert int(passed.sum()) > 10000 and bool(passed[-1])
    m2 = v.mass2(p[passed, 2] + p[passed, 3])
    assert float(m2.min()) >= s_lo * (1 - 1e-6)
    assert float(m2[-1]) == pytest.approx(s_lo, rel=1e-6)


def test_scales() -> None:
    p = events(100)
    mll = v.mass(p[:, 2] + p[:, 3])
    torch.testing.assert_close(scale("m_ll", p, lepton_indices=(2, 3)), mll)
    torch.testing.assert_close(scale("sqrt_shat", p), v.mass(p[:, 0] + p[:, 1]), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(scale("ht_half", p), 0.5 * (v.pt(p[:, 2]) + v.pt(p[:, 3])))
    torch.testing.assert_close(
        scale("mt_half", p), 0.5 * (v.pt(p[:, 2]) + v.pt(p[:, 3])), rtol=1e-9, atol=1e-9
    )
    assert torch.all(scale("fixed", p, fixed=91.0) == 91.0)
    assert torch.all(scale("m_t", p, top_mass=172.5) == 172.5)
    with pytest.raises(ValueError, match="needs leptons"):
        scale("m_ll", p)
