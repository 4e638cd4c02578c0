"""Sample comparison: the AUC, the amplification factor and `mlgen compare` on samples of one distribution."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.cli import main
from mlgen.generative.compare import _atoms, compare_samples
from mlgen.generative.quality import amplification_factor, atoms, histogram_pulls, weighted_auc
from mlgen.lhe import read_lhe

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
ZJETS = DATA / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"


def test_weighted_auc_limits_ties_and_weights() -> None:
    y = np.array([0, 0, 1, 1])
    assert weighted_auc(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert weighted_auc(np.array([0.9, 0.8, 0.2, 0.1]), y) == 0.0
    assert weighted_auc(np.zeros(4), y) == 0.5  # all tied
    # a weight of 2 on a positive counts like two copies of it
    s = np.array([0.1, 0.5, 0.3, 0.9])
    lab = np.array([0, 0, 1, 1])
    copies = weighted_auc(np.array([0.1, 0.5, 0.3, 0.3, 0.9]), np.array([0, 0, 1, 1, 1]))
    assert weighted_auc(s, lab, np.array([1.0, 1.0, 2.0, 1.0])) == pytest.approx(copies)


def test_pulls_of_identical_histograms_vanish() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    w = np.ones_like(x)
    ha, da, hb, db, pull = histogram_pulls(x, w, x, w, np.linspace(-3, 3, 13))
    assert np.allclose(ha, hb) and np.allclose(pull[np.isfinite(pull)], 0)
    assert ha.sum() == pytest.approx(float(np.mean(np.abs(x) <= 3)))


def test_pulls_are_pooled_two_sample_pulls() -> None:
    # unweighted samples of 1e5 and 1e4 events: Var(ha - hb) = p (1/N_a + 1/N_b), p = (n_a + n_b)/(N_a + N_b)
    edges = np.array([0.0, 1.0, 2.0])
    a = np.concatenate([np.full(51, 0.5), np.full(99_949, 5.0)])
    b = np.concatenate([np.full(1, 0.5), np.full(9_999, 5.0)])
    _, da, _, db, pull = histogram_pulls(a, np.ones_like(a), b, np.ones_like(b), edges)
    p = 52 / 110_000
    assert pull[0] == pytest.approx((51e-5 - 1e-4) / math.sqrt(p * (1e-5 + 1e-4)), rel=1e-9)
    assert 1.7 < pull[0] < 1.9  # each sample's own errors would say 3.3
    assert np.isnan(pull[1])  # both empty
    assert da[0] == pytest.approx(math.sqrt(51) / 1e5) and db[0] == pytest.approx(1e-4)


@pytest.mark.parametrize("weighted", [False, True])
def test_pull_distribution_under_the_null_has_unit_width(weighted: bool) -> None:
    rng = np.random.default_rng(3)
    pulls = []
    for _ in range(40):
        a, b = rng.exponential(size=100_000), rng.exponential(size=10_000)
        # weights independent of x: the same distribution, a larger variance per event
        wb = rng.uniform(0.2, 1.8, size=len(b)) if weighted else np.ones_like(b)
        pulls.append(histogram_pulls(a, np.ones_like(a), b, wb, np.linspace(0, 8, 41))[4])
    pulls = np.concatenate(pulls)
    pulls = pulls[np.isfinite(pulls)]
    assert abs(pulls.mean()) < 0.05 and 0.93 < pulls.std() < 1.07


def test_amplification_factor_measures_information() -> None:
    rng = np.random.default_rng(1)
    truth = rng.exponential(size=400_000)
    train = rng.exponential(size=5_000)
    # resampling the training sample adds events but no information: G ~ 1
    resampled = {f.region: f for f in amplification_factor(rng.choice(train, 50_000), truth, len(train))}
    assert 0.6 < resampled["bulk"].g < 1.5
    # ten times more independent events carry ~ten times the information: G well above 1
    fresh = {f.region: f for f in amplification_factor(rng.exponential(size=50_000), truth, len(train))}
    assert fresh["bulk"].g > 3 and fresh["bulk"].g_low > 1.5
    assert fresh["bulk"].g > 3 * resampled["bulk"].g


def _with_atom(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """p_T(ll)-like: ``share`` of the events at exactly 0, the others exponential (10 GeV)."""
    return np.where(rng.uniform(size=n) < share, 0.0, rng.exponential(10.0, size=n))


def test_an_atom_or_discrete_values_are_flagged_instead_of_a_g_of_zero() -> None:
    """The quantile bins of a truth with 55% at p_T(ll) = 0 collapse onto the atom: a sample of the same
    distribution came out G = 0.00 +- 0.00. Now it is flagged and G not computed; so is a count. The same
    sample without the atom still gets its G."""
    rng = np.random.default_rng(5)
    truth, sample = _with_atom(rng, 200_000, 0.55), _with_atom(rng, 20_000, 0.55)
    for region in amplification_factor(sample, truth, 2000):
        assert math.isnan(region.g) and region.flag.startswith("atom: 55.")
        assert region.to_dict()["g"] is None  # JSON has no NaN
    counts = rng.poisson(1.0, size=50_000).astype(float)
    assert amplification_factor(counts[:5000], counts, 500)[0].flag.startswith("discrete: ")
    continuous = [f for f in amplification_factor(sample[sample > 0], truth[truth > 0], 2000)]
    assert all(not f.flag and f.g > 1 for f in continuous)


def test_atoms_are_found_through_rounding_and_compared_alone() -> None:
    """An atom's values differ by an LHE file's rounding; a generator that moved 8% of the events off the
    atom into 0-10 GeV is caught by the atom's own pull, one of the same distribution is not."""
    rng = np.random.default_rng(6)
    reference = _with_atom(rng, 10_000, 0.55)
    reference[reference == 0] = rng.uniform(-1e-9, 1e-9, size=int((reference == 0).sum())) * 1e-3
    ((value, share),) = atoms(reference, min_share=0.01)
    assert abs(value) < 1e-11 and abs(share - 0.55) < 0.02
    same = _with_atom(rng, 10_000, 0.55)
    moved = np.where((same == 0) & (rng.uniform(size=len(same)) < 0.08 / 0.55), rng.uniform(0, 10), same)
    ones = np.ones(10_000)
    (fair,) = _atoms(reference, (same, ones), (reference, ones))
    (shifted,) = _atoms(reference, (moved, ones), (reference, ones))
    assert abs(fair.pull) < 4 and shifted.pull < -8
    assert abs(shifted.share_b - shifted.share_a - 0.08) < 0.02
    # weighted and signed samples: the share's error follows the weights (sum w^2)
    signed = np.where(rng.uniform(size=10_000) < 0.2, -1.0, 1.0)
    (weighted,) = _atoms(reference, (same, signed), (reference, ones))
    assert weighted.share_a_err > 1.4 * weighted.share_b_err and abs(weighted.pull) < 4


