"""Multi-channel sampling of Drell-Yan with gamma and Z channels, against the independent quadrature."""

from __future__ import annotations

import math

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.flows.coupling import Flow
from mlgen.integrate.channel_weights import ChannelWeights
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.multichannel import MultiChannelSampler, multichannel_integrate
from mlgen.integrate.nis import FlowSettings
from mlgen.integrate.persist import load_sampler, save_sampler
from mlgen.integrate.train import TrainConfig
from mlgen.phasespace.topologies import channel_groups
from mlgen.process.build import build_process
from mlgen.process.channels import MultiChannelProcess
from mlgen.seeds import torch_generator
from tests.process import quadrature as Q

pytest.importorskip("pythia8mc")  # the PDF grids come with the wheel

CARD = """
[process]
matrix_element = "drell_yan"
[beams]
sqrt_s = 13000.0
[pdf]
set = "NNPDF23_lo_as_0130_qed"
[scales]
mu_f = "m_ll"
mu_r = "m_ll"
variations = false
[[cuts]]
observable = "m"
objects = "leptons"
min = 60.0
max = 120.0
"""


@pytest.fixture(scope="module")
def process():
    return build_process(parse_card(CARD))


def test_channels_follow_the_propagators(process) -> None:
    groups = channel_groups(process.matrix_element.propagators)
    assert [[p.pdg for p in g] for g in groups] == [[23], [22]]
    assert len(process.channels) == 2
    mc = MultiChannelProcess(process)
    assert mc.dim == 1 + process.dim
    # prior weights sum to one and follow the propagators: the Z channel wins at the pole
    u = torch.rand(2000, process.dim, generator=torch_generator(1), dtype=torch.float64)
    point = mc.channel_point(0, u)
    alpha = torch.exp(point.log_prior)
    assert torch.allclose(alpha.sum(-1), torch.ones(2000, dtype=torch.float64))
    m = point.evaluation.momenta[:, 2:].sum(1)
    m_ll = torch.sqrt(m[:, 0] ** 2 - (m[:, 1:] ** 2).sum(-1))
    near_pole = (m_ll - 91.19).abs() < 2
    assert bool((alpha[near_pole, 0] > 0.99).all())


def test_extended_density_integrates_to_one(process) -> None:
    mc = MultiChannelProcess(process)
    samplers = [FlowSampler(Flow(process.dim, n_bins=4, hidden=8, layers=1), None, 0.1) for _ in range(2)]
    weights = ChannelWeights(mc.n_features, 2)
    sampler = MultiChannelSampler(samplers, weights, torch.tensor([0.7, 0.3]))
    g = torch_generator(3)
    u = torch.rand(200_000, mc.dim, generator=g, dtype=torch.float64)
    q = torch.exp(sampler.log_prob(u))
    est, err = float(q.mean()), float(q.std()) / math.sqrt(len(q))
    assert err < 5e-3 and abs(est - 1) < 4 * err
    x, log_q = sampler.sample(500, g)
    assert torch.allclose(sampler.log_prob(x), log_q, atol=1e-6)


