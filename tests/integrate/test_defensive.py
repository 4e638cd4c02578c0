"""Re-choosing the defensive shares after training (mlgen.integrate.defensive)."""

from __future__ import annotations

import pytest
import torch

from mlgen.flows.coupling import Flow
from mlgen.integrate.defensive import tune_shares
from mlgen.integrate.flow_sampler import FlowSampler
from mlgen.integrate.integrands import gauss
from mlgen.integrate.loop import integrate
from mlgen.integrate.train import TrainConfig, train_flow
from mlgen.seeds import torch_generator


def _pilot(sampler: FlowSampler, f, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    v, log_q = sampler.sample_latent(n, torch_generator(seed))
    return v, f(v), log_q


def test_shares_that_do_not_matter_stay_as_safe_as_allowed() -> None:
    """An untrained flow is uniform, like the uniform share: every choice is as good, the largest is kept."""
    f, _ = gauss(2, 0.3)
    sampler = FlowSampler(Flow(2), None, defensive=0.1, uniform=0.01)
    choice = tune_shares(sampler, *_pilot(sampler, f, 5_000, 1))
    assert (sampler.defensive, sampler.uniform) == (0.2, 0.0)  # without a grid both shares are uniform
    assert choice.uniform == 0.2 and choice.uniform_before == pytest.approx(0.11)
    assert choice.rel_std_after == pytest.approx(choice.rel_std_before, rel=1e-6)  # float32 flow


@pytest.fixture(scope="module")
def trained() -> tuple:
    """A flow trained on a narrow 2-d Gaussian with a 20% uniform share, and its pilot sample."""
    f, exact = gauss(2, 0.1)
    torch.manual_seed(1)
    sampler = FlowSampler(Flow(2, n_bins=8, hidden=32, layers=2), None, defensive=0.2)
    report = train_flow(sampler, f, TrainConfig(n_calls=100_000, batch=1_000), torch_generator(2))
    return f, exact, sampler, report.pilot


def test_tuned_shares_lower_the_measured_spread_of_a_trained_flow(trained) -> None:
    """The 20% uniform points carry almost nothing (a floor of sqrt(0.2 / 0.8) = 0.5 under the spread).

    Fewer of them lower the spread of the weights, as independent points measure it, and the
    estimate from the last training batches predicts what they measure.
    """
    f, exact, sampler, pilot = trained
    sampler.set_shares(0.2, 0.0)
    before = integrate(f, sampler, n_iter=2, n_per_iter=25_000, generator=torch_generator(3))
    choice = tune_shares(sampler, *pilot, min_uniform=0.005)
    after = integrate(f, sampler, n_iter=2, n_per_iter=25_000, generator=torch_generator(3))
    assert choice.n_points == 20 * 1_000 and 0.005 <= choice.uniform <= 0.05
    assert after.weight_stats["spread"] < 0.5 * before.weight_stats["spread"]
    # ... without losing unweighting efficiency (the flow was fitted alone, so it covers the tails)
    assert after.weight_stats["eff_q"] >= 0.95 * before.weight_stats["eff_q"]
    for estimate, measured in [
        ((choice.rel_std_before, choice.eff_before), before),
        ((choice.rel_std_after, choice.eff_after), after),
    ]:
        assert estimate[0] == pytest.approx(measured.weight_stats["spread"], rel=0.15)
        assert estimate[1] == pytest.approx(measured.weight_stats["eff_q"], rel=0.15)
    assert abs(after.mean - exact) < 4 * after.sdev and after.sdev / exact < 2e-3


def test_the_uniform_share_never_goes_below_its_floor(trained) -> None:
    f, _, sampler, pilot = trained
    sampler.set_shares(0.2, 0.0)
    free = tune_shares(sampler, *pilot, min_uniform=0.0).uniform
    assert free < 0.05  # fewer uniform points than the floor below would allow ...
    sampler.set_shares(0.2, 0.0)
    assert tune_shares(sampler, *pilot, min_uniform=0.05).uniform == 0.05  # ... but the floor holds
    _, log_q = sampler.sample(2_000, torch_generator(3))
    assert bool((log_q >= torch.log(torch.tensor(0.05, dtype=torch.float64)) - 1e-12).all())


def test_bad_pilot_and_floor_are_refused() -> None:
    sampler = FlowSampler(Flow(2), None, 0.1)
    v, log_q = sampler.sample_latent(100, torch_generator(1))
    with pytest.raises(ValueError, match="min_uniform: expected a share in"):
        tune_shares(sampler, v, torch.ones(100), log_q, min_uniform=1.5)
    with pytest.raises(ValueError, match="carry no integrand"):
        tune_shares(sampler, v, torch.zeros(100), log_q)
    with pytest.raises(ValueError, match="fit: expected 'flow' or 'mixture', got 'both'"):
        TrainConfig(fit="both")
