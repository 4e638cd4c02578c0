"""What goes into post-processing comes out (issue 25): header blocks, event attributes, per-event
blocks, reweighting weights, per-process cross sections, the input's particle masses.

A synthetic FxFx-like sample (Z -> e+ e- with 0, 1, 2 gluons, two processes by Born multiplicity,
``npLO``/``npNLO`` on every event tag, signed weights, two reweighting weights, an ``<mgrwt>`` block
per event, MG5 cards in the header) goes through ``mlgen positive`` (each method), ``amplify``,
``merge`` and ``compare``; real files from ``../shared/data/lhe`` through ``positive``, ``merge`` and
``subtract``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.cli import main
from mlgen.events import EventBatch, RunInfo, WeightInfo
from mlgen.lhe import write_lhe
from mlgen.lhe.passthrough import read_events
from mlgen.lhe.weights import per_event_pb, process_lines
from mlgen.metrics import cross_section

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"
HEADER = (
    "<MG5ProcCard>\ngenerate p p > e+ e- [QCD] @0\nadd process p p > e+ e- j [QCD] @1\n</MG5ProcCard>\n"
    "<MGRunCard>\n 3 = ickkw\n 30.0 = ptj\n</MGRunCard>"
)
SQRT_S = 13000.0


def _fxfx_like(n: int, seed: int = 3) -> tuple[RunInfo, EventBatch]:
    """``n`` events: process 1 (Born Z, S events with 0 gluons, H events with 1), process 2 (Born
    Z + j, S with 1, H with 2); 20% negative weights; pT(Z) = 0 exactly in the 0-gluon events."""
    rng = np.random.default_rng(seed)
    pid = np.where(rng.random(n) < 0.6, 1, 2)
    hard = rng.random(n) < 0.4  # H events: one parton more
    k = (pid - 1) + hard
    mz = 91.19 + 2.5 * np.tan(np.pi * (rng.random(n) - 0.5)).clip(-8, 8)
    ptz = np.where(k == 0, 0.0, 20 + rng.exponential(30, n))
    phiz = rng.uniform(0, 2 * np.pi, n)
    yz = rng.normal(0, 1.5, n)
    mtz = np.hypot(mz, ptz)
    z = np.stack([mtz * np.cosh(yz), ptz * np.cos(phiz), ptz * np.sin(phiz), mtz * np.sinh(yz)], -1)
    # Z -> e+ e-: isotropic in its rest frame, boosted
    cos, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
    sin = np.sqrt(1 - cos**2)
    half = mz / 2
    e_rest = np.stack([half, half * sin * np.cos(phi), half * sin * np.sin(phi), half * cos], -1)
    beta = z[:, 1:] / z[:, :1]
    b2 = (beta**2).sum(1)
    gamma = 1 / np.sqrt(1 - b2)

    def boost(p: np.ndarray) -> np.ndarray:
        bp = (beta * p[:, 1:]).sum(1)
        e = gamma * (p[:, 0] + bp)
        coef = np.where(b2 > 0, (gamma - 1) * bp / np.where(b2 > 0, b2, 1), 0.0) + gamma * p[:, 0]
        return np.concatenate([e[:, None], p[:, 1:] + coef[:, None] * beta], 1)

    em = boost(e_rest)
    ep = z - em
    # gluons balance the Z's pT: one takes it all, or two share it
    share = np.where(k == 2, rng.uniform(0.2, 0.8, n), 1.0)
    glu = []
    for s in (share, 1 - share):
        px, py = -z[:, 1] * s, -z[:, 2] * s
        pt_g = np.hypot(px, py)
        y = rng.normal(0, 2, n)
        glu.append(np.stack([pt_g * np.cosh(y), px, py, pt_g * np.sinh(y)], -1))
    final = z + np.where(k[:, None] >= 1, glu[0], 0) + np.where(k[:, None] >= 2, glu[1], 0)
    x1 = (final[:, 0] + final[:, 3]) / SQRT_S
    x2 = (final[:, 0] - final[:, 3]) / SQRT_S
    zero = np.zeros(n)
    p1 = np.stack([x1 * SQRT_S / 2, zero, zero, x1 * SQRT_S / 2], -1)
    p2 = np.stack([x2 * SQRT_S / 2, zero, zero, -x2 * SQRT_S / 2], -1)
    slots = 7
    mom = np.zeros((n, slots, 4))
    pdg = np.zeros((n, slots), dtype=np.int64)
    status = np.zeros((n, slots), dtype=np.int64)
    mothers = np.zeros((n, slots, 2), dtype=np.int64)
    colors = np.zeros((n, slots, 2), dtype=np.int64)
    masses = np.zeros((n, slots))
    for j, (p, code, st) in enumerate(((p1, 2, -1), (p2, -2, -1), (z, 23, 2), (ep, -11, 1), (em, 11, 1))):
        mom[:, j], pdg[:, j], status[:, j] = p, code, st
    masses[:, 2] = mz
    mothers[:, 2] = (1, 2)
    mothers[:, 3:5] = (3, 3)
    colors[:, 0] = (501, 0)
    colors[:, 1] = np.where(k[:, None] == 0, [0, 501], np.where(k[:, None] == 1, [0, 502], [0, 503]))
    for j in (5, 6):
        on = k >= j - 4
        mom[on, j], pdg[on, j], status[on, j], mothers[on, j] = glu[j - 5][on], 21, 1, (1, 2)
    colors[k >= 1, 5] = np.where((k[k >= 1] == 1)[:, None], [501, 502], [501, 502])
    colors[k == 2, 6] = (502, 503)
    w = np.where(rng.random(n) < 0.2, -1.0, 1.0) * rng.uniform(0.5, 1.5, n) * np.where(pid == 1, 10.0, 4.0)
    extra = np.stack([w * 1.1, w * 0.9], -1)
    t = torch.as_tensor
    batch = EventBatch(
        momenta=t(mom),
        pdg=t(pdg),
        status=t(status),
        mothers=t(mothers),
        colors=t(colors),
        masses=t(masses),
        weight=t(w),
        scale=t(np.full(n, 91.19)),
        alpha_qed=t(np.full(n, 1 / 132.5)),
        alpha_s=t(np.full(n, 0.118)),
        process_id=t(pid),
        x1=t(x1),
        x2=t(x2),
        mu_r=t(np.full(n, 91.19)),
        mu_f=t(np.full(n, 91.19)),
        extra_weights=t(extra),
        attributes=np.array(
            [f'npLO=" {b - 1 if b == 2 else -1} " npNLO=" {b - 1} "' for b in pid], dtype=object
        ),
        trailer=np.array(
            [f"<mgrwt>\n<rscale>  0 0.{i + 1}E+02</rscale>\n</mgrwt>" for i in range(n)], dtype=object
        ),
    )
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(SQRT_S / 2, SQRT_S / 2),
        pdf_set=(260000, 260000),
        weight_strategy=-4,
        processes=process_lines(pid, w, unweighted=False),
        generator=("MadGraph5_aMC@NLO", "3.5.8"),
        weights=(WeightInfo("1001", "muR=2", "scale"), WeightInfo("1002", "muR=0.5", "scale")),
        header=HEADER,
    )
    return info, batch


@pytest.fixture(scope="module")
def fxfx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fxfx") / "fxfx.lhe"
    info, batch = _fxfx_like(3000)
    write_lhe(path, info, batch)
    return path


def _check_kept(path_in: Path, path_out: Path, *, same_events: bool, n_sigma: float = 2.0) -> None:
    """Header blocks, attributes, per-event blocks (for kept events), masses per PDG id, and each
    process's sigma in ``<init>`` equal to its weights' and within ``n_sigma`` of the input's."""
    info_in, a = read_events(path_in)
    info_out, b = read_events(path_out)
    assert a is not None and b is not None
    for block in re.findall(r"<(\w+)>", info_in.header):
        assert f"<{block}>" in info_out.header, block
    assert b.attributes is not None and set(b.attributes) <= set(a.attributes)  # type: ignore[arg-type]
    if same_events:
        assert b.trailer is not None and set(b.trailer) <= set(a.trailer)  # type: ignore[arg-type]
        assert [w.id for w in info_out.weights] == [w.id for w in info_in.weights]
        assert b.extra_weights is not None
    else:
        assert b.trailer is None and "dropped the per-event blocks <mgrwt>" in info_out.header
        assert "dropped the reweighting weights" in info_out.header
    for code in torch.unique(b.pdg).tolist():
        if code == 0:
            continue
        allowed = set(np.round(a.masses[a.pdg == code].numpy(), 6).tolist())
        got = set(np.round(b.masses[(b.pdg == code) & (b.status != 2)].numpy(), 6).tolist())
        if code != 23:  # the Z's mass is its daughters'
            assert got <= allowed, (code, got - allowed)
    w_in, w_out = per_event_pb(info_in, a)[0], per_event_pb(info_out, b)[0]
    ids_in, ids_out = a.process_id.numpy(), b.process_id.numpy()
    lines = {line.id: line for line in info_out.processes}
    for pid in np.unique(ids_in):
        s_in, e_in = cross_section(np.where(ids_in == pid, w_in, 0.0))
        s_out = cross_section(np.where(ids_out == pid, w_out, 0.0))[0]
        assert math.isclose(lines[pid].xsec_pb, s_out, rel_tol=1e-9)
        assert abs(s_out - s_in) < n_sigma * max(e_in, lines[pid].error_pb), (pid, s_in, s_out, e_in)


