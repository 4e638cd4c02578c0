"""e+ e- -> mu+ mu-: total cross section and A_FB of the whole process chain
(card -> process -> phase space -> |M|^2 -> pb) against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.physics.sm import scheme
from mlgen.process.build import build_process

GEV2_TO_PB = 0.3893793721e9


def closed_form(sqrt_s: float) -> tuple[float, float]:
    """sigma (pb) and A_FB of e+e- -> mu+mu- via gamma and a fixed-width Z (massless leptons)."""
    par = scheme("gmu")
    s = sqrt_s**2
    sw2 = 1 - par.mw**2 / par.mz**2
    cw2 = 1 - sw2
    alpha = math.sqrt(2) * par.gf * par.mw**2 * sw2 / math.pi
    chi = s / complex(s - par.mz**2, par.mz * par.wz) / (4 * sw2 * cw2)
    v = -0.5 + 2 * sw2
    a = -0.5
    qq = 1.0  # Q_e Q_mu
    denom = qq**2 + 2 * qq * v * v * chi.real + (v * v + a * a) ** 2 * abs(chi) ** 2
    numer = 2 * qq * a * a * chi.real + 4 * v * a * v * a * abs(chi) ** 2
    sigma = 4 * math.pi * alpha**2 / (3 * s) * denom * GEV2_TO_PB
    return sigma, 0.75 * numer / denom


def card(sqrt_s: float) -> str:
    return (
        '[process]\nmatrix_element = "ee_mumu"\noptions = { mode = "full" }\n'
        f'[beams]\nparticles = ["e-", "e+"]\nsqrt_s = {sqrt_s}\n[model]\nscheme = "gmu"\n'
    )


@pytest.mark.parametrize("sqrt_s", [10.0, 91.1876, 200.0, 500.0])
def test_total_cross_section_and_afb(sqrt_s: float) -> None:
    process = build_process(parse_card(card(sqrt_s)))
    assert process.dim == 2
    n = 400_000
    u = torch.rand(n, process.dim, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    ev = process.evaluate(u, variations=False)
    w = ev.weight
    sigma = float(w.mean())
    err = float(w.std()) / n**0.5
    exact, afb_exact = closed_form(sqrt_s)
    assert abs(sigma - exact) < 4 * err
    assert err / exact < 2e-3
    # A_FB: the mu- (slot 2) along the e- beam (beam A, +z)
    forward = ev.momenta[:, 2, 3] > 0
    wf, wb = w * forward, w * ~forward
    afb = float((wf.sum() - wb.sum()) / w.sum())
    afb_err = float(((w * (2 * forward - 1.0) - afb * w).std()) / w.mean()) / n**0.5
    assert abs(afb - afb_exact) < 4 * afb_err
    assert afb_err < 5e-3
