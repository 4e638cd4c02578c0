"""Amplification by a flow: the validity of the events it writes (small sizes; compare measures quality)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.cli import main
from mlgen.events import EventBatch
from mlgen.generative.amplify import amplify
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.refine import RefineConfig
from mlgen.generative.representation import BETA_MAX, features_of, group_events, momenta_of, reference_azimuth
from mlgen.generative.training import train_group
from mlgen.lhe import read_lhe
from mlgen.matrix.ttbar_decay import TTbarAllHadronic
from mlgen.phasespace import PhaseSpace, from_propagators
from mlgen.physics import vectors
from mlgen.process.record import EventBuilder
from mlgen.resample.classifier import ClassifierConfig
from mlgen.seeds import torch_generator

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
ZJETS = DATA / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
pytestmark = pytest.mark.skipif(not ZJETS.is_file(), reason="../shared/data/lhe not present")


def _mass2(p: torch.Tensor) -> torch.Tensor:
    return p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)


def test_features_round_trip_to_the_input_momenta() -> None:
    info, events = read_lhe(ZJETS, max_events=2000)
    for group in group_events(events):
        p = events.momenta[group.index][:, group.final]
        phi0 = reference_azimuth(events, group)
        back, x1, x2 = momenta_of(features_of(events, group), group, phi0, info.sqrt_s)
        # MadGraph 2.2 writes 11 digits: a forward "massless" lepton then has m ~ 5 MeV, which the
        # on-shell rebuild drops (E changes by m^2 / 2 pT^2 relative, up to ~1e-5 of sqrt(s) here)
        assert torch.allclose(back, p, atol=1e-5 * info.sqrt_s)
        total = p.sum(1)
        assert torch.allclose(x1, (total[:, 0] + total[:, 3]) / info.sqrt_s, atol=1e-5)


def test_resonance_masses_are_features_and_the_z_line_is_its_daughters_sum() -> None:
    info, events = read_lhe(ZJETS, max_events=2000)
    groups = [g for g in group_events(events) if g.resonances]
    assert groups
    for group in groups:
        ((slot, daughters),) = group.resonances.items()
        f = features_of(events, group)
        mass = f[:, group.mass_columns[slot]]
        q = events.momenta[group.index][:, daughters].double().sum(1)
        assert torch.allclose(mass, _mass2(q).clamp(min=0).sqrt(), rtol=1e-9)
        # the Z decay angle in the Z rest frame is a cosine: [-1, 1]
        cos = f[:, group.columns.index(f"cos_theta:r{slot}->p{daughters[0]}")]
        assert bool((cos.abs() <= 1 + 1e-12).all())


def _ttbar_records(n: int) -> EventBatch:
    """``n`` of mlgen's own t tbar -> 6 parton records (t -> b W -> b q q', with their t and W lines)."""
    me = TTbarAllHadronic()
    ps = PhaseSpace(13000.0, me.masses[2:], from_propagators(len(me.masses) - 2, me.propagators), m_min=300.0)
    u = torch.rand(n, ps.dim, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    point, _ = ps.forward(u)
    me2 = me(point.momenta, torch.full((n,), 0.118, dtype=torch.float64))
    one = torch.ones(n, dtype=torch.float64)
    return EventBuilder(me).build(
        point.momenta,
        me2,
        one,
        torch_generator(5),
        scale=172.5 * one,
        alpha_s=0.118 * one,
        alpha_qed=one / 132,
    )


@pytest.mark.parametrize("sqrt_s", [None, 13000.0])
def test_nested_decays_round_trip_and_reject_a_resonance_below_threshold(sqrt_s: float | None) -> None:
    """t -> b W -> b q q' twice; with the collider energy, the system's rapidity is a share of its range."""
    n = 300
    batch = _ttbar_records(n)
    (group,) = group_events(batch, sqrt_s)
    # the t tbar system (y, m, the top's angle, m_t, m_tbar), t -> b W (angles, m_W), W -> q q' (angles)
    assert group.n_features == 15 and len(group.mass_columns) == 4
    final = batch.momenta[:, group.final].double()
    f = features_of(batch, group)
    back, x1, x2 = momenta_of(f, group, reference_azimuth(batch, group), 13000.0)
    assert torch.allclose(back, final, atol=1e-9 * 13000.0)
    total = final.sum(1)
    assert torch.allclose(x1, (total[:, 0] + total[:, 3]) / 13000.0, atol=1e-12)
    # a W heavier than its top (M < m_W + m_b, though M > |m_W - m_b|): NaN, never a wrong event
    top, w = sorted(group.mass_columns)[:1][0], None
    for slot, daughters in group.resonances.items():
        if slot != top and set(daughters) < set(group.resonances[top]):
            w = slot
    bad = f.clone()
    bad[:, group.mass_columns[w]] = bad[:, group.mass_columns[top]] + 1.0
    p, _, _ = momenta_of(bad, group, torch.zeros(n, dtype=torch.float64), 13000.0)
    assert bool(torch.isnan(p).any(-1).any(-1).all())


def test_the_tops_and_ws_decay_in_their_helicity_frames() -> None:
    """The features are the angles a physicist would histogram, computed here independently.

    * W -> q q': the angle of q in the W rest frame to the W's flight in the top's rest frame (the W
      helicity angle, 70% longitudinal in t -> b W): in the lab-parallel rest frame it is a function of
      two angles that a generator did not learn (flat where the truth falls to a third at +1).
    * the scattering angle of t tbar: ``atanh(beta cos) / atanh(beta)``, flat for a t-channel
      ``1 / (1 - beta^2 cos^2)``, so its shape hardly changes with m(t tbar).
    * the system's rapidity over its range, log(sqrt(s) / m): within [-1, 1]; its mass above the
      tops' (no generated system below its threshold).
    """
    batch = _ttbar_records(300)
    (group,) = group_events(batch, 13000.0)
    f = features_of(batch, group)
    p = batch.momenta.double()
    columns = group.columns
    tops = [slot for slot, parent in group.tree.parents.items() if parent == -1]
    assert len(tops) == 2
    for top in tops:
        (w,) = [slot for slot, parent in group.tree.parents.items() if parent == top]
        q = group.resonances[w][0]
        pw, pt = p[:, w], p[:, top]
        q_in_w = vectors.boost_to_rest_frame(p[:, q], pw)[:, 1:]
        # the W's flight in the top's frame is, seen from the W, opposite to the top
        t_in_w = vectors.boost_to_rest_frame(pt, pw)[:, 1:]
        expected = -(q_in_w * t_in_w).sum(-1) / (q_in_w.norm(dim=-1) * t_in_w.norm(dim=-1))
        assert torch.allclose(f[:, columns.index(f"cos_theta_h:r{w}->p{q}")], expected, atol=1e-9)
    system = p[:, group.final].sum(1)
    m = vectors.mass(system)
    first = tops[0]
    top_cm = vectors.boost_to_rest_frame(p[:, first], system)
    cos = top_cm[:, 3] / top_cm[:, 1:].norm(dim=-1)
    beta = (2 * top_cm[:, 1:].norm(dim=-1) / m).clamp(max=BETA_MAX)  # massless children: capped
    z = f[:, columns.index(f"z_theta:sys->r{first}")]
    assert torch.allclose(z, torch.atanh(beta * cos) / torch.atanh(beta), atol=1e-9)
    # the system's mass above its threshold, the sum of the tops' masses: no generated event falls below
    excess = f[:, columns.index("m_excess:sys")]
    assert torch.allclose(excess, m - sum(vectors.mass(p[:, top]) for top in tops), atol=1e-9)
    y = f[:, columns.index("y_frac:sys")]
    assert torch.allclose(y * torch.log(13000.0 / m), vectors.rapidity(system), atol=1e-9)
    assert bool((y.abs() < 1).all())


def test_feature_map_is_a_smooth_cdf_with_an_exact_inverse() -> None:
    gen = torch.Generator().manual_seed(1)
    n = 20000
    bw = 91.19 + 1.25 * torch.tan(math.pi * (torch.rand(n, generator=gen, dtype=torch.float64) - 0.5))
    x = torch.stack([torch.randn(n, generator=gen, dtype=torch.float64), bw.clamp(50, 130)], 1)
    fmap = FeatureMap.fit(x)
    u = fmap.to_unit(x)
    assert torch.allclose(fmap.from_unit(u), x, atol=1e-9)
    # a narrow peak comes out flat: every tenth of the unit interval within 5 sigma of n/10
    for j in range(2):
        counts = torch.histc(u[:, j], 10, 0, 1)
        assert bool(((counts - n / 10).abs() < 5 * math.sqrt(n / 10)).all()), counts


def test_a_resonance_with_its_line_shape_is_flat_with_few_knots() -> None:
    """A Breit-Wigner step at the pole and width flattens the peak before any knot is placed: four
    knots then suffice, where four knots of the affine map leave the peak's core far from flat."""
    gen = torch.Generator().manual_seed(3)
    n = 20000
    bw = 80.4 + 2.085 / 2 * torch.tan(math.pi * (torch.rand(n, generator=gen, dtype=torch.float64) - 0.5))
    x = bw[(bw > 50) & (bw < 110)][:, None]
    n = len(x)
    with_line = FeatureMap.fit(x, n_knots=4, tails=False, lines=[(80.4, 2.085)])
    affine = FeatureMap.fit(x, n_knots=4, tails=False)
    assert torch.allclose(with_line.from_unit(with_line.to_unit(x)), x, atol=1e-9)
    bound = 5 * math.sqrt(n / 10)
    flat = torch.histc(with_line.to_unit(x)[:, 0], 10, 0, 1)
    assert bool(((flat - n / 10).abs() < bound).all()), flat
    lumpy = torch.histc(affine.to_unit(x)[:, 0], 10, 0, 1)
    assert bool(((lumpy - n / 10).abs() > bound).any()), lumpy