def test_round_trip_keeps_everything_byte_for_byte(fxfx: Path, tmp_path: Path) -> None:
    info, batch = read_events(fxfx)
    assert batch is not None and batch.attributes is not None and batch.trailer is not None
    assert batch.attributes[0].startswith("npLO=")
    again = tmp_path / "again.lhe"
    write_lhe(again, info, batch)
    assert again.read_bytes() == fxfx.read_bytes()


def test_positive_cell_keeps_processes_attributes_blocks_and_weights(fxfx: Path, tmp_path: Path) -> None:
    out = tmp_path / "cell.lhe"
    assert main(["positive", str(fxfx), "-o", str(out), "--method", "cell"]) == 0
    _check_kept(fxfx, out, same_events=True, n_sigma=1e-6)  # cells keep each process's sum exactly
    info, b = read_events(out)
    assert b is not None and (b.weight >= 0).all()
    # every reweighting column through the same cells: each keeps its own sum, process by process
    _, a = read_events(fxfx)
    assert a is not None and a.extra_weights is not None and b.extra_weights is not None
    for pid in (1, 2):
        m_a, m_b = a.process_id == pid, b.process_id == pid
        assert torch.allclose(a.extra_weights[m_a].sum(0), b.extra_weights[m_b].sum(0), rtol=1e-9)


