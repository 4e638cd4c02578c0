"""Hadron-collider cross sections of the whole chain (card -> process -> VEGAS) against
independent deterministic quadratures that share only the PDF object."""

from __future__ import annotations

import pytest

from mlgen.cards import parse_card
from mlgen.integrate.loop import vegas_integrate
from mlgen.physics.sm import scheme
from mlgen.process.build import build_process

from . import quadrature as Q

pytest.importorskip("pythia8mc")  # the PDF grids come with the wheel

HEAD = '[beams]\nsqrt_s = 13000.0\n[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n[scales]\nvariations = false\n'
LEPTON_CUTS = (
    '[[cuts]]\nobservable = "pt"\nobjects = "leptons"\nmin = 25.0\n'
    '[[cuts]]\nobservable = "abs_eta"\nobjects = "leptons"\nmax = 2.5\n'
)
WINDOW = '[[cuts]]\nobservable = "m"\nobjects = "leptons"\nmin = 60.0\nmax = 120.0\n'


def run(card_text: str, n_per_iter: int = 40_000, seed: int = 2):
    process = build_process(parse_card(card_text))
    result, _ = vegas_integrate(
        process, process.dim, n_adapt_iter=5, n_per_iter=n_per_iter, n_iter=5, seed=seed
    )
    return process, result


def check(result, exact: float, bound: float = 3e-3) -> None:
    assert abs(result.mean - exact) < 4 * result.sdev, (result.mean, result.sdev, exact)
    assert result.sdev / exact < bound
    assert result.Q > 0.001


def test_drell_yan_mass_window() -> None:
    card = (
        '[process]\nmatrix_element = "drell_yan"\n'
        + HEAD.replace("[scales]", '[scales]\nmu_f = "m_ll"\nmu_r = "m_ll"')
        + WINDOW
    )
    process, result = run(card)
    check(result, Q.drell_yan(process.pdf, 13000.0, 60.0, 120.0, n_m=300, n_y=300))


def test_drell_yan_with_lepton_cuts() -> None:
    card = (
        '[process]\nmatrix_element = "drell_yan"\n'
        + HEAD.replace("[scales]", '[scales]\nmu_f = "m_ll"\nmu_r = "m_ll"')
        + WINDOW
        + LEPTON_CUTS
    )
    process, result = run(card, n_per_iter=60_000)
    check(result, Q.drell_yan(process.pdf, 13000.0, 60.0, 120.0, pt_min=25.0, eta_max=2.5, n_m=300, n_y=300))


def test_ttbar() -> None:
    card = '[process]\nmatrix_element = "ttbar"\n' + HEAD.replace(
        "[scales]", '[scales]\nmu_f = "m_t"\nmu_r = "m_t"'
    )
    process, result = run(card)
    check(result, Q.ttbar(process.pdf, 13000.0, scheme("gmu").mt, n_tau=300, n_y=300))


def test_w_plus() -> None:
    card = '[process]\nmatrix_element = "w_lnu"\noptions = { charge = 1 }\n' + HEAD.replace(
        "[scales]", '[scales]\nmu_f = "m_ll"\nmu_r = "m_ll"'
    )
    process, result = run(card)
    check(result, Q.w_plus(process.pdf, 13000.0, n_m=300, n_y=300))


def test_gg_to_higgs() -> None:
    card = '[process]\nmatrix_element = "ggh"\n' + HEAD.replace("[scales]", "[scales]\nvalue = 125.0")
    process, result = run(card, n_per_iter=20_000)
    par = scheme("gmu")
    check(result, Q.ggh(process.pdf, 13000.0, par.mh, 125.0, n_y=300))


def test_bwcutoff_map_agrees_with_the_cut_alone() -> None:
    """t t~ -> 6 partons with ``bwcutoff = 15``: the phase-space maps restricted to the windows give
    the same cross section as unrestricted maps with only the mass cuts (which waste the points
    outside), so the windows' Jacobians are right; and the window removes some percent."""
    tt = (
        '[process]\nmatrix_element = "ttbar_6j"\n{cutoff}[scales]\nmu_r = "m_t"\nmu_f = "m_t"\n'
        '[beams]\nsqrt_s = 13000.0\n[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n'
        '[[cuts]]\nobservable = "m"\nobjects = "all"\nmin = 300.0\n'
    )
    restricted, r = run(tt.format(cutoff="bwcutoff = 15.0\n"), n_per_iter=20_000)
    labels = [c.label for c in restricted.cuts.cuts if c.label.startswith("bwcutoff")]
    assert len(labels) == 4, labels  # t, t~, W+, W-
    open_map = build_process(parse_card(tt.format(cutoff="")))
    full, _ = vegas_integrate(open_map, open_map.dim, n_adapt_iter=5, n_per_iter=20_000, n_iter=5, seed=3)
    open_map.cuts = restricted.cuts
    cut, _ = vegas_integrate(open_map, open_map.dim, n_adapt_iter=5, n_per_iter=20_000, n_iter=5, seed=4)
    for res in (r, cut):
        assert res.sdev / res.mean < 0.01
    assert abs(r.mean - cut.mean) < 4 * (r.sdev**2 + cut.sdev**2) ** 0.5, (r.mean, r.sdev, cut.mean, cut.sdev)
    # four Breit-Wigners, each losing ~2% beyond 15 widths
    assert 0.8 < r.mean / full.mean < 0.97, r.mean / full.mean



def test_matrix_element_called_only_inside_the_cuts() -> None:
    """As MadEvent calls its matrix element only after ``passcuts``: the points the cuts remove
    never reach the matrix element, and the weights are those of the same process without the
    cuts (|M|^2 at every point) times the cuts' mask."""
    import torch

    from mlgen.process.cuts import Cuts

    card = (
        '[process]\nmatrix_element = "drell_yan"\n'
        + HEAD.replace("variations = false", "variations = true")
        + WINDOW
        + '[[cuts]]\nobservable = "delta_r"\nobjects = "leptons"\nmin = 3.6\n'  # not in the maps
    )
    process = build_process(parse_card(card))
    inner = process.matrix_element
    seen: list[int] = []

    class Counting:
        subprocesses = inner.subprocesses

        def __call__(self, p, alpha_s):  # type: ignore[no-untyped-def]
            seen.append(int(p.shape[0]))
            return inner(p, alpha_s)

    u = torch.rand(4000, process.dim, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    process.matrix_element = Counting()  # type: ignore[assignment]
    inside = process.evaluate(u, variations=True)
    n_passed = int(inside.passed.sum())
    assert 0 < n_passed < u.shape[0]  # the cuts remove some points, keep others
    assert seen == [n_passed]
    cuts = process.cuts
    process.cuts = Cuts([])
    everywhere = process.evaluate(u, variations=True)
    assert seen == [n_passed, u.shape[0]]  # without cuts: every point
    mask = cuts.passes(everywhere.momenta)
    assert torch.equal(mask, inside.passed)
    assert torch.equal(inside.weight, everywhere.weight * mask)
    assert inside.variations is not None and everywhere.variations is not None
    assert torch.equal(inside.variations, everywhere.variations * mask[:, None])