def _top_line(u: np.ndarray, slope: float) -> np.ndarray:
    """Masses at the quantiles ``u`` of a relativistic Breit-Wigner (m_t = 173, Gamma = 1.4915) times
    ``exp(slope (m - m_t))`` on [150, 196] GeV (the decay phase space and PDFs tilt a real line)."""
    m = np.linspace(150.0, 196.0, 400001)
    density = np.exp(slope * (m - 173.0)) / ((m**2 - 173.0**2) ** 2 + (173.0 * 1.4915) ** 2) * m
    cdf = np.cumsum(density)
    return np.interp(u, (cdf - cdf[0]) / (cdf[-1] - cdf[0]), m)


def test_a_fitted_line_shape_puts_the_peak_at_the_pole_not_at_the_training_samples() -> None:
    """With the pole and width given, the map's peak is the truth's to a fraction of the training
    sample's error; a map of quantile knots copies the training sample's peak (its error, in full)."""
    from mlgen.generative.quality import breit_wigner_fit

    grid = (np.arange(200000) + 0.5) / 200000  # quantiles: the fits see densities, not samples

    def peak(masses: np.ndarray) -> float:
        return breit_wigner_fit(masses, None, 173.0, 1.4915).mass

    truth = peak(_top_line(grid, 0.03))
    assert truth - 173.0 > 0.01  # the tilt moves the peak: the pole alone would be wrong
    line_off, quantile_off = [], []
    for seed in range(6):
        x = torch.from_numpy(_top_line(np.random.default_rng(seed).random(10000), 0.03))[:, None]
        train_err = breit_wigner_fit(x[:, 0].numpy(), None, 173.0, 1.4915).mass_err
        lined = FeatureMap.fit(x, lines=[(173.0, 1.4915)])
        assert lined.line_fits[0]["degree"] >= 1 and lined.line_fits[0]["ks_p"] > 1e-3
        quantiles = FeatureMap.fit(x, n_knots=64)
        u = torch.from_numpy(grid)[:, None]
        line_off.append((peak(lined.from_unit(u)[:, 0].numpy()) - truth) / train_err)
        quantile_off.append((peak(quantiles.from_unit(u)[:, 0].numpy()) - truth) / train_err)
    line_rms, quantile_rms = np.sqrt(np.mean(np.square(line_off))), np.sqrt(np.mean(np.square(quantile_off)))
    assert line_rms < 0.5 and quantile_rms > 2 * line_rms, (line_off, quantile_off)


