"""VEGAS grid in torch, the integration driver and the figures of merit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlgen.integrate.loop import integrate, vegas_integrate
from mlgen.integrate.uniform import UniformSampler
from mlgen.integrate.vegas_grid import VegasSampler
from mlgen.metrics import effective_sample_size, error_uncertainty, reduced_max, unweighting_efficiency
from mlgen.seeds import torch_generator


def gauss(u: torch.Tensor, a: float = 0.1) -> torch.Tensor:
    d = u.shape[1]
    return torch.exp(-((u - 0.5) ** 2).sum(1) / a**2) / (a * math.sqrt(math.pi)) ** d


def exact_gauss(d: int, a: float = 0.1) -> float:
    return math.erf(0.5 / a) ** d


def bw_product(u: torch.Tensor) -> torch.Tensor:
    """Product of two Breit-Wigner peaks at 0.3 and 0.7 with width 0.02."""
    g = 0.02
    return (g / ((u[:, 0] - 0.3) ** 2 + g**2)) * (g / ((u[:, 1] - 0.7) ** 2 + g**2))


def exact_bw() -> float:
    g = 0.02
    one = lambda c: math.atan((1 - c) / g) + math.atan(c / g)  # noqa: E731
    return one(0.3) * one(0.7)


@pytest.mark.parametrize(
    "f, d, exact, bound", [(gauss, 4, exact_gauss(4), 5e-3), (bw_product, 2, exact_bw(), 5e-3)]
)
def test_vegas_integrates_within_4_sigma(f, d, exact, bound) -> None:
    result, sampler = vegas_integrate(f, d, n_adapt_iter=6, n_per_iter=20_000, n_iter=5, seed=3)
    assert abs(result.mean - exact) < 4 * result.sdev
    assert result.sdev / exact < bound
    assert result.Q > 0.01
    assert result.n_eval > 5 * 20_000
    # the adapted grid beats uniform sampling by far on these peaked integrands
    uniform = integrate(f, UniformSampler(d), n_iter=5, n_per_iter=20_000, generator=torch_generator(3))
    assert result.weight_stats["spread"] < 0.3 * uniform.weight_stats["spread"]
    text = result.summary()
    assert f"{result.mean:.8g}" in text and "eps(max)" in text


def test_grid_density_normalised_and_invertible() -> None:
    _, sampler = vegas_integrate(gauss, 3, n_adapt_iter=4, n_per_iter=10_000, n_iter=1, seed=1)
    g = torch_generator(2)
    # int q du = 1, by uniform MC of exp(log q)
    u = torch.rand(400_000, 3, generator=g, dtype=torch.float64)
    q = torch.exp(sampler.log_prob(u))
    assert abs(float(q.mean()) - 1) < 4 * float(q.std()) / 400_000**0.5
    assert float(q.std()) / 400_000**0.5 < 1e-2
    # sample and log_prob agree; the inverse round-trips
    x, log_q = sampler.sample(10_000, g)
    torch.testing.assert_close(sampler.log_prob(x), log_q, rtol=0, atol=1e-12)
    z, _ = sampler.inverse(x)
    back, _ = sampler.forward(z)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-12)


def test_torch_grid_reproduces_vegas_map() -> None:
    import vegas

    amap = vegas.AdaptiveMap(2 * [[0.0, 1.0]], ninc=50)
    rng = np.random.default_rng(0)
    x = rng.random((20000, 2)) ** 3
    amap.adapt_to_samples(x, np.exp(-((x - 0.2) ** 2).sum(1) / 0.01), nitn=5)
    sampler = VegasSampler.from_adaptive_map(amap)
    y = rng.random((1000, 2))
    expected_x = np.empty_like(y)
    expected_jac = np.empty(len(y))
    amap.map(y, expected_x, expected_jac)
    u, log_jac = sampler.forward(torch.from_numpy(y))
    np.testing.assert_allclose(u.numpy(), expected_x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(log_jac.numpy(), np.log(expected_jac), rtol=1e-12, atol=1e-12)


def test_state_dict_round_trip_gives_identical_samples() -> None:
    _, sampler = vegas_integrate(gauss, 2, n_adapt_iter=3, n_per_iter=5000, n_iter=1, seed=5)
    clone = VegasSampler.from_state(sampler.state())
    a = sampler.sample(100, torch_generator(9))
    b = clone.sample(100, torch_generator(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_reduced_max_against_brute_force() -> None:
    g = torch.Generator().manual_seed(4)
    w = torch.rand(5000, generator=g, dtype=torch.float64) ** -0.7
    w[::7] *= -1  # signed weights use |w|
    for q in (1e-3, 1e-2, 0.2):
        w_max = reduced_max(w, q)
        share = float((w.abs() - w_max).clamp(min=0).sum() / w.abs().sum())
        assert share == pytest.approx(q, rel=1e-9)
        # brute force: the largest candidate weight whose excess exceeds q is below w_max
        a = torch.sort(w.abs()).values
        excess = torch.stack([(a - t).clamp(min=0).sum() for t in a]) / a.sum()
        assert float(a[excess > q].max()) <= w_max < float(a[excess <= q].min()) + 1e-12
    assert reduced_max(w, 0.0) == float(w.abs().max())
    assert unweighting_efficiency(w) == pytest.approx(float(w.abs().mean() / w.abs().max()))
    assert effective_sample_size(torch.ones(10, dtype=torch.float64)) == pytest.approx(10)
    # a point standing for r points (density ratio r) counts as r copies of itself
    r = torch.randint(1, 4, (len(w),), generator=g)
    for q in (1e-3, 1e-2):
        copies = reduced_max(torch.repeat_interleave(w, r), q)
        assert reduced_max(w, q, density_ratio=r.double()) == pytest.approx(copies, rel=1e-9)


def test_error_uncertainty_of_exponential_weights_and_of_a_few_large_ones() -> None:
    """Exp(1) weights: central moments m2 = 1, m4 = 9, so sqrt((m4 - m2^2) / N) / m2 = sqrt(8 / N)."""
    g = torch.Generator().manual_seed(5)
    w = -torch.log(torch.rand(100_000, generator=g, dtype=torch.float64))
    assert error_uncertainty(w) == pytest.approx((8 / 100_000) ** 0.5, rel=0.1)
    # three points carrying the variance: the error bar is known to no better than ~60%
    w = torch.ones(100_000, dtype=torch.float64)
    w[:3] = 1e4
    assert error_uncertainty(w) == pytest.approx(0.58, abs=0.02)
    assert error_uncertainty(torch.ones(10, dtype=torch.float64)) == 0.0
