"""Unweighting: unweighted events follow the weighted distribution, the report counts
overweights, and the efficiency is what hit-or-miss gives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from mlgen.cards import load_card
from mlgen.events import EventBatch
from mlgen.generate import generate_unweighted
from mlgen.integrate.loop import vegas_integrate
from mlgen.physics import vectors as v
from mlgen.process.build import build_process
from mlgen.seeds import torch_generator

pytest.importorskip("pythia8mc")  # PDF grids


@pytest.fixture(scope="module")
def dy():
    card = load_card("cards/drell_yan.toml", ["scales.variations=false"])
    process = build_process(card)
    result, sampler = vegas_integrate(
        process, process.dim, n_adapt_iter=4, n_per_iter=20_000, n_iter=2, seed=4
    )
    return process, result, sampler


@pytest.mark.parametrize("mode", ["max", "reduced"])
def test_unweighted_events_follow_the_weighted_distribution(dy, mode: str) -> None:
    process, result, sampler = dy
    n = 20_000
    batches, report = [], None
    for batch, report in generate_unweighted(  # noqa: B007 (the last report is the run's)
        process,
        sampler,
        n,
        generator=torch_generator(9),
        mode=mode,
        overweight_fraction=0.01,
        batch_size=50_000,
    ):
        batches.append(batch)
    events = EventBatch.concat(batches)
    assert len(events) == n and report.n_unweighted == n
    # the weighted reference: fresh points from the same sampler
    u, log_q = sampler.sample(400_000, torch_generator(10))
    ev = process.evaluate(u, variations=False)
    w = (ev.weight / torch.exp(log_q)).numpy()
    m_ref = v.mass(ev.momenta[:, 2] + ev.momenta[:, 3]).numpy()
    lep = (events.status == 1) & (events.pdg.abs() == 11)
    p = torch.where(lep[..., None], events.momenta, torch.zeros_like(events.momenta)).sum(1)
    m = v.mass(p).numpy()
    units = events.weight.numpy()
    edges = np.linspace(60, 120, 31)
    ref, _ = np.histogram(m_ref, edges, weights=w)
    ref2, _ = np.histogram(m_ref, edges, weights=w * w)
    got, _ = np.histogram(m, edges, weights=units)
    got2, _ = np.histogram(m, edges, weights=units * units)
    ref_frac, got_frac = ref / ref.sum(), got / got.sum()
    var = ref2 / ref.sum() ** 2 + got2 / got.sum() ** 2
    chi2 = float(np.sum((ref_frac - got_frac) ** 2 / var))
    assert stats.chi2.sf(chi2, len(ref) - 1) > 1e-3, chi2
    # overweights are kept with weight > 1 and counted; with the true max there are few
    assert report.n_overweight == int((units > 1).sum())
    if mode == "max":
        assert report.overweight_fraction < 1e-3
    else:
        assert report.n_overweight > 0 and 0 < report.overweight_fraction < 0.02
    # hit-or-miss efficiency = mean weight / w_max, within binomial error
    expected = float(np.abs(w).mean()) / report.w_max_pb
    expected -= float(np.clip(np.abs(w) - report.w_max_pb, 0, None).mean()) / report.w_max_pb
    err = (expected * (1 - expected) / report.n_weighted) ** 0.5
    assert abs(report.efficiency - expected) < 4 * err + 2e-3


def test_the_pilot_points_are_the_first_events(dy) -> None:
    """The pilot sample that fixes the maximum is hit-or-missed itself: every integrand evaluation
    of the generation is a weighted point of the report, and a small run needs no further batch."""
    process, _, sampler = dy
    calls: list[int] = []

    class Counting:
        def __init__(self, inner):  # noqa: ANN001
            self.inner = inner

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(self.inner, name)

        def evaluate(self, u, **kwargs):  # noqa: ANN001, ANN003, ANN201
            calls.append(int(u.shape[0]))
            return self.inner.evaluate(u, **kwargs)

        def __call__(self, u):  # noqa: ANN001, ANN204
            calls.append(int(u.shape[0]))
            return self.inner(u)

    runs = list(
        generate_unweighted(Counting(process), sampler, 500, generator=torch_generator(3), mode="max", batch_size=20_000)
    )
    report = runs[-1][1]
    assert calls == [20_000] and len(runs) == 1
    assert report.n_weighted == 20_000 and report.n_unweighted == 500
    assert sum(len(batch) for batch, _ in runs) == 500
    # with the pilot's own maximum, no pilot event is an overweight
    assert report.n_overweight == 0 and float(runs[0][0].weight.max()) <= 1.0
