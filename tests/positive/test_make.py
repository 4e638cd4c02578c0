"""make_positive and ``mlgen positive`` on real files: settings refused by name, the CLI's reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mlgen.cli import main
from mlgen.lhe import read_lhe
from mlgen.positive import PositiveConfig, make_positive
from tests.positive.toys import signed_sample


def test_bad_settings_are_named() -> None:
    info, batch = signed_sample(100, seed=1)
    with pytest.raises(ValueError, match="method: expected one of cell, neural, flow"):
        make_positive(batch, info, PositiveConfig(method="binned"))
    with pytest.raises(ValueError, match="refine: refines a generator's events, for method flow only"):
        make_positive(batch, info, PositiveConfig(method="cell", refine=True))


DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lhe"


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
def test_cli_on_powheg_trijet_with_22_percent_negative_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = DATA / "pylhe-testfile-powheg-box-v2-trijet.lhe"
    out = tmp_path / "positive.lhe.gz"
    assert main(["positive", str(source), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "r- = 0.2200" in text and "r- = 0.0000" in text
    report = json.loads((tmp_path / "positive.positive.json").read_text())
    assert report["before"]["r_minus"] == pytest.approx(0.22) and report["after"]["r_minus"] == 0
    info_in, events_in = read_lhe(source)
    info_out, events_out = read_lhe(out)
    assert len(events_out) == len(events_in) and info_out.weight_strategy == 4
    assert float(events_out.weight.sum()) == pytest.approx(float(events_in.weight.sum()), rel=1e-12)
    # POWHEG left the <init> cross section unknown (-1): the sample's own estimate takes its place
    assert info_in.xsec_pb == -1 and info_out.xsec_pb == pytest.approx(
        float(events_in.weight.mean()), rel=1e-12
    )
    # kinematics, flavours and colours are the input's
    assert torch.equal(events_out.pdg, events_in.pdg) and torch.equal(events_out.colors, events_in.colors)


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
def test_cli_unweights_powheg_w_into_a_file_pythia_reads(tmp_path: Path) -> None:
    pytest.importorskip("pythia8mc")
    from mlgen.shower import shower_lhe

    out = tmp_path / "w.lhe"
    assert (
        main(["positive", str(DATA / "pylhe-testfile-powheg-box-v2-W.lhe"), "-o", str(out), "--unweight"])
        == 0
    )
    info, events = read_lhe(out)
    assert info.weight_strategy == 3 and (events.weight > 0).all()
    report = shower_lhe(out, len(events), hadronise=False, mpi=False)
    assert report.n_showered == len(events) and report.n_errors == 0, report.messages


def test_cli_names_the_file_whose_events_cannot_be_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgen.lhe import write_lhe

    info, batch = signed_sample(50, seed=3)
    batch.status = torch.where(batch.status == 1, torch.full_like(batch.status, 2), batch.status)
    source = write_lhe(tmp_path / "no_final_state.lhe", info, batch)
    out = tmp_path / "out.lhe"
    assert main(["positive", str(source), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{source}: no final-state particles (status 1)" in err and not out.exists()
    assert main(["positive", str(source), "-o", str(out), "--method", "neural", "--folds", "1"]) == 2
    assert "--folds 1 --members 1: ClassifierConfig needs folds >= 2" in capsys.readouterr().err
    assert not out.exists()