def test_positive_cell_unweighted_keeps_weight_ratios(fxfx: Path, tmp_path: Path) -> None:
    out = tmp_path / "cell_uw.lhe"
    assert main(["positive", str(fxfx), "-o", str(out), "--method", "cell", "--unweight"]) == 0
    _check_kept(fxfx, out, same_events=True, n_sigma=2.0)
    _, b = read_events(out)
    assert b is not None and b.extra_weights is not None
    # the synthetic variations are 1.1 and 0.9 times the central weight, kept through the unweighting
    assert torch.allclose(b.extra_weights[:, 0] / b.weight, torch.full_like(b.weight, 1.1), rtol=1e-9)


def test_positive_neural_keeps_processes(fxfx: Path, tmp_path: Path) -> None:
    out = tmp_path / "neural.lhe"
    assert main(["positive", str(fxfx), "-o", str(out), "--method", "neural", "--epochs", "3"]) == 0
    _check_kept(fxfx, out, same_events=True, n_sigma=2.0)


@pytest.mark.slow  # about 60 s on two cores: the flow method's classifier and two generators
def test_amplify_and_flow_carry_attributes_and_name_what_they_drop(fxfx: Path, tmp_path: Path) -> None:
    positive = tmp_path / "cell.lhe"
    assert main(["positive", str(fxfx), "-o", str(positive), "--method", "cell"]) == 0
    out = tmp_path / "amplified.lhe"
    argv = ["amplify", str(positive), "-o", str(out), "-n", "3000", "--epochs", "2", "--no-progress"]
    assert main(argv) == 0
    _check_kept(positive, out, same_events=False, n_sigma=2.0)
    flow = tmp_path / "flow.lhe"
    argv = ["positive", str(fxfx), "-o", str(flow), "--method", "flow", "--epochs", "2", "-n", "3000"]
    assert main(argv) == 0
    _check_kept(fxfx, flow, same_events=False, n_sigma=2.0)


def test_gluons_keep_the_mass_they_had() -> None:
    """Massive light quarks (0.33 GeV) and massless gluons in one final state: generated records
    take the mass of their own parton class, never the median of a mixed column."""
    from mlgen.generative.representation import layouts

    _, batch = _fxfx_like(200)
    batch.masses[:, 0] = 0.33  # the incoming quark massive, the gluons massless
    keys = list(layouts(batch))
    assert all(key[0] == (-1, "j0.33") and key[1] == (-1, "j") for key in keys)
    assert all(line == (1, "j") for key in keys for line in key[5:])