def test_multichannel_drell_yan_against_quadrature(process, tmp_path) -> None:
    torch.set_num_threads(1)
    settings = FlowSettings(
        vegas_adapt_iter=4,
        vegas_per_iter=20_000,
        flow=dict(n_bins=8, hidden=16, layers=2),
        train=TrainConfig(n_calls=40_000, batch=4_000),
        n_iter=4,
        n_per_iter=30_000,
    )
    result, sampler = multichannel_integrate(MultiChannelProcess(process), settings, seed=5)
    mc = sampler.integrand(MultiChannelProcess(process))
    exact = Q.drell_yan(process.pdf, 13000.0, 60.0, 120.0, n_m=300, n_y=300)
    assert abs(result.mean - exact) < 4 * result.sdev, (result.mean, result.sdev, exact)
    assert result.sdev / exact < 3e-3
    assert result.flags["coverage"]["confirmed"]
    alloc = result.flags["channels"]["allocation"]
    assert alloc[0] > alloc[1]  # the Z channel carries most of the variance in this window
    # each channel's defensive shares were re-chosen on its last training points, and kept
    shares = result.flags["defensive"]
    assert len(shares) == len(sampler.samplers) and all(shares)
    assert all(s["uniform"] >= 0.005 for s in shares)
    for s, channel in zip(shares, sampler.samplers, strict=True):
        assert not s or (channel.defensive, channel.uniform) == (s["defensive"], s["uniform"])
    summary = result.summary()
    assert "channels: allocation" in summary and "defensive shares, channel 1:" in summary
    assert "FLAG" not in summary  # information, not warnings
    # saved and reloaded, the sampler draws the same points and the integrand rebuilt around it agrees
    path = save_sampler(sampler, tmp_path / "mc.pt")
    kind, again = load_sampler(path)
    assert kind == "multichannel"
    u0, lq0 = sampler.sample(300, torch_generator(8))
    u1, lq1 = again.sample(300, torch_generator(8))
    assert torch.equal(u0, u1) and torch.equal(lq0, lq1)
    assert torch.allclose(MultiChannelProcess(process, again.weights)(u1), mc(u0))


def test_ee_qqg_has_two_collinear_channels_sharing_the_z() -> None:
    from mlgen.matrix.ee_qqg import EEQQG
    from mlgen.process.cuts import Cut

    groups = channel_groups(EEQQG().propagators)
    assert [[(p.daughters, p.pdg) for p in g] for g in groups] == [
        [((2, 3, 4), 23), ((2, 4), 1)],
        [((2, 3, 4), 23), ((3, 4), -1)],
    ]
    # the resolution cut: three partons at 120 degrees (Mercedes) have every y_ij = 1/3
    e = 91.188 / 3
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    p = torch.tensor(
        [[[0, 0, 0, 0], [0, 0, 0, 0], [e, e, 0, 0], [e, e * c, e * s, 0], [e, e * c, -e * s, 0]]],
        dtype=torch.float64,
    )
    y = Cut("y_pair", (2, 3, 4), 0.01, None).values(p)
    assert torch.allclose(y, torch.full((1, 3), 1 / 3, dtype=torch.float64))


def test_single_flow_drell_yan_against_quadrature(process) -> None:
    from mlgen.integrate.nis import flow_integrate

    torch.set_num_threads(1)
    settings = FlowSettings(
        vegas_adapt_iter=4,
        vegas_per_iter=20_000,
        flow=dict(n_bins=8, hidden=16, layers=2),
        train=TrainConfig(n_calls=30_000),
        n_iter=4,
        n_per_iter=30_000,
    )
    result, _ = flow_integrate(process, process.dim, settings, seed=7)
    exact = Q.drell_yan(process.pdf, 13000.0, 60.0, 120.0, n_m=300, n_y=300)
    assert abs(result.mean - exact) < 4 * result.sdev, (result.mean, result.sdev, exact)
    assert result.sdev / exact < 3e-3
    assert result.flags["coverage"]["confirmed"]