def test_a_residual_no_polynomial_describes_falls_back_to_quantile_knots() -> None:
    rng = np.random.default_rng(5)
    spike = rng.normal(185.0, 0.3, 1500)  # a narrow second line: no smooth residual
    x = torch.from_numpy(np.concatenate([_top_line(rng.random(10000), 0.0), spike]))[:, None]
    fmap = FeatureMap.fit(x, lines=[(173.0, 1.4915)])
    assert fmap.line_fits[0]["degree"] is None
    counts = torch.histc(fmap.to_unit(x)[:, 0], 20, 0, 1)
    assert bool(((counts - len(x) / 20).abs() < 5 * math.sqrt(len(x) / 20)).all()), counts


def test_masses_with_a_fitted_line_are_drawn_from_it_and_condition_the_flow() -> None:
    """The t and W masses take the pole and width of the header's spectrum; drawn from their fitted
    line shapes, they are the flow's context, so their generated marginals are the line shapes."""
    spectrum = {6: (173.0, 1.4915), 24: (80.379, 2.085)}
    config = AmplifyConfig(epochs=2)
    batch = _ttbar_records(6000)
    group = group_events(batch, 13000.0)[0]
    # phase-space records: tops from 10 to 390 GeV; the residual is fitted within 15 widths of the pole,
    # the tails beyond follow quantile knots, and the masses come out flat in the map
    wide = train_group(batch, group, 13000.0, config, 1.0, torch.device("cpu"), spectrum=spectrum)
    tops = [line for line in wide.line_shapes if line["pole"] == 173.0]
    window = pytest.approx((173.0 - 15 * 1.4915, 173.0 + 15 * 1.4915))
    assert len(tops) == 2 and all(line["degree"] and tuple(line["window"]) == window for line in tops)
    assert all(0.5 < line["share_in_window"] < 0.99 for line in tops)
    x = features_of(batch, group)
    u = wide.features.to_unit(x)
    for col in wide.features.unit_columns(list(group.mass_columns.values())):
        counts = torch.histc(u[:, col], 20, 0, 1)
        assert bool(((counts - len(x) / 20).abs() < 5 * math.sqrt(len(x) / 20)).all()), counts
    # within MadGraph's bwcutoff (15 widths), as generators write them
    near = torch.ones(len(x), dtype=torch.bool)
    for slot, col in group.mass_columns.items():
        pole, width = spectrum[int(batch.pdg[0, slot].abs())]
        near &= (x[:, col] - pole).abs() < 15 * width
    batch = batch[group.index[near]]
    group = group_events(batch, 13000.0)[0]
    model = train_group(batch, group, 13000.0, config, 1.0, torch.device("cpu"), spectrum=spectrum)
    lines = {line["feature"]: line for line in model.line_shapes}
    assert sorted(lines) == sorted(group.columns[col] for col in group.mass_columns.values())
    assert {(line["source"], line["pole"], line["width"]) for line in lines.values()} == {
        ("slha", 173.0, 1.4915),
        ("slha", 80.379, 2.085),
    }
    fitted = [group.columns.index(name) for name, line in lines.items() if line["degree"] is not None]
    assert len(fitted) == 4 and model.held == model.features.unit_columns(fitted)
    assert (model.generator.dim, model.generator.n_context) == (model.features.dim - 4, 4)
    u = model.features.to_unit(model.sample_features(20000, torch_generator(1)))[:, model.held]
    counts = torch.stack([torch.histc(u[:, j], 10, 0, 1) for j in range(4)])
    assert bool(((counts - 2000).abs() < 5 * math.sqrt(2000)).all()), counts
    unheld = train_group(
        batch, group, 13000.0, dataclasses.replace(config, held_lines=False), 1.0, torch.device("cpu")
    )
    assert unheld.held == [] and unheld.generator.dim == model.features.dim
    # a pole outside the sample's masses (an off-shell sample) has no peak to fit: the W masses keep
    # the sample's median and quantile knots, and stay in the flow
    off_shell = {6: (173.0, 1.4915), 24: (300.0, 2.085)}
    model = train_group(batch, group, 13000.0, config, 1.0, torch.device("cpu"), spectrum=off_shell)
    sources = sorted((line["source"], line["degree"] is None) for line in model.line_shapes)
    assert sources == [("median", True), ("median", True), ("slha", False), ("slha", False)]
    assert len(model.held) == 2