def test_merge_recomputes_init_and_prints_it(
    fxfx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "merged.lhe"
    assert main(["merge", str(fxfx), str(fxfx), "-o", str(out), "--scale", "0.5"]) == 0
    _check_kept(fxfx, out, same_events=True, n_sigma=1e-6)
    info, _ = read_events(out)
    printed = capsys.readouterr().out
    assert f"sigma = {info.xsec_pb:.6g} +- {info.error_pb:.3g} pb" in printed


def test_compare_of_cells_against_their_signed_input_is_at_its_nulls(fxfx: Path, tmp_path: Path) -> None:
    """``positive --method cell`` against its signed input (20% negative weights): every observable's
    chi2/ndf, p_T(ll) (its atom at 0 compared alone) and the jet multiplicity included, within the null of
    two independent samples (the same events reweighted come out below it), and the classifier's AUC
    within 4 sigma of 0.5, sigma from both samples' effective sizes (it was 0.44-0.45 over three seeds,
    the network having learnt each event's label in one half and scored its copy in the other)."""
    cell = tmp_path / "cell.lhe"
    assert main(["positive", str(fxfx), "-o", str(cell), "--method", "cell"]) == 0
    from mlgen.generative.compare import compare_samples

    _, a = read_events(cell)
    _, b = read_events(fxfx)
    assert a is not None and b is not None and bool((b.weight < 0).any())
    report = compare_samples(a, b)
    assert {"pT_leptons (system) [GeV]", "n_jets", "m_leptons [GeV]"} <= set(report.observables)
    for name, row in report.observables.items():
        assert row.chi2_ndf < 1 + 4 * math.sqrt(2 / row.ndf), (name, row)
        assert all(abs(atom.pull) < 4 for atom in row.atoms), (name, row.atoms)
    (atom,) = report.observables["pT_leptons (system) [GeV]"].atoms
    assert atom.value == 0 and atom.share_b > 0.3

    def n_eff(w: torch.Tensor) -> float:
        return float(w.sum() ** 2 / (w**2).sum())

    # the classifier is tested on half of each sample
    n_a, n_b = n_eff(a.weight) / 2, n_eff(b.weight) / 2
    sigma_auc = math.sqrt((n_a + n_b + 1) / (12 * n_a * n_b))
    assert sigma_auc < 0.025
    assert abs(report.auc - 0.5) < 4 * sigma_auc, (report.auc, sigma_auc)
    assert abs(report.auc_null - 0.5) < 4 * math.sqrt(2 / (6 * n_b)), report.auc_null


REAL = [
    "pylhe-testfile-powheg-box-v2-trijet.lhe",
    "pylhe-testlhef3.lhe",
    "pylhe-testfile-pr180.lhe",
    "pylhe-testfile-powheg-box-v2-W.lhe",
    "pylhe-testfile-sherpa-3.0.1-eejjj.lhe",
]


@pytest.mark.parametrize("name", REAL)
def test_real_files_through_positive_cell_keep_everything(name: str, tmp_path: Path) -> None:
    path = DATA / name
    out = tmp_path / "out.lhe"
    assert main(["positive", str(path), "-o", str(out), "--method", "cell"]) == 0
    info_in, a = read_events(path)
    info_out, b = read_events(out)
    assert a is not None and b is not None
    assert (a.attributes is None) == (b.attributes is None)
    if a.attributes is not None:
        assert list(b.attributes) == list(a.attributes)  # type: ignore[arg-type]
    if a.trailer is not None:
        assert list(b.trailer) == list(a.trailer)  # type: ignore[arg-type]
    assert [w.id for w in info_out.weights] == [w.id for w in info_in.weights]
    assert info_in.header.strip() in info_out.header
    assert torch.equal(a.masses, b.masses) and torch.equal(a.process_id, b.process_id)
    w_in, w_out = per_event_pb(info_in, a)[0], per_event_pb(info_out, b)[0]
    for line in info_out.processes:
        mine_in, mine_out = a.process_id.numpy() == line.id, b.process_id.numpy() == line.id
        assert math.isclose(w_in[mine_in].sum() / len(w_in), line.xsec_pb, rel_tol=1e-9, abs_tol=1e-300)
        assert math.isclose(w_out[mine_out].sum() / len(w_out), line.xsec_pb, rel_tol=1e-9, abs_tol=1e-300)


SUBTRACT_REAL = [
    "pylhe-testlhef3.lhe",  # npLO/npNLO, #aMCatNLO lines, 9 reweighting weights
    "pylhe-testfile-sherpa-3.0.1-eejjj.lhe",  # trials, muf2, mur2
    "pylhe-testfile-powheg-box-v2-directphoton.lhe",  # #rwgt lines, 7 reweighting weights
    "pylhe-testfile-pythia-8.3.14-weakbosons.lhe",  # #pdf lines, 28 record layouts
]


@pytest.mark.parametrize("name", SUBTRACT_REAL)
def test_subtract_keeps_everything_of_the_events_it_keeps(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B a real file, S a third of its events (weighted to a third of sigma_B): ``subtract`` writes B's own
    events, each with its tag attributes, per-event blocks, process id and record; B's header; ``<init>``
    per process from the output's own weights; B's reweighting weights dropped with a warning and a
    header note naming them."""
    base = DATA / name
    info_b, b = read_events(base)
    assert b is not None
    w_b = per_event_pb(info_b, b)[0]
    pick = torch.arange(0, len(b), 3)
    s = b[pick]
    s.weight = torch.as_tensor(w_b[pick.numpy()] * len(pick) / len(b))
    lines_s = process_lines(s.process_id.numpy(), s.weight.numpy(), unweighted=False)
    sub = tmp_path / "s.lhe"
    write_lhe(sub, dataclasses.replace(info_b, processes=lines_s, weight_strategy=-4), s)
    out = tmp_path / "out.lhe"
    assert main(["subtract", str(base), str(sub), "-o", str(out), "--epochs", "3", "--seed", "2"]) == 0
    info_out, c = read_events(out)
    assert c is not None and len(c) > 0
    assert info_b.header.strip() in info_out.header
    # each written event is one of B's: the same momenta, to the writer's rounding
    slots = b.momenta.shape[1]  # the output's records may all be shorter than B's longest
    flat_b = b.momenta.flatten(1)
    flat_c = torch.nn.functional.pad(c.momenta, (0, 0, 0, slots - c.momenta.shape[1])).flatten(1)
    source = torch.cdist(flat_c, flat_b).argmin(1)
    scale = float(flat_b.abs().max())
    assert float((flat_c - flat_b[source]).abs().max()) < 1e-9 * scale
    for field in ("pdg", "status", "mothers", "colors", "masses"):
        kept = getattr(c, field)
        assert torch.equal(kept, getattr(b, field)[source][:, : kept.shape[1]]), field
    for field in ("process_id", "scale"):
        assert torch.equal(getattr(c, field), getattr(b, field)[source]), field
    for field in ("attributes", "trailer"):  # None: no event has any
        given, kept = getattr(b, field), getattr(c, field)
        expected = [""] * len(c) if given is None else list(given[source.numpy()])
        assert (list(kept) if kept is not None else [""] * len(c)) == expected, field
    assert b.attributes is not None or b.trailer is not None  # each of these files has one or the other
    # B's reweighting weights are not B - S's: dropped, and said so (they went without a word)
    assert c.extra_weights is None and not info_out.weights
    if b.extra_weights is not None:
        note = f"dropped the reweighting weights {info_b.weights[0].id}"
        assert note in info_out.header and note in capsys.readouterr().out
    w_out = per_event_pb(info_out, c)[0]
    for line in info_out.processes:
        mine = c.process_id.numpy() == line.id
        assert math.isclose(line.xsec_pb, cross_section(np.where(mine, w_out, 0.0))[0], rel_tol=1e-9)


def test_a_weighted_runs_plot_integrates_to_sigma() -> None:
    """dsigma/dx of f(x) = 3 x^2 on [0, 1] (sigma = 1 pb) from weighted events w = f(x) (x uniform,
    pb per event: the mean is sigma), binned: the bins integrate to 1 within the error, and follow
    3 x^2 (each bin's average) within the errors; the same events unweighted give the same curve."""
    from mlgen.plots import differential_cross_section

    rng = np.random.default_rng(7)
    x = rng.random(200_000)
    w = 3 * x**2
    sigma, error = cross_section(w)
    edges = np.linspace(0, 1, 21)
    density, err = differential_cross_section(x, w, edges, sigma)
    width = np.diff(edges)
    assert abs((density * width).sum() - 1.0) < 4 * error and error < 0.01
    exact = (edges[1:] ** 3 - edges[:-1] ** 3) / width
    pulls = (density - exact) / np.hypot(err, exact * error)
    assert np.mean(pulls**2) < 2.0
    keep = rng.random(len(x)) < w / w.max()
    density_uw, err_uw = differential_cross_section(
        x[keep], np.full(keep.sum(), sigma / keep.sum()), edges, sigma
    )
    assert np.mean(((density_uw - exact) / np.hypot(err_uw, exact * error)) ** 2) < 2.0