@pytest.mark.skipif(not ZJETS.is_file(), reason="../shared/data/lhe not present")
def test_two_halves_of_one_sample_compare_equal(tmp_path: Path) -> None:
    _, events = read_lhe(ZJETS)
    a, b = events[torch.arange(0, 5000)], events[torch.arange(5000, 10000)]
    report = compare_samples(a, b, out_dir=tmp_path, labels=("first", "second")).to_json()
    assert {"m_leptons [GeV]", "n_jets", "pT leading jets [GeV]"} <= set(report["observables"])
    for name, row in report["observables"].items():
        assert row["chi2_ndf"] < 2.0, (name, row)
    assert abs(report["classifier"]["auc"] - 0.5) < 0.03
    assert abs(report["classifier"]["auc_null"] - 0.5) < 0.03
    assert len(report["plots"]) == len(report["observables"])
    assert all(Path(p).is_file() for p in report["plots"])


@pytest.mark.skipif(not ZJETS.is_file(), reason="../shared/data/lhe not present")
def test_compare_cli_with_truth_reports_amplification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgen.lhe import LHEWriter

    info, events = read_lhe(ZJETS)
    # "amplified" = B resampled four times over: G must come out ~1, not 4
    b = events[torch.arange(0, 1000)]
    idx = torch.from_numpy(np.random.default_rng(3).integers(0, 1000, 4000))
    paths = {}
    for name, batch in (("a", b[idx]), ("b", b), ("truth", events[torch.arange(1000, 10000)])):
        paths[name] = tmp_path / f"{name}.lhe.gz"
        with LHEWriter(paths[name], info) as writer:
            writer.write(batch)
    out = tmp_path / "cmp"
    argv = ["compare", str(paths["a"]), str(paths["b"]), "--truth", str(paths["truth"]), "-o", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "classifier AUC" in text and "G[m_leptons [GeV], bulk]" in text
    # p_T(ll) = 0 in 55% of Z + 0 jet events, n_jets a count: flagged, not G = 0.00 +- 0.00
    assert "G[pT_leptons (system) [GeV]] not computed: atom: 5" in text
    assert "G[n_jets] not computed: discrete: 3 values" in text
    assert "G[pT_leptons (system) [GeV], bulk]" not in text
    report = json.loads((out / "compare.json").read_text())
    bulk = [
        f for f in report["amplification"] if f["region"] == "bulk" and f["observable"] == "m_leptons [GeV]"
    ]
    assert 0.4 < bulk[0]["g"] < 2.0


@pytest.mark.skipif(not ZJETS.is_file(), reason="../shared/data/lhe not present")
def test_compare_legends_tell_two_runs_events_apart(tmp_path: Path) -> None:
    """Two runs' events.lhe.gz were both labelled "events"; now their directories tell them apart,
    or the user's --labels do."""
    from mlgen.cli import _parser
    from mlgen.commands.compare import path_labels
    from mlgen.lhe import LHEWriter

    info, events = read_lhe(ZJETS, max_events=600)
    for run, part in (("flow", torch.arange(0, 300)), ("vegas", torch.arange(300, 600))):
        (tmp_path / run).mkdir()
        with LHEWriter(tmp_path / run / "events.lhe.gz", info) as writer:
            writer.write(events[part])
    a, b = str(tmp_path / "flow" / "events.lhe.gz"), str(tmp_path / "vegas" / "events.lhe.gz")
    assert main(["compare", a, b, "-o", str(tmp_path / "cmp"), "--bins", "10"]) == 0
    labels = json.loads((tmp_path / "cmp" / "compare.json").read_text())["labels"]
    assert labels == ["flow/events", "vegas/events"]
    assert path_labels("a.lhe", "runs/b.lhe.gz") == ("a", "b")
    assert _parser().parse_args(["compare", a, b, "--labels", "NF, VEGAS"]).labels == ("NF", "VEGAS")
    with pytest.raises(SystemExit):
        _parser().parse_args(["compare", a, b, "--labels", "only-one"])