def test_a_column_given_its_parent_is_flat_in_every_bin_of_the_parent() -> None:
    """x2 = x1 * r (r uniform, x1 in [0.5, 1]): given x1 its CDF is x2 / x1. Fitted in four bins of x1
    (linearly interpolated in between), the map leaves x2 flat in every quarter of x1, where the
    marginal map cannot; it stays exact both ways."""
    gen = torch.Generator().manual_seed(4)
    n = 40000
    x1 = 0.5 + 0.5 * torch.rand(n, generator=gen, dtype=torch.float64)
    x = torch.stack([x1, x1 * torch.rand(n, generator=gen, dtype=torch.float64)], 1)
    bounds = [(0.5, 1.0), (0.0, 1.0)]
    given = FeatureMap.fit(x, bounds=bounds, n_knots=8, tails=False, given={1: 0})
    marginal = FeatureMap.fit(x, bounds=bounds, n_knots=8, tails=False)
    assert torch.allclose(given.from_unit(given.to_unit(x)), x, atol=1e-9)

    def worst_quarter(fmap: FeatureMap) -> float:
        u = fmap.to_unit(x)
        worst = 0.0
        for q in range(4):
            sel = (u[:, 0] >= q / 4) & (u[:, 0] < (q + 1) / 4)
            counts = torch.histc(u[sel, 1], 5, 0, 1)
            expected = int(sel.sum()) / 5
            worst = max(worst, float(((counts - expected).abs() / math.sqrt(expected)).max()))
        return worst

    # worst of 20 cells: 4.2 sigma given x1 (the CDF still moves within a bin), 42 sigma without
    assert worst_quarter(given) < 6
    assert worst_quarter(marginal) > 30
    with pytest.raises(ValueError, match="has a parent itself"):
        FeatureMap.fit(x, bounds=bounds, given={1: 0, 0: 1})


