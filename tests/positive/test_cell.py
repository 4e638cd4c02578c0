"""Cell resampling: no negative weight left, the cross section exact, the shape kept within its errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.cli import main
from mlgen.events import EventBatch
from mlgen.lhe import read_lhe
from mlgen.positive import PositiveConfig, make_positive
from mlgen.resample import cell_resample, embed_events
from mlgen.resample.embedding import TAU
from tests.positive.toys import bin_integrals, cos_theta, signed_sample

EDGES = np.linspace(-1, 1, 21)


def shape_pulls(batch: EventBatch, weights: np.ndarray, errors_from: np.ndarray) -> np.ndarray:
    """Per-bin (estimate - exact) / (the original sample's error), in pb."""
    c = cos_theta(batch)
    n = len(weights)
    est = np.histogram(c, EDGES, weights=weights)[0] / n
    err = np.sqrt(np.histogram(c, EDGES, weights=errors_from**2)[0]) / n
    return (est - bin_integrals(EDGES)) / err


def test_cell_resampling_removes_negative_weights_and_keeps_sigma_and_shape() -> None:
    info, batch = signed_sample(40_000, seed=5)
    w = batch.weight.numpy()
    assert 0.2 < (w < 0).mean() < 0.3
    points = embed_events(batch)
    result = cell_resample(w, points)
    new = result.weights
    assert (new >= 0).all() and result.n_capped == 0
    assert math.isclose(new.sum(), w.sum(), rel_tol=1e-12)
    # the input estimates sigma = 1 pb; sigma/sigma small enough to mean something
    assert abs(w.mean() - 1.0) < 4 * w.std() / math.sqrt(len(w)) and w.std() / math.sqrt(len(w)) < 0.01
    before, after = shape_pulls(batch, w, w), shape_pulls(batch, new, w)
    assert np.abs(before).max() < 4 and np.abs(after).max() < 4
    assert (after**2).mean() < 1.5
    # effective sample size per event goes up
    assert (new.sum() ** 2 / (new**2).sum()) > 1.2 * (w.sum() ** 2 / (w**2).sum())


def test_cells_shrink_as_the_sample_grows() -> None:
    radii = []
    for n in (4_000, 32_000):
        _, batch = signed_sample(n, seed=7)
        radii.append(cell_resample(batch.weight.numpy(), embed_events(batch)).median_radius)
    assert radii[1] < 0.6 * radii[0]


def test_capped_cells_leave_counted_negative_weights_and_sigma_exact() -> None:
    _, batch = signed_sample(4_000, seed=9)
    w = batch.weight.numpy()
    result = cell_resample(w, embed_events(batch), max_cell_size=0.5)
    assert result.n_capped > 0 and (result.weights < 0).sum() > 0
    assert result.max_radius <= 0.5
    assert math.isclose(result.weights.sum(), w.sum(), rel_tol=1e-12)


def test_extra_weights_are_averaged_over_the_same_cells() -> None:
    _, batch = signed_sample(2_000, seed=11)
    w = batch.weight.numpy()
    extra = np.stack([w * 1.1, w * 0.9 + 0.01], 1)
    result = cell_resample(w, embed_events(batch), extra=extra)
    np.testing.assert_allclose(result.extra.sum(0), extra.sum(0), rtol=1e-12)
    # a variation proportional to the central weight stays proportional
    np.testing.assert_allclose(result.extra[:, 0], 1.1 * result.weights, rtol=1e-12, atol=1e-15)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="points: expected shape"):
        cell_resample(np.ones(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="max_cell_size"):
        cell_resample(np.ones(3), np.ones((3, 2)), max_cell_size=0)
    info, batch = signed_sample(100, seed=1)
    with pytest.raises(ValueError, match="method: expected one of cell, neural, gan"):
        make_positive(batch, info, PositiveConfig(method="binned"))
    with pytest.raises(ValueError, match="refine: refines a generator's events, for method gan only"):
        make_positive(batch, info, PositiveConfig(method="cell", refine=True))


def test_event_distance_is_infrared_and_collinear_safe() -> None:
    """An extra soft gluon, or a quark split collinearly, barely moves an event."""
    from tests.positive.toys import dimuon

    base = dimuon(np.array([0.3]), np.array([0.2]), np.array([1.0]))

    def with_partons(partons: list[list[float]]) -> EventBatch:
        out = EventBatch.concat([base])
        k = len(partons)
        out.momenta = torch.cat([out.momenta, torch.tensor([partons], dtype=torch.float64)], 1)
        out.pdg = torch.cat([out.pdg, torch.tensor([[1] + [21] * (k - 1)])], 1)
        out.status = torch.cat([out.status, torch.ones(1, k, dtype=torch.long)], 1)
        out.mothers = torch.cat([out.mothers, torch.zeros(1, k, 2, dtype=torch.long)], 1)
        out.colors = torch.cat([out.colors, torch.zeros(1, k, 2, dtype=torch.long)], 1)
        out.masses = torch.cat([out.masses, torch.zeros(1, k, dtype=torch.float64)], 1)
        return out

    quark = [40.0, 30.0, 0.0, math.sqrt(40.0**2 - 30.0**2)]
    soft = [0.01, 0.0, 0.01, 0.0]
    z = 0.3  # the quark's momentum shared 30/70 with a collinear gluon
    events = EventBatch.concat(
        [
            with_partons([quark]),
            with_partons([quark, soft]),
            with_partons([[(1 - z) * x for x in quark], [z * x for x in quark]]),
            with_partons([[40.0, -30.0, 0.0, math.sqrt(40.0**2 - 30.0**2)]]),
        ]
    )
    x = embed_events(events)
    d = np.linalg.norm(x[1:] - x[0], axis=1)
    # soft: of the order of the 0.01 GeV gluon, sqrt(tau^2 pT^2 + |p|^2) for a jet of its own
    assert d[0] < 1.5 * math.hypot(TAU * 0.01, 0.01) and d[1] < 1e-9 and d[2] > 50


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
