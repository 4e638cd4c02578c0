"""A_FB in result.json: e+ e- -> mu+ mu- against its closed form, the Collins-Soper sign against an
explicit boost on another generator's Drell-Yan events."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import mlgen.asymmetries
from mlgen.asymmetries import asymmetries
from mlgen.cards import load_card
from mlgen.lhe import read_lhe
from mlgen.observables import cos_theta_cs
from mlgen.physics import vectors
from mlgen.run import run_card
from tests.process.test_ee_mumu import closed_form

ROOT = Path(__file__).resolve().parents[1]
POWHEG_Z = ROOT.parent / "shared" / "data" / "lhe" / "pylhe-testfile-powheg-box-v2-Z.lhe"


def test_examples() -> None:
    assert doctest.testmod(mlgen.asymmetries).failed == 0


def test_ee_mumu_afb_in_result_json_against_the_closed_form(tmp_path: Path) -> None:
    sqrt_s = 60.0  # below the Z the gamma-Z interference gives A_FB = -0.38
    settings = [
        f"beams.sqrt_s={sqrt_s}",
        "scales.value=60.0",
        "integrator.n_adapt_iter=3",
        "integrator.n_per_iter=10000",
        "integrator.n_iter=2",
        "events.n=20000",
        "run.plots=false",
        f"run.output_dir={tmp_path}",
    ]
    run_card(load_card(ROOT / "cards" / "ee_mumu.toml", settings), progress=False, log=None)
    (found,) = json.loads((tmp_path / "result.json").read_text())["asymmetries"]
    exact = closed_form(sqrt_s)[1]
    assert found["name"] == "A_FB" and found["n_events"] == 20000
    assert abs(found["value"] - exact) < 4 * found["error"] and found["error"] < 0.01, (found, exact)


def _cos_collins_soper_by_boosts(p_minus: torch.Tensor, p_plus: torch.Tensor, sqrt_s: float) -> torch.Tensor:
    """cos theta* of the l- in the l+ l- rest frame, against the bisector of the two beams there
    (the z axis turned along the pair's boost), computed by explicit boosts."""
    pair = p_minus + p_plus
    beam_a = torch.tensor([sqrt_s / 2, 0.0, 0.0, sqrt_s / 2], dtype=torch.float64).expand_as(pair)
    beam_b = torch.tensor([sqrt_s / 2, 0.0, 0.0, -sqrt_s / 2], dtype=torch.float64).expand_as(pair)
    rest = [vectors.boost_to_rest_frame(p, pair)[:, 1:] for p in (p_minus, beam_a, beam_b)]
    lepton, a, b = (v / v.norm(dim=1, keepdim=True) for v in rest)
    axis = a - b
    axis = axis / axis.norm(dim=1, keepdim=True) * torch.sign(pair[:, 3])[:, None]
    return (lepton * axis).sum(1)


@pytest.mark.skipif(not POWHEG_Z.is_file(), reason="../shared/data/lhe not present")
def test_collins_soper_afb_on_powheg_events_matches_explicit_boosts() -> None:
    info, events = read_lhe(POWHEG_Z)
    final = events.status == 1
    minus, plus = final & (events.pdg == 11), final & (events.pdg == -11)
    assert bool((minus.sum(1) == 1).all() and (plus.sum(1) == 1).all())
    p_minus = (events.momenta * minus[..., None]).sum(1)
    p_plus = (events.momenta * plus[..., None]).sum(1)
    cos = _cos_collins_soper_by_boosts(p_minus, p_plus, info.sqrt_s).numpy()
    assert float(vectors.pt(p_minus + p_plus).min()) > 0.1  # real radiation: the frames differ from the lab's
    np.testing.assert_allclose(cos_theta_cs(events), cos, atol=1e-9)
    w = events.weight.numpy()
    expected = float((w * np.sign(cos)).sum() / w.sum())
    (found,) = asymmetries(events)
    assert found.n_events == len(events) and "Collins-Soper" in found.definition
    assert found.value == pytest.approx(expected, abs=1e-12)
    assert 0 < found.error < 1
