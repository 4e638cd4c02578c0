"""Run plots are named for what they show and skip observables with one value in every event."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest

import mlgen.plots
from mlgen.lhe import read_lhe
from mlgen.observables import observables
from mlgen.physics import vectors
from mlgen.plots import plot_run

pytest.importorskip("mplhep")

LHE = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"
TTBAR = LHE / "pylhe-testfile-pythia-6.413-ttbar.lhe"  # tops and Ws as status-2 resonances
EEWW = LHE / "pylhe-testfile-whizard-3.1.4-eeWW.lhe"  # e+ e- -> W+ W- at 500 GeV, no radiation


def test_degenerate_examples() -> None:
    assert doctest.testmod(mlgen.plots).failed == 0


@pytest.mark.skipif(not TTBAR.is_file(), reason="../shared/data/lhe not present")
def test_the_top_pairs_mass_is_named_so_and_the_tops_own_mass_apart(tmp_path: Path) -> None:
    _, events = read_lhe(TTBAR, max_events=40)
    found = observables(events)
    assert "m_top [GeV]" not in found
    top = (events.pdg.abs() == 6).nonzero()  # (event, slot): one t and one t~ per event
    pair = events.momenta[top[:, 0], top[:, 1]].reshape(-1, 2, 4).sum(1)
    np.testing.assert_allclose(found["m_top (system) [GeV]"], vectors.mass(pair).numpy(), rtol=1e-9)
    names = {p.name for p in plot_run(events, None, tmp_path)}
    assert {"m_top_system.png", "m_leading_top.png", "pt_leptons_system.png"} <= names
    assert "pt_top_system.png" not in names  # the t t~ pair balances the incoming partons: pT 0


@pytest.mark.skipif(not EEWW.is_file(), reason="../shared/data/lhe not present")
def test_observables_fixed_by_2_to_2_kinematics_are_not_plotted(tmp_path: Path) -> None:
    _, events = read_lhe(EEWW)
    found = observables(events)
    np.testing.assert_allclose(found["m_W (system) [GeV]"], 500.0, rtol=1e-12)  # sqrt(s), every event
    names = {p.name for p in plot_run(events, None, tmp_path)}
    assert names == {"pt_leading_w.png", "y_leading_w.png"}