def test_a_constant_feature_is_held_out_of_the_unit_cube() -> None:
    """A lepton collider's sqrt(s-hat) is one number: the flow must not see it, the inverse restores it."""
    gen = torch.Generator().manual_seed(2)
    x = torch.stack([torch.full((500,), 91.2, dtype=torch.float64), torch.rand(500, generator=gen)], 1)
    fmap = FeatureMap.fit(x)
    assert fmap.dim == 1
    u = fmap.to_unit(x)
    assert u.shape == (500, 1)
    back = fmap.from_unit(u)
    assert torch.allclose(back, x, rtol=1e-14, atol=1e-12)


def test_saved_generators_give_the_same_events_again(tmp_path: Path) -> None:
    """Train once with --save, generate later with --load: the same seed gives the same events, bit for
    bit, with no training; a file without the input's layouts is refused, naming it."""
    info, events = read_lhe(ZJETS, max_events=1500)
    config = AmplifyConfig(epochs=2, batch=256)
    model = tmp_path / "zjets.pt"
    first, report = amplify(events, info, 800, config=config, save=model)
    again, report_again = amplify(events, info, 800, config=config, load=model)
    report, report_again = report.to_json(), report_again.to_json()
    assert model.is_file() and not (tmp_path / "zjets.pt.part").exists()
    assert torch.equal(first.momenta, again.momenta) and torch.equal(first.pdg, again.pdg)
    assert [g["best_epoch"] for g in report_again["groups"]] == [g["best_epoch"] for g in report["groups"]]
    # the Z line takes MadGraph's pole and width from the file's <slha> block, through the saved file too
    z_lines = [line for g in report["groups"] for line in g["line_shapes"]]
    assert z_lines and all(
        (z["source"], z["pole"], z["width"]) == ("slha", 91.188, 2.441404) for z in z_lines
    )
    assert [g["line_shapes"] for g in report_again["groups"]] == [g["line_shapes"] for g in report["groups"]]
    assert all(g["train_seconds"] == 0.0 for g in report_again["groups"])
    # another input: Z + 0 jets only has one of the three layouts
    zero_jets = events[torch.tensor([i for i in range(len(events)) if (events.status[i] == 1).sum() == 2])]
    amplify(zero_jets, info, 10, config=config, save=tmp_path / "zero.pt")
    with pytest.raises(ValueError, match="zero.pt: no generator for the input's record layout"):
        amplify(events, info, 10, config=config, load=tmp_path / "zero.pt")
    # the same layouts described otherwise (at another collider energy the rapidity is a plain one)
    other = dataclasses.replace(info, beam_energies=(0.0, 0.0))
    with pytest.raises(ValueError, match="zjets.pt: the generator of layout"):
        amplify(events, other, 10, config=config, load=model)
    (tmp_path / "junk.pt").write_text("not a model")
    with pytest.raises(ValueError, match="junk.pt: not a file of trained generators"):
        amplify(events, info, 10, config=config, load=tmp_path / "junk.pt")


