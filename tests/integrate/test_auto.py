"""``integrator.kind = "auto"``: VEGAS (the same numbers as kind ``vegas``) where it can be trusted and
a flow cannot pay, a flow where VEGAS missed part of the integrand or the integrand is expensive, and
the printout says which and why."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch

from mlgen.cli import main
from mlgen.integrate.auto import Costs, choose
from mlgen.integrate.base import Budget
from mlgen.integrate.coverage import coverage_check
from mlgen.integrate.integrands import gauss
from mlgen.integrate.kinds import AutoIntegrator, VegasIntegrator, kind_of
from mlgen.integrate.nis import FlowSettings
from mlgen.integrate.persist import load_sampler
from mlgen.integrate.result import IntegrationResult, Iteration
from mlgen.integrate.train import TrainConfig
from tests.integrate.test_kinds import EE_MUMU
from tests.process.test_ee_mumu import closed_form

SMALL = FlowSettings(
    vegas_per_iter=500,
    probe_iter=1,
    flow=dict(n_bins=6, hidden=8, layers=1),
    train=TrainConfig(n_calls=1_024, batch=512),
    explore=False,
)


def _result(mean: float, sdev: float, spread: float = 0.5) -> IntegrationResult:
    result = IntegrationResult([Iteration(mean, sdev, 1000)] * 2, 2000)
    result.weight_stats = {"spread": spread}
    return result


def _costs(vegas_seconds: float, call_seconds: float = 1e-6, train_seconds: float = 5e-5) -> Costs:
    return Costs(vegas_seconds, call_seconds, train_seconds, 300_000, 200_000)


def test_the_choice_follows_trust_first_then_time() -> None:
    costs = _costs(0.5)  # a flow's calls: 1e5 x 1 us + 2e5 x 50 us = 10.1 s
    assert math.isclose(costs.flow_fixed_seconds, 10.1)
    trusted = _result(1.0, 0.01)
    choice = choose(trusted, None, costs)
    assert choice.kind == "vegas" and "at least 10.1 s" in choice.reason and choice.vegas_trusted
    # the same VEGAS run, when VEGAS took longer than the flow's calls can: the flow may pay
    assert choose(trusted, None, _costs(20.0), "multichannel").kind == "multichannel"
    # heavy-tailed weights: a flow whatever it costs
    tailed = _result(1.0, 0.01, spread=40.0)
    tailed.flags["heavy_tail"] = "HEAVY-TAILED WEIGHTS"
    choice = choose(tailed, None, costs)
    assert choice.kind == "flow" and not choice.vegas_trusted and "heavy-tailed" in choice.reason
    # a probe that VEGAS is below by far: VEGAS missed part of the integrand
    check = coverage_check(trusted, _result(2.0, 0.01))
    assert check.verdict == "low"
    choice = choose(trusted, check, costs)
    assert choice.kind == "flow" and "VEGAS has missed part" in choice.reason
    # a probe that agrees changes nothing
    assert choose(trusted, coverage_check(trusted, _result(1.01, 0.01)), costs).kind == "vegas"
    # nothing found at all
    assert choose(_result(0.0, 0.0), None, costs).kind == "flow"


def test_auto_keeps_vegas_on_a_cheap_integrand_it_integrates_well_with_the_same_numbers() -> None:
    torch.set_num_threads(1)
    f, exact = gauss(2, 0.2)
    budget = Budget(3, 5_000, 3)
    vegas, _ = VegasIntegrator().fit(f, 2, budget, 3)
    auto, sampler = AutoIntegrator(FlowSettings(vegas_per_iter=2_000)).fit(f, 2, budget, 3)
    assert kind_of(sampler) == "vegas"
    assert auto.mean == vegas.mean and auto.sdev == vegas.sdev
    assert abs(auto.mean - exact) < 4 * auto.sdev
    choice = auto.flags["auto"]
    assert choice["kind"] == "vegas" and "would take at least" in choice["reason"]
    # the exploration checked VEGAS: found the peak, agreed; its calls and the timing's are counted
    assert auto.flags["coverage"]["verdict"] == "confirmed"
    assert auto.n_eval > vegas.n_eval + 2 * 2_000
    assert "integrator auto: chose vegas" in auto.summary()


def test_auto_trains_a_flow_where_vegas_missed_part_of_the_integrand() -> None:
    """The i-flow Gaussian in 16-d (alpha = 0.2) at a small VEGAS budget: VEGAS is 19% low with
    heavy-tailed weights, so it cannot be trusted whatever it costs; the flow (seeded by the
    exploration) is right."""
    torch.set_num_threads(1)
    gaussian, exact = gauss(16, 0.2)
    calls = []

    def f(u: torch.Tensor) -> torch.Tensor:
        calls.append(len(u))
        return gaussian(u)

    settings = FlowSettings(
        vegas_per_iter=2_000,
        probe_iter=2,
        flow=dict(n_bins=6, hidden=16, layers=2),
        train=TrainConfig(n_calls=6_000, batch=1_000),
        explore_starts=16,
        explore_steps=100,
    )
    budget = Budget(5, 10_000, 2)
    vegas, _ = VegasIntegrator().fit(f, 16, budget, 2)
    assert vegas.mean < 0.85 * exact and "heavy_tail" in vegas.flags  # what kind "vegas" says
    calls.clear()
    result, sampler = AutoIntegrator(settings).fit(f, 16, budget, 2)
    # every call counted once (the exploration's too, which the flow reuses), but the vegas
    # package's one-point calls (one per VEGAS run: auto's and the flow's probe)
    assert result.n_eval == sum(calls) - 2 and calls.count(1) == 2
    assert kind_of(sampler) == "flow"
    choice = result.flags["auto"]
    assert choice["kind"] == "flow" and not choice["vegas_trusted"]
    assert "VEGAS's weights are heavy-tailed" in choice["reason"]
    assert abs(result.mean - exact) < 4 * result.sdev, result.summary()


def test_auto_trains_the_flow_straight_away_on_an_expensive_integrand() -> None:
    """An integrand that costs 200 us a call: VEGAS's 8000 calls would take 1.6 s, the flow's 2524
    calls before its final iterations less; no VEGAS run is spent on it."""
    torch.set_num_threads(1)
    cheap, exact = gauss(2, 0.3)
    calls = []

    def f(u: torch.Tensor) -> torch.Tensor:
        calls.append(len(u))
        time.sleep(200e-6 * len(u))
        return cheap(u)

    result, sampler = AutoIntegrator(SMALL).fit(f, 2, Budget(2, 2_000, 2), 5)
    assert kind_of(sampler) == "flow"
    assert result.flags["auto"]["reason"].startswith("the integrand costs")
    # every call counted but the one-point call the vegas package makes to learn the output's shape
    assert result.n_eval == sum(calls) - 1 and calls.count(1) == 1
    assert abs(result.mean - exact) < 4 * result.sdev


def test_a_card_with_kind_auto_runs_says_its_choice_and_saves_the_kind_chosen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = tmp_path / "auto.toml"
    card.write_text(
        EE_MUMU + '[integrator]\nkind = "auto"\nn_adapt_iter = 3\nn_per_iter = 10000\nn_iter = 3\n'
        "[integrator.flow]\nvegas_per_iter = 2000\n"
    )
    out = tmp_path / "run"
    argv = ["run", str(card), "-o", str(out), "--events", "100", "--set", "run.plots=false"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "integrator auto: chose vegas: VEGAS reached" in printed
    result = json.loads((out / "result.json").read_text())
    exact, _ = closed_form(91.1876)
    assert abs(result["sigma_pb"] - exact) < 4 * result["sigma_err_pb"]
    kind, sampler = load_sampler(out / "sampler.pt")
    assert kind == "vegas" and sampler.dim == 2
    # the saved sampler loads back into the same card: its record names the kind it is, not "auto"
    again = tmp_path / "again.toml"
    load = f'kind = "auto"\nload = "{out / "sampler.pt"}"'
    again.write_text(card.read_text().replace('kind = "auto"', load))
    argv = ["run", str(again), "-o", str(tmp_path / "run2"), "--events", "100", "--set", "run.plots=false"]
    assert main(argv) == 0
    assert "sampler loaded from" in capsys.readouterr().out
