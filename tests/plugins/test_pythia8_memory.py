"""The in-memory route: `mlgen shower --card ... --pythia-card ...` generates Drell-Yan events
and Pythia 8 showers them with no LHE file; the same seed gives the LHE route's events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pythia8mc")

from mlgen.cards import load_card  # noqa: E402
from mlgen.cli import main  # noqa: E402
from mlgen.commands.shower import _plugin  # noqa: E402
from mlgen.lhe import read_lhe  # noqa: E402
from mlgen.measured import format_measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHORT = [
    "integrator.n_adapt_iter=3",
    "integrator.n_per_iter=10000",
    "integrator.n_iter=2",
    "run.plots=false",
    "events.batch_size=20000",
    "scales.variations=false",
]


def test_memory_route_matches_lhe_route(tmp_path: Path) -> None:
    card = load_card(ROOT / "cards" / "drell_yan.toml", SHORT)
    shower_card = _plugin("pythia8")  # found through the mlgen.plugins entry point
    leptons: list[np.ndarray] = []

    def grab(pythia) -> None:
        proc = pythia.process
        leptons.append(
            np.array(
                [
                    [proc[i].px(), proc[i].py(), proc[i].pz()]
                    for i in range(proc.size())
                    if proc[i].isFinal() and proc[i].id() == 11
                ]
            )
        )

    n = 1000
    cmnd = tmp_path / "run.cmnd"
    cmnd.write_text("PartonLevel:MPI = off\nHadronLevel:all = off\n")
    report = shower_card(card, n, pythia_card=cmnd, on_event=grab, log=None)
    assert report.n_showered == n and report.n_failed == 0 and report.n_errors == 0
    # the LHE route with the same card and seed
    # a directory of its own: mlgen run refuses one holding other files (run.cmnd)
    out = tmp_path / "run"
    argv = ["run", str(ROOT / "cards" / "drell_yan.toml"), "-n", str(n), "-o", str(out), "--no-progress"]
    for item in SHORT:
        argv += ["--set", item]
    assert main(argv) == 0
    info, events = read_lhe(out / "events.lhe.gz")
    # Pythia's sigma is mlgen's, well within its error; with no vetoes the error is the integration's
    # (Pythia's own sigmaErr is 0 for strategy 3: it printed "+- 0 pb")
    assert abs(report.sigma_pb - info.xsec_pb) < info.error_pb
    assert report.sigma_err_pb == pytest.approx(info.error_pb, rel=1e-3)
    assert format_measured(report.sigma_pb, info.error_pb, "pb") in report.summary()
    electron = (events.pdg == 11) & (events.status == 1)
    from_lhe = events.momenta[electron][:, 1:].numpy()
    from_memory = np.concatenate(leptons)
    assert from_memory.shape == from_lhe.shape
    # identical events; Pythia re-balances longitudinal momenta at the 1e-7 level on input
    np.testing.assert_allclose(from_memory, from_lhe, rtol=1e-6, atol=1e-6)


def test_cli_needs_a_file_or_a_card(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shower"]) == 2
    assert "needs an LHE file or --card" in capsys.readouterr().err


def test_cli_memory_route_writes_hepmc3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyhepmc

    text = (ROOT / "cards" / "drell_yan.toml").read_text()
    text = text.replace("n_adapt_iter = 10", "n_adapt_iter = 3").replace(
        "n_per_iter = 100000", "n_per_iter = 10000"
    )
    (tmp_path / "dy.toml").write_text(text)
    out = tmp_path / "dy.hepmc3"
    argv = ["shower", "--card", str(tmp_path / "dy.toml"), "-n", "25", "--hepmc", str(out)]
    assert main([*argv, "--set", "HadronLevel:all = off"]) == 0
    assert "HepMC3: 25 events" in capsys.readouterr().out
    with pyhepmc.open(out) as handle:
        events = list(handle)
    assert len(events) == 25
    # every event has its two beams, the hard e+ e- pair and a showered final state
    for event in events:
        pdgs = {p.pid for p in event.particles}
        assert {2212, 11, -11} <= pdgs
        assert sum(p.status == 1 for p in event.particles) > 2
