"""Showering LHE files with Pythia 8: reports what happened, honestly."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgen.shower import parse_messages, shower_lhe

pytest.importorskip("pythia8mc")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"


def test_parse_messages_sums_errors_and_warnings() -> None:
    table = [
        " |  times   message    |",
        " |      3   Error in SpaceShower::pT2nextQCD: weight above unity       | ",
        " |      2   Warning in Pythia::check: energy-momentum not quite conserved | ",
        " |      1   Abort from Pythia::next: parton level failed  |",
    ]
    messages = parse_messages(table)
    assert messages == {
        "Error in SpaceShower::pT2nextQCD: weight above unity": 3,
        "Warning in Pythia::check: energy-momentum not quite conserved": 2,
        "Abort from Pythia::next: parton level failed": 1,
    }


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
def test_shower_powheg_file_reports_sigma() -> None:
    report = shower_lhe(DATA / "pylhe-testfile-powheg-box-v2-Z.lhe", 10, hadronise=False, mpi=False)
    assert report.n_showered == 10
    assert report.n_failed == 0
    assert report.n_errors == 0
    # POWHEG writes IDWTUP = -4 with weights in pb: Pythia's sigma is their mean.
    assert report.sigma_pb > 0
    assert "Beams:frameType = 4" in report.settings


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.lhe"):
        shower_lhe(tmp_path / "nope.lhe")