def test_generation_in_chunks_gives_every_event_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """``generate_group`` makes ``CHUNK`` events at a time: 700 events in chunks of 300 are 700 valid
    events with a donor each, and the rejections of every chunk are counted."""
    import mlgen.generative.sampling as amplify_module

    info, events = read_lhe(ZJETS, max_events=1500)
    group = max(group_events(events, info.sqrt_s), key=lambda g: len(g.index))
    model = train_group(events, group, info.sqrt_s, AmplifyConfig(epochs=1), 1.0, torch.device("cpu"))
    monkeypatch.setattr(amplify_module, "CHUNK", 300)
    out, rejected, donors = amplify_module.generate_group(
        model, events, info.sqrt_s, 700, torch.Generator().manual_seed(3)
    )
    assert len(out) == 700 and len(donors) == 700 and rejected >= 0
    assert bool(torch.isin(donors, group.index).all())
    p = out.momenta[:, group.final].double()
    assert bool(torch.isfinite(p).all()) and bool((out.x1 <= 1).all() and (out.x2 <= 1).all())


def test_an_init_block_without_a_cross_section_takes_it_from_the_weights(tmp_path: Path) -> None:
    """POWHEG writes XSECUP = -1 before it knows sigma: the output must not carry -1 pb (negative
    unweighted events), but the input weights' mean, and say so."""
    source = DATA / "pylhe-testfile-powheg-box-v2-directphoton.lhe"
    info, events = read_lhe(source)
    assert info.xsec_pb == -1
    out, report = amplify(events, info, 50, config=AmplifyConfig(epochs=1))
    report = report.to_json()
    sigma = float(events.weight.double().mean())  # IDWTUP = -4 with the mean convention: pb per event
    assert report["sigma_from"] == "weights" and report["sigma_pb"] == pytest.approx(sigma, rel=1e-12)
    assert bool((out.weight > 0).all()) and float(out.weight.sum()) == pytest.approx(sigma, rel=1e-12)
    target = tmp_path / "more.lhe.gz"
    assert (
        main(["amplify", str(source), "-o", str(target), "-n", "20", "--epochs", "1", "--no-progress"]) == 0
    )
    written, _ = read_lhe(target)
    assert written.xsec_pb == pytest.approx(sigma, rel=1e-12)


def test_amplified_zjets_events_are_valid_lhe(tmp_path: Path) -> None:
    info, events = read_lhe(ZJETS, max_events=3000)
    out, report = amplify(events, info, 2000, config=AmplifyConfig(epochs=2, batch=256, hidden=32))
    report = report.to_json()
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


def test_generated_events_stay_inside_the_inputs_x_and_sqrt_shat() -> None:
    """x1, x2 and sqrt(s-hat) are bounded by no single feature: a briefly trained flow put 55 of 2e4 events
    beyond the input's (sqrt(s-hat) up to 4384 GeV, the input's largest 1895); they are rejected."""
    info, events = read_lhe(ZJETS, max_events=3000)
    out, report = amplify(events, info, 20_000, config=AmplifyConfig(epochs=2, batch=256, hidden=32))

    def sqrt_shat(batch: EventBatch) -> torch.Tensor:
        return torch.sqrt(batch.x1 * batch.x2) * info.sqrt_s

    for name, of in (("x1", lambda b: b.x1), ("x2", lambda b: b.x2), ("sqrt(s-hat)", sqrt_shat)):
        given, made = of(events).double(), of(out).double()
        slack = 1e-9 * float(given.abs().max())
        assert float(made.max()) <= float(given.max()) + slack, name
        assert float(made.min()) >= float(given.min()) - slack, name
    # what was rejected is counted, and few: the flow's bulk lies inside
    assert 0 < report.rejected < 0.05 * len(out)


