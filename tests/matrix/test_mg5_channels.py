"""MadEvent's channels (``configs.inc`` of the ``.mad`` directories) as mlgen's multi-channel phase
space, weighted by the MG5 code's single-diagram-enhancement weights."""

from __future__ import annotations

import math
import re
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from mlgen.matrix.mg5 import MadGraphCPP
from mlgen.process.channels import MultiChannelProcess

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "madgraph"
if not DATA.is_dir():
    pytest.skip(f"no MadGraph5 process directories at {DATA}", allow_module_level=True)
if shutil.which("g++") is None or shutil.which("make") is None:
    pytest.skip("g++ and make are needed to build the MG5 process libraries", allow_module_level=True)
pytest.importorskip("pythia8mc")  # the PDF grids come with the wheel
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "phasespace"))
from ps_checks import assert_conserved, assert_on_shell, per_event_log_det, uniform  # noqa: E402

SQRT_S = 13000.0


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlgen-cache")


def card(archive: str, cache: Path, extra: str = "") -> str:
    """13 TeV, NNPDF23_lo_as_0130_qed, fixed scale m_t; for t t~ g the gluon cut of MG5's default run
    card (pt > 20 GeV, |eta| < 5: without it g g -> t t~ g is IR divergent)."""
    return (
        f'[process]\nmatrix_element = "madgraph"\noptions = {{ path = "{DATA / archive}", '
        f'cache = "{cache}" }}\n[model]\nscheme = "mg5_sm"\n[beams]\nsqrt_s = {SQRT_S}\n'
        '[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n'
        '[scales]\nmu_r = "fixed"\nmu_f = "fixed"\nvalue = 173.0\nvariations = false\n' + extra
    )


GLUON_CUTS = (
    '[[cuts]]\nobservable = "pt"\nobjects = "gluons"\nmin = 20.0\n'
    '[[cuts]]\nobservable = "abs_eta"\nobjects = "gluons"\nmax = 5.0\n'
)


def build(archive: str, cache: Path, extra: str = ""):  # noqa: ANN201
    from mlgen.cards import parse_card
    from mlgen.process.build import build_process

    return build_process(parse_card(card(archive, cache, extra)))


@pytest.fixture(scope="session")
def gg_tt(cache: Path):  # noqa: ANN201
    return build("gg_tt.mad.tar.gz", cache)


@pytest.fixture(scope="session")
def gg_ttg(cache: Path):  # noqa: ANN201
    return build("gg_ttg.mad.tar.gz", cache, GLUON_CUTS)


def symfact_count(archive: str) -> int:
    """MadEvent's channel count from ``symfact_orig.dat`` (one line per config, written by MG5 beside
    ``configs.inc`` for MadEvent's channel symmetries): a file the parser never reads."""
    with tarfile.open(DATA / archive) as tar:
        name = next(n for n in tar.getnames() if re.search(r"SubProcesses/P1_[^/]*/symfact_orig.dat$", n))
        handle = tar.extractfile(name)
        assert handle is not None
        return sum(1 for line in handle.read().decode().splitlines() if line.strip())


@pytest.mark.parametrize(
    ("fixture", "archive", "expected"),
    [("gg_tt", "gg_tt.mad.tar.gz", 3), ("gg_ttg", "gg_ttg.mad.tar.gz", 15)],
)
def test_as_many_channels_as_madevent(
    fixture: str, archive: str, expected: int, request: pytest.FixtureRequest
) -> None:
    process = request.getfixturevalue(fixture)
    me = process.matrix_element
    assert isinstance(me, MadGraphCPP)
    assert len(process.channels) == len(me.configs) == symfact_count(archive) == expected
    # the channel ids are the diagrams that coloramps.h gives an SDE config (read by directory.py)
    assert tuple(c.diagram for c in me.configs) == me.info.channels
    assert MultiChannelProcess(process).n_channels == expected


