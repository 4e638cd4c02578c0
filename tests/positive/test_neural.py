"""Neural resampling and the make_positive reports, on the toy with a known answer."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from mlgen.positive import NeuralConfig, PositiveConfig, make_positive, neural_resample
from tests.positive.toys import B, bin_integrals, cos_theta, signed_sample
from tests.resample.test_cell import EDGES

FAST = NeuralConfig(hidden=32, layers=2, epochs=40, patience=10, batch=512, seed=3)


def exact_r(c: np.ndarray) -> np.ndarray:
    """E[w | c] / E[|w| | c] of the toy: both pieces have the same density in c."""
    even = 0.375 * (1 + c**2)
    return (even + B * c) / (even + B * np.abs(c))


@pytest.mark.parametrize("preserve", [True, False])
def test_learnt_sign_balance_and_positive_weights_keep_sigma_and_shape(preserve: bool) -> None:
    info, batch = signed_sample(20_000, seed=13)
    w = batch.weight.numpy()
    c = cos_theta(batch)
    config = dataclasses.replace(FAST, preserve_uncertainty=preserve)
    res = neural_resample(c[:, None], w, config)
    assert np.abs(res.r - exact_r(c)).mean() < 0.03
    assert (res.weights > 0).all()
    assert 0.3 < res.keep.mean() < 0.8 if preserve else res.keep.all()
    # sigma = (1/N) sum over kept of the new weights, against the exact 1 pb
    per_event = np.zeros(len(w))
    per_event[res.keep] = res.weights
    sigma, error = per_event.mean(), per_event.std() / math.sqrt(len(w))
    assert abs(sigma - 1.0) < 4 * error and error < 0.02
    hist = np.histogram(c[res.keep], EDGES, weights=res.weights)[0] / len(w)
    err = np.sqrt(np.histogram(c, EDGES, weights=w**2)[0]) / len(w)  # the input's error
    pulls = (hist - bin_integrals(EDGES)) / err
    assert np.abs(pulls).max() < 4 and (pulls**2).mean() < 1.5
    # the histogram error of the whole sample, sqrt(sum w^2) / N: kept (preserve) or smaller (smoothed)
    ratio = math.sqrt((res.weights**2).sum() / (w**2).sum())
    assert abs(ratio - 1) < 0.05 if preserve else ratio < 0.9


@pytest.mark.parametrize("method", ["cell", "neural"])
@pytest.mark.parametrize("unweight", [False, True])
def test_make_positive_reports(method: str, unweight: bool) -> None:
    info, batch = signed_sample(6_000, seed=17)
    config = PositiveConfig(method=method, unweight=unweight, neural=FAST, seed=2)
    out, run_info, report = make_positive(batch, info, config)
    report = report.to_json()
    before, after = report["before"], report["after"]
    assert before["r_minus"] > 0.2 and after["r_minus"] == 0.0
    assert (out.weight >= 0).all()
    if unweight:
        assert run_info.weight_strategy == 3
        assert torch.allclose(out.weight, out.weight[0].expand(len(out)))
        assert math.isclose(float(out.weight.sum()), after["sigma_pb"], rel_tol=1e-12)
    else:
        assert run_info.weight_strategy == 4
    if method == "cell":
        assert math.isclose(after["sigma_pb"], before["sigma_pb"], rel_tol=1e-12) or unweight
        assert after["error_pb"] == before["error_pb"]
        assert report["cells"]["n_capped"] == 0
    else:
        assert abs(after["sigma_pb"] - before["sigma_pb"]) < 3 * before["error_pb"]
        assert report["neural"]["kept_fraction"] < 1 and report["neural"]["nonpositive_r_fraction"] < 0.05
        assert abs(report["neural"]["sigma_network_pull"]) < 3  # before the scale to the input's sigma
    assert after["n_eff_per_event"] > before["n_eff_per_event"]
    for row in report["distortion"].values():
        assert row["chi2_ndf"] < 3


def test_flow_route_writes_positive_unweighted_events() -> None:
    info, batch = signed_sample(2_000, seed=19)
    config = PositiveConfig(method="flow", neural=FAST, epochs=3, n_out=500, seed=4)
    out, run_info, report = make_positive(batch, info, config)
    report = report.to_json()
    assert len(out) == 500 and run_info.weight_strategy == 3
    assert math.isclose(float(out.weight.sum()), report["weighted"]["sigma_pb"], rel_tol=1e-12)
    # generated events are valid: the two muons balance and the beams carry the energy
    final = out.momenta[:, 2:].sum(1)
    torch.testing.assert_close(final, out.momenta[:, :2].sum(1), rtol=1e-9, atol=1e-6)
    assert "flow" in report and "gan" in report and report["after"]["r_minus"] == 0


def test_platt_calibration_keeps_the_sum_rule_and_undoes_a_distortion() -> None:
    """Probabilities distorted by a known slope and offset in logit space are mapped back, and the
    calibrated r = 2 D - 1 satisfies sum |w| r = sum w to rounding (the intercept's score equation)."""
    from mlgen.positive.neural import platt_calibrate

    rng = np.random.default_rng(21)
    x = rng.uniform(-3, 3, 50_000)
    true_d = 1 / (1 + np.exp(-x))  # P(w > 0 | x), weighted by |w|
    positive = rng.random(len(x)) < true_d
    a = 1 + x**2  # |w|, independent of the sign given x
    w = np.where(positive, a, -a)
    distorted = 1 / (1 + np.exp(-(0.6 * x + 0.3)))  # an under-confident, biased classifier
    d, (slope, intercept) = platt_calibrate(distorted, positive, a)
    assert slope == pytest.approx(1 / 0.6, rel=0.05) and intercept == pytest.approx(-0.3 / 0.6, abs=0.05)
    assert np.abs(d - true_d).mean() < 0.01
    assert float((a * (2 * d - 1)).sum()) == pytest.approx(float(w.sum()), rel=1e-9)
    # uncalibrated, the same sum is off by far more than the sample's error
    error = w.std() * math.sqrt(len(w))
    assert abs(float((a * (2 * distorted - 1)).sum() - w.sum())) > 4 * error