def test_unweighting_allocation_equalises_the_channels_largest_weights() -> None:
    """Three channels drawn with the variance optimum: one with rare large weights sets the hit-or-miss
    maximum for all. Re-allocated as p_c ~ M_c, every channel's reduced maximum is the same, and the
    efficiency sigma / w_max rises to sigma / sum M_c (here measured on fresh draws from the same
    per-channel weight laws)."""
    import math

    from mlgen.integrate.multichannel import unweighting_allocation
    from mlgen.integrate.result import PointSample
    from mlgen.metrics import reduced_max

    g = torch.Generator().manual_seed(7)

    def draw(c: int, n: int) -> torch.Tensor:  # weights per unit allocation, channel c
        if c == 0:
            return torch.full((n,), 2.0, dtype=torch.float64)
        if c == 1:
            return torch.rand(n, generator=g, dtype=torch.float64) * 1.0
        heavy = torch.rand(n, generator=g, dtype=torch.float64) < 0.01
        return torch.where(heavy, torch.full((n,), 40.0, dtype=torch.float64), torch.full((n,), 0.1, dtype=torch.float64))

    def sample(allocation: torch.Tensor, n: int) -> tuple[PointSample, torch.Tensor]:
        ch = torch.multinomial(allocation, n, replacement=True, generator=g)
        gw = torch.empty(n, dtype=torch.float64)
        for c in range(3):
            sel = ch == c
            gw[sel] = draw(c, int(sel.sum()))
        w = gw / allocation[ch]
        t = (ch + torch.rand(n, generator=g, dtype=torch.float64)) / 3
        u = torch.stack([t, torch.rand(n, generator=g, dtype=torch.float64)], 1)
        return PointSample(u, w, torch.zeros(n, dtype=torch.float64)), w

    old = torch.tensor([0.45, 0.35, 0.20], dtype=torch.float64)  # ~ rms: 2, 0.58, 4.0 (the heavy one)
    pilot, w_old = sample(old, 200_000)
    new = unweighting_allocation(pilot, old)
    _, w_new = sample(new, 200_000)
    eff_old = float(w_old.mean()) / reduced_max(w_old, 1e-3)
    eff_new = float(w_new.mean()) / reduced_max(w_new, 1e-3)
    # sigma per unit: 2 + 0.5 + (0.01 * 40 + 0.99 * 0.1) = 2.999; maxima 2, ~1, 40 -> eff ~ 3 / 43
    assert math.isclose(eff_new, 2.999 / 43.0, rel_tol=0.05), eff_new
    assert eff_new > 2.5 * eff_old, (eff_old, eff_new)
    # the channels' reduced maxima under the new allocation agree
    maxima = [reduced_max(draw(c, 100_000) / new[c], 1e-3) for c in range(3)]
    assert max(maxima) / min(maxima) < 1.05, maxima


def test_the_channel_sums_exploration_names_the_region_the_channels_missed() -> None:
    """Two channels that both map the camel's peak at 1/3 (4-d, alpha = 0.1): the channel flows
    miss the peak at 2/3 (0.70 of the integral). The per-channel VEGAS probes are too weak to say
    anything (9.6% error); the exploration on the channel sum (``explore_channels``) finds the
    missed region and the verdict is LOW, with its place on the extended cube."""
    from mlgen.integrate.base import Budget
    from mlgen.integrate.channels import PeakMap
    from mlgen.integrate.integrands import camel
    from mlgen.integrate.kinds import MultiChannelIntegrator
    from mlgen.integrate.nis import FlowSettings
    from mlgen.integrate.train import TrainConfig

    torch.set_num_threads(1)
    dim = 4
    f, exact = camel(dim, 0.1)
    maps = [PeakMap([1 / 3] * dim, 0.05), PeakMap([1 / 3] * dim, 0.1)]
    settings = FlowSettings(
        vegas_per_iter=5_000,
        flow=dict(n_bins=8, hidden=16, layers=2),
        train=TrainConfig(n_calls=20_000, batch=1_000),
        explore_channels=True,
    )
    result, _ = MultiChannelIntegrator(settings).fit(f, dim, Budget(3, 10_000, 2), 2, channels=maps)
    assert result.mean < exact - 4 * result.sdev  # wrong: the second peak is missing
    coverage = result.flags["coverage"]
    vegas, mixture = coverage["probes"]
    assert not vegas["informative"] and abs(vegas["pull"]) < 4  # alone: "unconfirmed"
    assert coverage["verdict"] == "low" and "sampler has missed that region" in coverage["message"]
    assert mixture["missed_by_sampler"]["share"] > 0.1
    assert "sigma is likely LOW" in result.flags["warning"]
    assert result.flags["exploration"]["n_calls"] > 0
