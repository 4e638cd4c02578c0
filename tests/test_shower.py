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


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
def test_hepmc3_output_reads_back_with_momentum_conserved(tmp_path: Path) -> None:
    import numpy as np
    import pyhepmc

    from mlgen.hepmc import HepMCWriter

    path = tmp_path / "z.hepmc3"
    with HepMCWriter(path, (123.0, 4.0)) as writer:
        report = shower_lhe(DATA / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz", 15, on_event=writer)
    assert report.n_showered == writer.n_written == 15
    assert not (tmp_path / "z.hepmc3.part").exists()

    def four(particles: list) -> np.ndarray:
        return np.sum([[p.momentum.px, p.momentum.py, p.momentum.pz, p.momentum.e] for p in particles], 0)

    n = 0
    with pyhepmc.open(path) as handle:
        for event in handle:
            n += 1
            final = [p for p in event.particles if p.status == 1]
            beams = [p for p in event.particles if p.status == 4]
            assert len(beams) == 2 and len(final) > 10
            # the whole history is there: final state = beams, to rounding of GeV-scale sums
            assert np.allclose(four(final), four(beams), atol=1e-5 * 13000)
            assert event.cross_section.xsec() == 123.0
            # every non-beam particle has a production vertex with incoming particles
            assert all(p.production_vertex is not None for p in event.particles if p.status != 4)
    assert n == 15