def test_jets_are_lab_features_and_their_cut_stays_sharp() -> None:
    """Z + 1 jet: the jet's log pT is a feature, so MLM's 10 GeV cut is an edge of the map, not smoothed;
    the Z mass's range is the input's, unpadded (MadGraph's m_ll > 30 GeV)."""
    from mlgen.generative.layoutmap import feature_bounds
    from mlgen.generative.records import complete_records

    info, events = read_lhe(ZJETS)
    batch = complete_records(events).batch
    one_jet = next(g for g in group_events(batch) if len(g.final) == 3)
    assert one_jet.columns[:3] == ["log_pt:p5", "y:p5", "y:r2"]  # the Z balances the jet's pT
    x = features_of(batch, one_jet)
    lo, hi = feature_bounds(one_jet, x)[0]
    assert lo == float(x[:, 0].min()) and hi is None
    pt_in = torch.exp(x[:, 0])
    assert 10.0 <= float(pt_in.min()) < 10.1  # xqcut = 10 GeV in the run card
    model = train_group(
        batch, one_jet, info.sqrt_s, AmplifyConfig(epochs=3, batch=256), 1.0, torch.device("cpu")
    )
    generated = model.sample_features(20_000, torch_generator(4))
    pt = torch.exp(generated[:, 0])
    assert float(pt.min()) >= float(pt_in.min()) * (1 - 1e-9)
    # so is the Z mass's: MadGraph's m_ll > 30 GeV, and its highest value
    (z,) = one_jet.mass_columns.values()
    assert feature_bounds(one_jet, x)[z] == (float(x[:, z].min()), float(x[:, z].max()))
    assert 30.0 <= float(x[:, z].min()) <= float(generated[:, z].min()) + 1e-9
    assert float(generated[:, z].max()) <= float(x[:, z].max()) + 1e-9
    # the first 10 GeV above the cut hold the bulk of the jets: as many as in the input (within 15%)
    near = float((pt < 20).double().mean())
    near_in = float((pt_in < 20).double().mean())
    assert abs(near / near_in - 1) < 0.15, (near, near_in)


def test_madgraphs_optional_z_line_is_completed_and_restored() -> None:
    from mlgen.generative.records import complete_records
    from mlgen.generative.representation import layouts

    _, events = read_lhe(ZJETS)
    # Z + 0, 1, 2 jets, each with and without MadGraph's Z line, e+e- and mu+mu- (massless: one class)
    assert len(layouts(events)) == 6
    records = complete_records(events)
    assert len(layouts(records.batch)) == 3
    added = records.added
    assert 0.1 < float(added.float().mean()) < 0.3  # the photon channel's events
    done = records.batch[torch.nonzero(added).flatten()]
    z = (done.pdg == 23).nonzero()
    assert len(z) == int(added.sum())  # one Z line per completed event, the sum of the leptons
    leptons = done.momenta[torch.isin(done.pdg.abs(), torch.tensor([11, 13]))]
    assert torch.allclose(done.momenta[z[:, 0], z[:, 1]], leptons.view(-1, 2, 4).sum(1), atol=1e-9)
    # back to the donors' own layouts: the input, exactly
    back = records.restore(records.batch, torch.arange(len(events)))
    for name in ("momenta", "pdg", "status", "mothers", "colors", "masses"):
        assert torch.equal(getattr(back, name), getattr(events, name)), name


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
    printed = capsys.readouterr().out
    assert "300 events ->" in printed
    # the Z line's pole and width from the file's <slha>; its residual fitted within 15 widths
    assert "line shape: pole 91.188 GeV, width 2.441 GeV (the input's <slha>; fitted residual" in printed
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


def test_a_negative_adversarial_weight_is_refused_by_name() -> None:
    info, events = read_lhe(ZJETS, max_events=100)
    with pytest.raises(ValueError, match="adversarial: expected a weight >= 0, got -1"):
        amplify(events, info, 10, config=AmplifyConfig(adversarial=-1.0))


