"""GAN amplification: the validity rules of the events it writes (small sizes; compare measures quality)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from mlgen.cli import main
from mlgen.gan.amplify import AmplifyConfig, amplify
from mlgen.gan.representation import features_of, group_events, momenta_of
from mlgen.lhe import read_lhe

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
ZJETS = DATA / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
pytestmark = pytest.mark.skipif(not ZJETS.is_file(), reason="../shared/data/lhe not present")


def _mass2(p: torch.Tensor) -> torch.Tensor:
    return p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)


def test_features_round_trip_to_the_input_momenta() -> None:
    info, events = read_lhe(ZJETS, max_events=2000)
    for group in group_events(events):
        p = events.momenta[group.index][:, group.final]
        phi0 = torch.atan2(p[:, 0, 2], p[:, 0, 1])
        back, x1, x2 = momenta_of(features_of(events, group), group, phi0, info.sqrt_s)
        # MadGraph 2.2 writes 11 digits: a forward "massless" lepton then has m ~ 5 MeV, which the
        # on-shell rebuild drops (E changes by m^2 / 2 pT^2 relative, up to ~1e-5 of sqrt(s) here)
        assert torch.allclose(back, p, atol=1e-5 * info.sqrt_s)
        total = p.sum(1)
        assert torch.allclose(x1, (total[:, 0] + total[:, 3]) / info.sqrt_s, atol=1e-5)


def test_amplified_zjets_events_are_valid_lhe(tmp_path: Path) -> None:
    info, events = read_lhe(ZJETS, max_events=3000)
    out, report = amplify(events, info, 2000, config=AmplifyConfig(epochs=2, batch=256, hidden=32))
    assert len(out) == 2000
    # the layouts (Z + 0, 1, 2 jets) in the input's proportions
    fractions = {tuple(map(tuple, g["layout"])): g["fraction"] for g in report["groups"]}
    assert len(fractions) >= 3 and abs(sum(fractions.values()) - 1) < 1e-12
    p = out.momenta
    incoming = out.status == -1
    final = out.status == 1
    # exact momentum conservation, on-shell external masses, x1, x2 <= 1
    balance = (p * incoming[..., None]).sum(1) - (p * final[..., None]).sum(1)
    assert balance.abs().max() < 1e-9 * info.sqrt_s
    m2 = _mass2(p)
    energy2 = p[..., 0] ** 2
    assert bool(((m2 - out.masses**2).abs() <= 1e-12 * energy2 + 1e-9)[final].all())
    assert bool((out.x1 <= 1).all() and (out.x2 <= 1).all() and (out.x1 > 0).all())
    # flavours and colour flows come from input events: every pattern was seen in the input
    seen = {tuple(r) for r in events.pdg.tolist()}
    assert all(tuple(r) in seen for r in out.pdg.tolist())
    # the cross section is the input's (all <init> process lines), carried by equal weights
    sigma = sum(line.xsec_pb for line in info.processes)
    assert torch.allclose(out.weight.sum(), torch.tensor(sigma, dtype=torch.float64))


def test_cli_writes_lhe_that_pythia_showers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlgen.shower import shower_lhe

    out = tmp_path / "amp.lhe.gz"
    assert (
        main(
            [
                "amplify",
                str(ZJETS),
                "-o",
                str(out),
                "-n",
                "300",
                "--epochs",
                "2",
                "--no-progress",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "300 events ->" in capsys.readouterr().out
    info, events = read_lhe(out)
    assert len(events) == 300 and info.weight_strategy == 3
    report = shower_lhe(out, 50, hadronise=False, mpi=False)
    assert report.n_showered == 50 and report.n_errors == 0


def test_negative_weights_are_refused_with_a_pointer() -> None:
    info, events = read_lhe(ZJETS, max_events=100)
    events = dataclasses.replace(
        events, weight=events.weight * torch.where(torch.arange(100) % 7 == 0, -1.0, 1.0)
    )
    with pytest.raises(ValueError, match="negative weights.*mlgen positive"):
        amplify(events, info, 10)
