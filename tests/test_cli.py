"""`mlgen run` end to end through main(argv): every card in a short mode, its LHE file
read back by mlgen and showered by Pythia 8 with the same sigma."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgen.cli import main
from mlgen.lhe import read_lhe
from mlgen.shower import shower_lhe

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted((ROOT / "cards").glob("*.toml"))
SHORT = [
    "integrator.n_adapt_iter=3",
    "integrator.n_per_iter=4000",
    "integrator.n_iter=2",
    "events.batch_size=20000",
]

pytest.importorskip("pythia8mc")


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.stem)
def test_every_card_runs_short_and_showers(
    card: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(card), "--events", "200", "--seed", "3", "--output-dir", str(tmp_path), "--json"]
    for item in [*SHORT, "run.plots=false"]:
        argv += ["--set", item]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == json.loads((tmp_path / "result.json").read_text())
    assert result["n_events"] == 200 and result["sigma_pb"] > 0
    info, events = read_lhe(tmp_path / "events.lhe.gz")
    assert len(events) == 200
    assert info.xsec_pb == pytest.approx(result["sigma_pb"], rel=1e-15)
    assert float(events.weight.sum()) == pytest.approx(result["sigma_pb"], rel=1e-12)
    report = shower_lhe(tmp_path / "events.lhe.gz", 200, hadronise=False, mpi=False)
    assert report.n_showered == 200 and report.n_failed == 0 and report.n_errors == 0, report.messages
    assert report.sigma_pb == pytest.approx(result["sigma_pb"], rel=1e-6)


def test_run_writes_plots_and_scale_weights(tmp_path: Path) -> None:
    argv = ["run", str(ROOT / "cards" / "drell_yan.toml"), "-n", "300", "-o", str(tmp_path), "--no-progress"]
    for item in SHORT:
        argv += ["--set", item]
    assert main(argv) == 0
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert {"m_leptons.png", "weights.png"} <= names
    info, events = read_lhe(tmp_path / "events.lhe.gz")
    assert len(info.weights) == 9 and events.extra_weights.shape == (300, 9)
    # the nominal variation weight equals the event weight
    assert events.extra_weights[:, 0].tolist() == pytest.approx(events.weight.tolist(), rel=1e-12)


def test_bad_card_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "tests" / "cards" / "bad_unknown_key.toml"), "-o", str(tmp_path)]) == 2
    assert "n_iters" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                str(ROOT / "cards" / "drell_yan.toml"),
                "--set",
                "process.options.mode=bogus",
                "-o",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "mode" in capsys.readouterr().err
    assert not (tmp_path / "events.lhe.gz").exists()