def test_weighted_feature_map_follows_the_weighted_distribution() -> None:
    """Uniform x with weights 2x has the CDF x^2: the map sends x to x^2, so sqrt(1/2) to 1/2."""
    n = 200_000
    x = torch.rand(n, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    fmap = FeatureMap.fit(x, 2 * x[:, 0], bounds=[(0.0, 1.0)])
    probe = torch.tensor([[0.3], [math.sqrt(0.5)], [0.9]], dtype=torch.float64)
    # the quantile knots' statistical error is ~ 1 / sqrt(n) per level; 0.01 is about five of them
    assert torch.allclose(fmap.to_unit(probe)[:, 0], probe[:, 0] ** 2, atol=0.01)


def test_the_optional_discriminator_and_mass_mmd_train_and_are_reported() -> None:
    info, events = read_lhe(ZJETS, max_events=3000)
    group = max((g for g in group_events(events) if g.resonances), key=lambda g: len(g.index))
    config = AmplifyConfig(epochs=2, batch=128, adversarial=0.5, mmd_weight=1.0)
    model = train_group(events, group, info.sqrt_s, config, 1.0, torch.device("cpu"))
    nll, nll_held_out, d_loss, mmd = model.losses[-1]
    # a discriminator's cross entropy on real + generated is near 2 log 2 early on, never 0 or NaN
    assert 0.5 < d_loss < 3.0
    assert math.isfinite(nll) and math.isfinite(nll_held_out) and 0 < mmd < 1


def test_an_unreadable_slha_block_warns_naming_its_line_and_falls_back() -> None:
    from mlgen.events import RunInfo
    from mlgen.generative.lineshapes import header_spectrum

    good = RunInfo(
        (2212, 2212), (6500.0, 6500.0), header="<slha>\nBLOCK MASS\n 6 173.0\nDECAY 6 1.5\n</slha>"
    )
    assert header_spectrum(good) == {6: (173.0, 1.5)}
    bad = dataclasses.replace(good, header="<slha>\nBLOCK MASS\n 6 heavy\n</slha>")
    with pytest.warns(UserWarning, match=r"<slha>:3: expected a number .* the sample's median"):
        assert header_spectrum(bad) == {}
    assert header_spectrum(dataclasses.replace(good, header="")) == {}


def test_a_resonance_mass_seen_in_one_event_is_held_at_its_value() -> None:
    """Pythia 8's weak-boson file: 100 events in 28 layouts, some of a single event. A mass seen once
    has no range to draw from: it is held constant (as a zero-width range it made every generated
    event of the layout fail x <= 1)."""
    info, events = read_lhe(DATA / "pylhe-testfile-pythia-8.3.14-weakbosons.lhe")
    out, report = amplify(events, info, 200, config=AmplifyConfig(epochs=2, batch=64))
    report = report.to_json()
    assert any(g["n_train"] == 1 and g["n_generated"] > 0 for g in report["groups"])
    assert len(out) == 200 and float(out.x1.max()) <= 1 and float(out.x2.max()) <= 1


def test_refined_amplification_keeps_every_layout_and_reports_its_cost() -> None:
    """Z + 0, 1, 2 jets refined (:mod:`mlgen.generative.refine`): the candidates of every layout line up with
    the input's features, the events asked for are written with sigma, and what was drawn is counted."""
    info, events = read_lhe(ZJETS, max_events=1500)
    refine = RefineConfig(classifier=ClassifierConfig(epochs=5, seed=2))
    out, report = amplify(events, info, 800, config=AmplifyConfig(epochs=2, batch=256), refine=refine)
    report = report.to_json()
    assert len(out) == 800 and math.isclose(float(out.weight.sum()), info.xsec_pb, rel_tol=1e-12)
    refined = report["refine"]
    drawn = sum(g["n_generated"] for g in report["groups"])
    assert drawn == refined["candidates"] + refined["train_events"] and refined["train_events"] == 1500
    # E_gen[rho] = 1 for a calibrated classifier: the candidates' mean says how far it is from that
    assert 0 < refined["efficiency"] <= 1 and abs(refined["rho_mean"] - 1) < 0.1

    # the parton multiplicity of the output is the input's, within counting errors
    def partons(batch: EventBatch) -> torch.Tensor:
        a = batch.pdg.abs()
        return ((batch.status == 1) & ((a <= 5) | (a == 21))).sum(1).double()

    n_out, n_in = partons(out), partons(events)
    error = math.sqrt(float(n_out.var()) / len(n_out) + float(n_in.var()) / len(n_in))
    assert abs(float(n_out.mean() - n_in.mean())) < 4 * error and error > 0
