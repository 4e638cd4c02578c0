"""[model] ckm (or a param card's CKMBLOCK): the W couplings take |V_ij|^2, point by point and in sigma
against the quadrature; matrix elements whose couplings mlgen cannot change refuse it by name."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from mlgen.cards import CardError, load_card, parse_card
from mlgen.integrate.loop import vegas_integrate
from mlgen.physics.sm import IDENTITY_CKM, parameters_from_card
from mlgen.process.build import build_process
from mlgen.seeds import torch_generator
from mlgen.subprocesses import subprocess_cross_sections

from . import quadrature as Q
from tests.test_subprocesses import OnlyPartons

ROOT = Path(__file__).resolve().parents[2]
#: The PDG's global fit (magnitudes; each row and column unitary to 1e-5)
PDG_CKM = ((0.97435, 0.22500, 0.00369), (0.22486, 0.97349, 0.04182), (0.00857, 0.04110, 0.999118))
W_PLUS = (
    '[process]\nmatrix_element = "w_lnu"\noptions = { charge = 1 }\n'
    '[beams]\nsqrt_s = 13000.0\n[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n'
    '[scales]\nmu_r = "m_ll"\nmu_f = "m_ll"\nvariations = false\n'
)


def _ckm_line(ckm) -> str:
    return "[model]\nckm = " + str([list(row) for row in ckm]) + "\n"


def test_w_matrix_element_takes_vij_squared_point_by_point() -> None:
    plain = build_process(parse_card(W_PLUS)).matrix_element
    mixed = build_process(parse_card(W_PLUS + _ckm_line(PDG_CKM))).matrix_element
    labels = [s.pdg for s in mixed.subprocesses]
    # every up-type / down-type pair with V_ij != 0 in both beam orders: u d~, u s~, u b~, c d~, c s~, c b~
    assert len(labels) == 12 and (2, -3, -11, 12) in labels and (4, -5, -11, 12) in labels
    p = torch.zeros(1, 4, 4, dtype=torch.float64)
    e, c, s = 40.0, 0.3, math.sqrt(1 - 0.3**2)
    p[0, 0], p[0, 1] = torch.tensor([e, 0, 0, e]), torch.tensor([e, 0, 0, -e])
    p[0, 2], p[0, 3] = torch.tensor([e, e * s, 0, e * c]), torch.tensor([e, -e * s, 0, -e * c])
    reference = plain(p)[0, [s.pdg for s in plain.subprocesses].index((2, -1, -11, 12))]
    for k, pdg in enumerate(labels):
        if pdg[0] > 0:  # the up-type quark from beam A: the same invariants as u d~
            v = PDG_CKM[pdg[0] // 2 - 1][(-pdg[1] - 1) // 2]
            torch.testing.assert_close(mixed(p)[0, k], v**2 * reference, rtol=1e-14, atol=0)


def test_w_plus_sigma_with_the_pdg_ckm_against_the_quadrature() -> None:
    process = build_process(parse_card(W_PLUS + _ckm_line(PDG_CKM)))
    result, sampler = vegas_integrate(
        process, process.dim, n_adapt_iter=5, n_per_iter=20_000, n_iter=1, seed=4
    )
    exact = Q.w_plus(process.pdf, 13000.0, n_m=300, n_y=300, ckm=PDG_CKM)
    assert abs(result.mean - exact) < 4 * result.sdev and result.sdev / exact < 0.01, (result.mean, exact)
    # the Cabibbo-suppressed u s~ alone, which the identity leaves out
    pdgs = [sub.pdg for sub in process.matrix_element.subprocesses]
    found = subprocess_cross_sections(process, sampler, pdgs, 100_000, torch_generator(5))
    us = next(s for s in found if s.label == "u s~ > e+ ve")
    exact_us = Q.w_plus(OnlyPartons(process.pdf, {2, -3}), 13000.0, n_m=300, n_y=300, ckm=PDG_CKM)
    print(f"sigma {result.mean:.2f} +- {result.sdev:.2f} (quadrature {exact:.2f}); u s~ {us.sigma_pb:.2f} +- "
          f"{us.sigma_err_pb:.2f} (quadrature {exact_us:.2f})")
    assert abs(us.sigma_pb - exact_us) < 4 * us.sigma_err_pb and us.sigma_err_pb / exact_us < 0.02
    assert exact_us / exact > 0.03  # not a negligible piece: |V_us|^2 = 0.05 of the u-quark's share


def test_param_card_cabibbo_angle_and_bad_ckm_cards(tmp_path: Path) -> None:
    card = tmp_path / "param_card.dat"
    card.write_text("Block CKMBLOCK\n    1 2.277360e-01 # cabi\n")
    ckm = parameters_from_card("gmu", str(card)).ckm
    assert ckm[0][1] == pytest.approx(math.sin(0.227736)) and ckm[1][1] == pytest.approx(math.cos(0.227736))
    assert ckm[2] == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="model.ckm: the param card .* gives a CKM matrix"):
        parameters_from_card("gmu", str(card), ckm=PDG_CKM)
    card.write_text("Block CKMBLOCK\n    1 0.974461 # Vud\n    2 0.224529 # Vus\n")
    with pytest.raises(ValueError, match="CKMBLOCK has entries \\[1, 2\\]"):
        parameters_from_card("gmu", str(card))
    assert parameters_from_card("gmu", None).ckm == IDENTITY_CKM
    for bad, words in (
        ([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0]], "model.ckm: row u has sum |V|^2 = 0.82"),
        ([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], "model.ckm[0]: expected a list of 3 values"),
        ([[1.2, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], "model.ckm: expected magnitudes |V_ij| between"),
    ):
        with pytest.raises(CardError, match=re.escape(words)):
            parse_card(W_PLUS + f"[model]\nckm = {bad}\n")


def test_matrix_elements_with_their_own_couplings_refuse_a_ckm_by_name(tmp_path: Path) -> None:
    text = (ROOT / "cards" / "user_scalar.toml").read_text() + _ckm_line(PDG_CKM)
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "scalar.py").write_text((ROOT / "cards" / "user" / "scalar.py").read_text())
    (tmp_path / "card.toml").write_text(text)
    with pytest.raises(ValueError, match="model.ckm: matrix element 'user/scalar.py:amp2' has its own"):
        build_process(load_card(tmp_path / "card.toml"))
    madgraph = '[process]\nmatrix_element = "madgraph"\noptions = { path = "no/such/dir" }\n'
    madgraph += "[beams]\nsqrt_s = 1000.0\n"
    with pytest.raises(ValueError, match="model.ckm: matrix element 'madgraph' has its own couplings"):
        build_process(parse_card(madgraph + _ckm_line(PDG_CKM)))  # refused before the directory is read


def test_the_run_prints_and_records_the_ckm_it_used(tmp_path: Path) -> None:
    from mlgen.run import run_card

    short = ["integrator.n_adapt_iter=2", "integrator.n_per_iter=2000", "integrator.n_iter=1", "events.n=10"]
    short += ["run.plots=false", "run.subprocesses=false", "scales.variations=false"]
    said: list[str] = []
    for name, extra in (("pdg", [f"model.ckm={[list(r) for r in PDG_CKM]}"]), ("identity", [])):
        settings = [*short, f"run.output_dir={tmp_path / name}", *extra]
        out = run_card(load_card(ROOT / "cards" / "w_enu.toml", settings), progress=False, log=said.append)
        assert out["physics"]["model"]["ckm"] == [list(row) for row in (PDG_CKM if extra else IDENTITY_CKM)]
        assert ("model.ckm" in out["physics"]["defaults"]) == (not extra)
    text = "\n".join(said)
    assert "CKM: |V| rows u, c, t = 0.97435 0.225 0.00369; 0.22486 0.97349 0.04182;" in text
    assert "CKM: the identity (default)" in text
