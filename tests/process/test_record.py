"""Event records: colour flow valid, resonances consistent, flavours drawn by contribution."""

from __future__ import annotations

from collections import Counter

import torch

from mlgen.matrix.drell_yan import DrellYan
from mlgen.matrix.ttbar import TTbar
from mlgen.matrix.ttbar_decay import TTbarAllHadronic
from mlgen.phasespace import PhaseSpace, from_propagators
from mlgen.physics import vectors as v
from mlgen.process.record import EventBuilder
from mlgen.seeds import torch_generator


def fields(n: int) -> dict[str, torch.Tensor]:
    one = torch.ones(n, dtype=torch.float64)
    return {"scale": 91.0 * one, "alpha_s": 0.118 * one, "alpha_qed": one / 132.0}


def build(me, n=4000, seed=2, m_min=None):
    ps = PhaseSpace(13000.0, me.masses[2:], from_propagators(len(me.masses) - 2, me.propagators), m_min=m_min)
    u = torch.rand(n, ps.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    point, _ = ps.forward(u)
    me2 = me(point.momenta, torch.full((n,), 0.118, dtype=torch.float64))
    builder = EventBuilder(me)
    batch = builder.build(
        point.momenta, me2, torch.ones(n, dtype=torch.float64), torch_generator(5), **fields(n)
    )
    return batch, me2


def assert_colour_conserved(batch) -> None:
    for i in range(len(batch)):
        out = Counter()
        into = Counter()
        for pdg, st, (c, a) in zip(batch.pdg[i].tolist(), batch.status[i].tolist(), batch.colors[i].tolist()):
            if st == 2:
                continue
            if st == -1:
                c, a = a, c
            if c:
                out[c] += 1
            if a:
                into[a] += 1
            if abs(pdg) in (1, 2, 3, 4, 5, 6):
                assert (c == 0) != (a == 0), "quarks carry exactly one colour tag"
            if pdg == 21:
                assert c and a
        assert out == into
        assert all(t >= 501 for t in out)


def test_ttbar_six_partons_record() -> None:
    me = TTbarAllHadronic()
    batch, _ = build(me, n=300, m_min=300.0)
    n = batch.pdg.shape[1]
    assert n == 2 + 4 + 6
    assert_colour_conserved(batch)
    status = batch.status[0].tolist()
    assert status[:2] == [-1, -1] and status[2:6] == [2, 2, 2, 2] and status[6:] == [1] * 6
    # resonance momenta are sums of their daughters (1-based mothers)
    for i in range(2, n):
        kids = [j for j in range(n) if int(batch.mothers[0, j, 0]) == i + 1]
        if batch.status[0, i] == 2:
            assert kids
            torch.testing.assert_close(batch.momenta[:, kids].sum(1), batch.momenta[:, i])
    # top colour is carried by its b: t (slot 2) and b (slot 6) share the tag
    assert torch.equal(batch.colors[:, 2], batch.colors[:, 6])
    pdgs = batch.pdg[0, 2:6].abs().tolist()
    assert pdgs == [6, 6, 24, 24]
    torch.testing.assert_close(v.mass(batch.momenta[:, 2:4]), batch.masses[:, 2:4])


def test_colour_flows_follow_leading_colour_weights() -> None:
    me = TTbar()
    batch, _ = build(me, n=20000)
    gg = (batch.pdg[:, 0] == 21) & (batch.pdg[:, 1] == 21)
    assert gg.float().mean() > 0.1
    assert_colour_conserved(batch[torch.nonzero(gg).squeeze(1)[:300]])
    # flow 1: the gluon from beam A shares its colour with the top
    cw = me.colour_weights(batch.momenta[:, [0, 1, 2, 3]])
    k = torch.tensor([i for i, s in enumerate(me.subprocesses) if s.pdg[:2] == (21, 21)][0])
    w = cw[:, k]
    p_first = (w[:, 0] / w.sum(1))[gg]
    picked_first = (batch.colors[gg, 2, 0] == batch.colors[gg, 0, 0]).double()
    # Where flow 1 dominates, it is picked as often as its probability says (a swapped
    # or uniform choice would give ~0.1 or 0.5 here, not ~0.9).
    dominant = p_first > 0.8
    p_first, picked_first = p_first[dominant], picked_first[dominant]
    mean, n = float(p_first.mean()), int(dominant.sum())
    assert mean > 0.85 and n > 1000
    sigma = (mean * (1 - mean) / n) ** 0.5
    assert abs(float(picked_first.mean()) - mean) < 4 * sigma + 1e-3


def test_flavours_drawn_in_proportion_to_contributions() -> None:
    me = DrellYan()
    n = 40000
    contributions = torch.zeros(n, len(me.subprocesses), dtype=torch.float64)
    contributions[:, 2] = 3.0  # u u~
    contributions[:, 0] = 1.0  # d d~
    ps = PhaseSpace(13000.0, [0.0, 0.0], from_propagators(2, me.propagators), m_min=60.0, m_max=120.0)
    point, _ = ps.forward(
        torch.rand(n, ps.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    )
    batch = EventBuilder(me).build(
        point.momenta, contributions, torch.ones(n, dtype=torch.float64), torch_generator(3), **fields(n)
    )
    frac_u = float((batch.pdg[:, 0] == 2).double().mean())
    assert abs(frac_u - 0.75) < 4 * (0.75 * 0.25 / n) ** 0.5
    assert set(batch.pdg[:, 0].tolist()) == {1, 2}
    assert_colour_conserved(batch[:200])