def test_gg_ttg_channel_topologies(gg_ttg) -> None:  # noqa: ANN001
    from mlgen.phasespace import Node, TChain

    kinds = [type(space.final).__name__ for _, space in gg_ttg.channels]
    assert kinds[:3] == ["DecayTree"] * 3 and kinds[3:] == ["TChannelMap"] * 12
    # diagram 4: beam B emits the t~, then the gluon, along two top propagators; the t joins beam A
    topology = gg_ttg.channels[3][1].final.chain
    assert isinstance(topology, TChain) and topology.start == 1 and topology.blocks == (1, 2, 0)
    assert [p.mass for p in topology.propagators] == [173.0, 173.0]
    # diagram 2: s-channel gluon of (t g) t~ with a Breit-Wigner top (the card's width)
    root = gg_ttg.channels[1][1].final.root
    top = next(c for c in root.children if isinstance(c, Node))
    assert (top.mass, top.width, top.pdg) == (173.0, 1.4915, 6)


def _log_density(space, u: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    """``dx1 dx2 dPhi_n`` in the free coordinates ``(p_1 .. p_(n-1), p_n^z)``, with the Jacobian of the
    momenta by autograd (as tests/phasespace/test_space.py)."""

    def coords(row: torch.Tensor) -> torch.Tensor:
        p = space.forward(row[None])[0].momenta[0, 2:]
        return torch.cat([p[:-1, 1:].reshape(-1), p[-1, 3:]])

    p = space.forward(u)[0].momenta[:, 2:]
    factor = math.log(2.0 / SQRT_S**2) + 4 * math.log(2 * math.pi)
    factor = factor - torch.log((2 * math.pi) ** 3 * 2 * p[..., 0]).sum(-1)
    return per_event_log_det(coords, u) + factor


@pytest.mark.parametrize("fixture", ["gg_tt", "gg_ttg"])
def test_every_channel_map_is_a_bijection_with_the_right_jacobian(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    process = request.getfixturevalue(fixture)
    for c, (_, space) in enumerate(process.channels):
        u = uniform(2000, space.dim, seed=80 + c)
        point, log_w = space.forward(u)
        p = point.momenta
        assert bool(torch.isfinite(log_w).all()), c
        assert_conserved(p[:, :2].sum(1), p[:, 2:])
        assert_on_shell(p[:, 2:], space.masses, rtol=1e-9)
        u2, log_w2 = space.inverse(point)
        torch.testing.assert_close(u2, u, rtol=0, atol=1e-8, msg=f"channel {c}")
        # a Breit-Wigner top near its threshold costs the inverse some digits (see PhaseSpace)
        torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-6, msg=f"channel {c}")
        v = uniform(3, space.dim, seed=90 + c)
        torch.testing.assert_close(space.forward(v)[1], _log_density(space, v), rtol=1e-8, atol=1e-8)


def test_prior_weights_are_the_codes_enhancement_weights_and_sum_to_one(gg_ttg) -> None:  # noqa: ANN001
    mc = MultiChannelProcess(gg_ttg)
    me = gg_ttg.matrix_element
    u = uniform(500, gg_ttg.channels[9][1].dim, seed=3)
    point = mc.channel_point(9, u)
    ev = point.evaluation
    alpha = torch.exp(point.log_prior)
    assert torch.allclose(alpha.sum(1), torch.ones(500, dtype=torch.float64), atol=1e-12)
    inside = ev.passed
    assert 100 < int(inside.sum()) < 500
    # one channel at a time through the code's own channel id
    g = torch.Generator().manual_seed(4)
    for c, config in enumerate(me.configs):
        ids = torch.full((int(inside.sum()),), config.diagram)
        sde = me.evaluate(ev.momenta[inside], ev.alpha_s[inside], g, ids).sde_weight
        assert torch.allclose(alpha[inside, c], sde, rtol=1e-12, atol=1e-300)
    assert torch.allclose(alpha[~inside], torch.full_like(alpha[~inside], 1 / 15))
    # the prior came from every diagram's |amplitude|^2 in one call (mlgen's patched build), and the
    # per-channel-id route above is the code's own: they agree to rounding
    assert me.bridge.has_diagram_sums
    p_in, a_in = ev.momenta[inside], ev.alpha_s[inside]
    me2, sums = me.bridge.diagram_sums(p_in, a_in, torch.full((p_in.shape[0],), 0.5, dtype=torch.float64))
    assert torch.equal(me2, me(p_in, a_in).reshape(-1))  # the plain |M|^2 of the same call
    # column 0 sums the diagrams with a channel: 15 of the 16 (the four-gluon one has none)
    assert torch.allclose(sums[:, 1:].sum(1), sums[:, 0], rtol=1e-12)


def vegas_and_multichannel(process, n_vegas: int, n_flow: int):  # noqa: ANN001, ANN201
    from mlgen.integrate.loop import vegas_integrate
    from mlgen.integrate.multichannel import multichannel_integrate
    from mlgen.integrate.nis import FlowSettings
    from mlgen.integrate.train import TrainConfig

    torch.set_num_threads(1)
    vegas, _ = vegas_integrate(process, process.dim, n_adapt_iter=5, n_per_iter=n_vegas, n_iter=5, seed=2)
    settings = FlowSettings(
        vegas_adapt_iter=3,
        vegas_per_iter=n_flow,
        flow=dict(n_bins=8, hidden=16, layers=2),
        train=TrainConfig(n_calls=n_flow, batch=n_flow // 5),
        n_iter=3,
        n_per_iter=n_flow,
    )
    flow, _ = multichannel_integrate(MultiChannelProcess(process), settings, seed=5)
    return vegas, flow


def test_gg_tt_cross_section_vegas_and_multichannel_flow_on_madevents_channels(gg_tt) -> None:  # noqa: ANN001
    """sigma(g g -> t t~), 13 TeV, mu = m_t: VEGAS on the default map and the multi-channel flow on
    MadEvent's 3 channels (SDE prior), through the MG5 code, within 4 combined sigma."""
    vegas, flow = vegas_and_multichannel(gg_tt, 20_000, 40_000)
    assert vegas.sdev / vegas.mean < 5e-3 and flow.sdev / flow.mean < 7e-3
    assert abs(vegas.mean - flow.mean) < 4 * math.hypot(vegas.sdev, flow.sdev), (vegas, flow)


@pytest.mark.slow
def test_gg_ttg_cross_section_vegas_and_multichannel_flow_on_madevents_channels(gg_ttg) -> None:  # noqa: ANN001
    """sigma(g g -> t t~ g), 13 TeV, mu = m_t, gluon pt > 20 GeV and |eta| < 5: VEGAS and the
    multi-channel flow on MadEvent's 15 channels, within 4 combined sigma. Every point costs two
    evaluations of the code: |M|^2, and every diagram's |amplitude|^2 for the SDE prior of all
    channels at once (MadGraphCPP.channel_weights)."""
    vegas, flow = vegas_and_multichannel(gg_ttg, 40_000, 12_000)
    assert vegas.sdev / vegas.mean < 1e-2 and flow.sdev / flow.mean < 2.5e-2
    assert abs(vegas.mean - flow.mean) < 4 * math.hypot(vegas.sdev, flow.sdev), (vegas, flow)


@pytest.fixture(scope="module")
def gg_ttgg_channels(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The 105 channels of g g -> t t~ g g read from the .mad directory's configs (no build needed):
    MadGraph 3.7 writes some of them with the "ping-pong" t-channel strategy (TSTRATEGY -2: lines
    grown from both beams in turn)."""
    from mlgen.matrix.mg5.configs import card_parameters, read_configs
    from mlgen.phasespace import PhaseSpace
    from mlgen.process.diagrams import diagram_channels

    out = tmp_path_factory.mktemp("gg_ttgg")
    wanted = ("configs.inc", "props.inc", "param_card.dat")
    with tarfile.open(DATA / "gg_ttgg.mad.tar.gz") as tar:
        for member in tar.getmembers():
            if member.name.endswith(wanted) and ("P1_" in member.name or member.name.endswith("Cards/param_card.dat")):
                handle = tar.extractfile(member)
                assert handle is not None
                (out / Path(member.name).name).write_bytes(handle.read())
    configs = read_configs(out)
    topologies = diagram_channels(configs, card_parameters(out / "param_card.dat"), 4)
    spaces = [PhaseSpace(SQRT_S, [173.0, 173.0, 0.0, 0.0], top, hadronic=True) for _, top in topologies]
    return configs, (out / "configs.inc").read_text(), spaces


def test_gg_ttgg_channels_as_many_as_madevent_each_a_bijection(gg_ttgg_channels) -> None:  # noqa: ANN001
    """Every channel maps the cube onto the phase space and back, with the Jacobian of the momenta.
    The round trip is held to 1e-8 outside the soft and collinear corners (gluon pT > 5 GeV, m_gg > 5
    GeV, well inside what any run card's cuts remove): there a gluon pair of mass ~1e-5 GeV boosted to
    TeV energies loses its decay angles to double precision (measured: up to 0.8 in u without this
    region cut, below 3e-10 with it)."""
    from mlgen.physics.vectors import mass2

    configs, text, spaces = gg_ttgg_channels
    assert len(spaces) == symfact_count("gg_ttgg.mad.tar.gz") == 105
    ping_pong = {int(n) for n in re.findall(r"TSTRATEGY\((\d+)\)/-2/", text)}
    assert len(ping_pong) > 10  # the case the reader once refused ("line -2 does not continue -1")
    for c, space in enumerate(spaces):
        u = uniform(3000, space.dim, seed=200 + c)
        point, log_w = space.forward(u)
        assert bool(torch.isfinite(log_w).all()), c
        p = point.momenta
        gluons = p[:, 4:]
        pt = torch.hypot(gluons[..., 1], gluons[..., 2]).min(1).values
        inside = (pt > 5.0) & (mass2(gluons.sum(1)) > 25.0)
        assert int(inside.sum()) >= 20, c
        assert_conserved(p[:, :2].sum(1), p[:, 2:])
        assert_on_shell(p[inside, 2:], space.masses, rtol=1e-9)
        u2, log_w2 = space.inverse(point)
        torch.testing.assert_close(u2[inside], u[inside], rtol=0, atol=1e-8, msg=f"channel {c + 1}")
        torch.testing.assert_close(log_w2[inside], -log_w[inside], rtol=0, atol=1e-6, msg=f"channel {c + 1}")
        if configs[c].number in ping_pong or c % 10 == 0:
            v = u[inside][:2]
            torch.testing.assert_close(space.forward(v)[1], _log_density(space, v), rtol=1e-8, atol=1e-8)


def test_ping_pong_chain_is_the_diagrams_line_from_one_beam(gg_ttgg_channels) -> None:  # noqa: ANN001
    """Config 16 (TSTRATEGY -2): -1 = (1, t), -2 = (2, t~), -3 = (-1, g5), -4 = (-2, g6) closes. Read
    from beam A, the t-channel line emits t, g5, g6, t~ along the tops -1, -3, -2."""
    from mlgen.phasespace import TChain

    configs, _, spaces = gg_ttgg_channels
    assert configs[15].number == 16
    chain = spaces[15].final.chain
    assert isinstance(chain, TChain) and chain.start == 0 and chain.blocks == (0, 2, 3, 1)
    assert [p.pdg for p in chain.propagators] == [6, 6, 6]


def test_configs_map_to_the_cpp_codes_channel_ids(tmp_path: Path) -> None:
    """The C++ code numbers diagrams apart where a four-gluon vertex splits, so MadEvent's config
    ``i`` (``MAPCONFIG(i)``, Fortran numbering) is the code's channel ``channel2iconfig^-1(i)``: for
    g g -> t t~ g g, config 1 is channel 2 (channel 1 has no config; passing it aborts the code)."""
    from mlgen.matrix.mg5.configs import read_configs
    from mlgen.matrix.mg5.directory import read_process_info

    with tarfile.open(DATA / "gg_ttgg.mad.tar.gz") as tar:
        members = [m for m in tar.getmembers() if "/SubProcesses/P1_" in m.name or "/Cards/" in m.name]
        tar.extractall(tmp_path, members=members, filter="data")
    root = next(tmp_path.iterdir())
    sub = next((root / "SubProcesses").glob("P1_*"))
    info = read_process_info(root, sub)
    configs = read_configs(sub)
    assert len(info.channels) == len(configs) == 105
    assert configs[0].diagram == 1 and info.channels[0] == 2
    assert len(set(info.channels)) == 105 and 1 not in info.channels and max(info.channels) <= 123


def test_colour_choice_from_one_call_has_the_per_channel_distribution(gg_ttg) -> None:  # noqa: ANN001
    """An event's colour flow: channel drawn by its enhancement weight, then MG5's choice for it.
    Drawn from the one-call diagram sums (two code calls per event) it has the distribution of the
    per-channel route (one call per channel): at three fixed points, 6000 draws each way."""
    me = gg_ttg.matrix_element
    assert me.bridge.has_diagram_sums
    u = uniform(400, gg_ttg.dim, seed=11)
    ev = gg_ttg.evaluate(u, variations=False)
    points = ev.momenta[ev.passed][:3]
    assert points.shape[0] == 3
    n, flows = 6000, len(me.info.colour_flows)
    for k in range(3):
        p = points[k : k + 1].expand(n, -1, -1).contiguous()
        fast = me.colour_weights(p)[:, 0].sum(0)
        alpha_s = torch.full((n,), 0.118, dtype=torch.float64)
        rnd = torch.rand(2, n, dtype=torch.float64, generator=me.generator)
        slow = torch.bincount(me._colour_per_channel(p, alpha_s, rnd), minlength=flows).to(torch.float64)
        assert fast.sum() == slow.sum() == n
        # each flow's count: binomial in both, the difference within 4 sigma
        f, s = fast / n, slow / n
        sigma = torch.sqrt((f * (1 - f) + s * (1 - s)) / n).clamp(min=1 / n)
        assert torch.all((f - s).abs() < 4 * sigma), (k, f, s)
        assert int((fast > 0).sum()) >= 2  # more than one flow possible: the test can fail


def test_channels_evaluated_together_equal_one_by_one(gg_ttg, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """All channels' batches in one evaluation (one |M|^2 call, one prior call) give each point
    exactly what its channel gives alone."""
    mc = MultiChannelProcess(gg_ttg)
    parts = [(c, uniform(40 + c, mc.channel_dim, seed=200 + c)) for c in range(mc.n_channels)]
    alone = [mc.channel_point(c, u) for c, u in parts]
    calls: list[int] = []
    original = MadGraphCPP.__call__

    def counting(self, p, alpha_s=None):  # noqa: ANN001, ANN202
        calls.append(int(p.shape[0]))
        return original(self, p, alpha_s)

    monkeypatch.setattr(MadGraphCPP, "__call__", counting)
    together = mc.channel_points(parts)
    assert len(calls) == 1 and 0 < calls[0] <= sum(40 + c for c in range(mc.n_channels))
    for a, t in zip(alone, together, strict=True):
        assert torch.equal(a.evaluation.weight, t.evaluation.weight)
        assert torch.equal(a.evaluation.momenta, t.evaluation.momenta)
        assert torch.equal(a.features, t.features)
        assert torch.allclose(a.log_prior, t.log_prior, rtol=1e-13, atol=1e-13)
    assert any(bool((t.evaluation.weight > 0).any()) for t in together)
