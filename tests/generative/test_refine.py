"""Refinement: a classifier's density ratio turns a wrong generator's events into its sample's shape."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlgen.generative.refine import RefineConfig, refine
from mlgen.metrics import reduced_max
from mlgen.resample.classifier import ClassifierConfig
from tests.positive.toys import bin_integrals, cos_theta, density, dimuon

# the data: e+ e- -> mu- mu+ with dsigma/dcos = (3/8)(1 + c^2) + 0.3 c (1 pb), weighted, c uniform
N = 20_000
FAST = ClassifierConfig(hidden=32, epochs=40, patience=5, seed=3)


def _data(seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1, 1, N)
    w = 2 * density(c)
    return dimuon(c, rng.uniform(-math.pi, math.pi, N), w), w


def _isotropic(seed: int):
    """The wrong generator: cos(theta) uniform, rho = p_data / p_gen = 2 density(c) from 0.63 to 2.1."""
    rng = np.random.default_rng(seed)

    def draw(n: int):
        return dimuon(rng.uniform(-1, 1, n), rng.uniform(-math.pi, math.pi, n), np.ones(n))

    return draw


def test_refined_events_follow_the_sample_that_the_generator_missed() -> None:
    data, w = _data(1)
    out, report = refine(_isotropic(2), data, w, N, RefineConfig(classifier=FAST), seed=4)
    report = report.to_json()
    assert len(out) == N
    edges = np.linspace(-1, 1, 11)
    exact = bin_integrals(edges)  # sums to 1: the shares of the output's events
    count = np.histogram(cos_theta(out), edges)[0]
    data_sum = np.histogram(cos_theta(data), edges, weights=w / w.sum())[0]
    data_var = np.histogram(cos_theta(data), edges, weights=(w / w.sum()) ** 2)[0]
    # the output's own counting error and, as it follows the data at the classifier's resolution, the data's
    error = np.sqrt(count / N**2 + data_var)
    pulls = (count / N - exact) / error
    assert np.abs(pulls).max() < 4 and (pulls**2).mean() < 2, pulls
    # the generator itself is far off (the test can fail), and the data are a fair sample
    raw = np.histogram(cos_theta(_isotropic(2)(N)), edges)[0]
    assert np.abs((raw / N - exact) / error).max() > 10
    assert np.abs((data_sum - exact) / np.sqrt(data_var)).max() < 4
    # the learnt ratio: mean 1 over the generator's events, spread that of 2 density(c) under c uniform
    c = np.linspace(-1, 1, 200_001)
    rho = 2 * density(c)
    assert report["rho_mean"] == pytest.approx(1.0, abs=0.03)
    assert report["rho_spread"] == pytest.approx(rho.std(), rel=0.1)
    # hit-or-miss against the reduced maximum of the ratio (2.1 at c = 1, less the overweights' share)
    rho_max = reduced_max(torch.as_tensor(rho), RefineConfig().overweight)
    assert report["efficiency"] == pytest.approx(np.minimum(rho, rho_max).mean() / rho_max, rel=0.1)
    assert report["overweight_share"] <= 1.5e-3 and report["data_overweight_share"] < 0.01
    # the generator's error, not the networks' noise: their disagreement is a tenth of the spread
    assert report["log_ratio_signal"] > 5 * report["log_ratio_noise"] and report["warning"] is None


def test_a_ratio_that_is_only_the_classifiers_noise_is_reported() -> None:
    """A generator of the sample's own distribution: rho = 1, and what the networks learn is noise."""
    data, w = _data(1)
    rng = np.random.default_rng(5)

    def exact(n: int):
        c = rng.uniform(-1, 1, 4 * n)
        c = c[rng.random(len(c)) < density(c) / density(1.0)][:n]  # hit-or-miss: dsigma/dcos itself
        return dimuon(c, rng.uniform(-math.pi, math.pi, len(c)), np.ones(len(c)))

    _, report = refine(exact, data, w, 5000, RefineConfig(classifier=FAST), seed=4)
    report = report.to_json()
    assert report["log_ratio_signal"] < 2 * report["log_ratio_noise"]
    assert "mostly the classifier's noise" in report["warning"]


def test_a_region_the_generator_misses_is_reported() -> None:
    """A generator with no events above cos(theta) = 0.5, where 33% of the sample's cross section lies."""
    data, w = _data(1)
    rng = np.random.default_rng(2)

    def draw(n: int):
        return dimuon(rng.uniform(-1, 0.5, n), rng.uniform(-math.pi, math.pi, n), np.ones(n))

    _, report = refine(draw, data, w, 5000, RefineConfig(classifier=FAST), seed=4)
    report = report.to_json()
    missed = float(w[cos_theta(data) > 0.5].sum() / w.sum())
    assert report["data_overweight_share"] == pytest.approx(missed, rel=0.2)
    assert report["overweight_share"] <= 1.5e-3
    assert "misses part of its sample" in report["warning"]
    _, fair = refine(_isotropic(2), data, w, 5000, RefineConfig(classifier=FAST), seed=4)
    assert fair.warning is None


def test_a_bad_weight_is_refused_naming_what_was_expected() -> None:
    data, w = _data(1)
    with pytest.raises(ValueError, match="non-negative weight"):
        refine(_isotropic(2), data, -w, 10)
    with pytest.raises(ValueError, match="overweight"):
        RefineConfig(overweight=1.0)
