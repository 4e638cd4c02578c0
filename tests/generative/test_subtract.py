"""Subtraction: B = 1/x + 0.1 minus S = 1/x is flat, with errors below the binned sqrt(N_B + N_S)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.cli import main
from mlgen.generative.config import AmplifyConfig, GANConfig
from mlgen.generative.refine import RefineConfig
from mlgen.generative.subtract import subtract
from mlgen.generative.subtract_generators import match_layout as _match
from mlgen.lhe import read_lhe, write_lhe
from mlgen.resample.classifier import ClassifierConfig
from tests.positive.toys import STEP_FROM, X_MIN, cos_theta, signed_sample, subtraction_toys

# a ratio S/B between 0.91 and 0.999 needs a patient classifier (late stopping); the largest-x bin
# moves by up to one binned error between reasonable settings, the small-x bins stay far below it
FAST = ClassifierConfig(hidden=64, layers=3, epochs=100, batch=1024, lr=1e-3, patience=20, seed=2)


@pytest.mark.parametrize("method", ["classifier", pytest.param("flow", marks=pytest.mark.slow)])
def test_flat_difference_beats_the_binned_subtraction(method: str) -> None:
    base, sub = subtraction_toys(40_000, 40_000, seed=3)
    # the generator writes more events than B has: twice as many
    n_out = 80_000 if method == "flow" else None
    out, run_info, report = subtract(base, sub, method=method, n_out=n_out, config=FAST)
    report = report.to_json()
    sigma = 0.1 * (1 - X_MIN)
    assert report["sigma_pb"] == pytest.approx(sigma, rel=1e-9)
    assert run_info.xsec_pb == pytest.approx(sigma) and run_info.weight_strategy == 3
    assert math.isclose(float(out.weight.sum()), sigma, rel_tol=1e-12)
    edges = np.geomspace(X_MIN, 1, 9)
    exact = 0.1 * np.diff(edges)
    x_out = (cos_theta(out) + 1) / 2
    ours = np.histogram(x_out, edges)[0] / len(out) * sigma
    (_, b), (_, s) = base, sub
    n_b = np.histogram((cos_theta(b) + 1) / 2, edges)[0]
    n_s = np.histogram((cos_theta(s) + 1) / 2, edges)[0]
    sb, ss = report["sigma_base_pb"], report["sigma_subtracted_pb"]
    delta = np.sqrt(n_b * (sb / len(b)) ** 2 + n_s * (ss / len(s)) ** 2)  # binned: sqrt(N_B + N_S)
    pulls = (ours - exact) / delta
    # a binned subtraction scatters by its own error in every bin: chi2 about 8 over the 8 bins. The
    # classifier's difference is smoother (classifier seeds 1-5: chi2 0.47-2.62; the largest-x bin,
    # where the classifier's ratio bends towards the boundary, at -0.50 to -1.31 binned errors)
    assert (pulls**2).sum() < 4 and np.abs(pulls).max() < 1.5
    # where S is nearly B (small x: r > 0.9) the deviation is far below the binned error
    assert np.abs(pulls[:3]).max() < 0.5
    assert len(out) > 1000 and report["n_base"] == len(b)
    # B - S >= 0 everywhere: the cells' leftover is the null's, no warning of a negative region
    assert not [w for w in report["warnings"] if "negative beyond" in w], report["warnings"]
    if method == "flow":
        (layout,) = report["layouts"]
        assert len(out) == n_out and layout["rejected"] == 0
        # the label output P(S|x) averages to sigma_S / sigma_B over B: the class fractions hold
        assert layout["label_s_mean_over_base"] == pytest.approx(layout["alpha"], abs=2e-3)


def test_refinement_corrects_an_undertrained_generator_to_the_classifiers_difference() -> None:
    """Flows trained for 3 epochs miss the flat 0.1 by up to 1.7 binned errors; refined towards the
    classifier's B - S (:mod:`mlgen.generative.refine`) every bin is within one error, and the
    deviations' chi2 over the bins is cut by more than half."""
    base, sub = subtraction_toys(20_000, 20_000, seed=3)
    (_, b), (_, s) = base, sub
    edges = np.geomspace(X_MIN, 1, 9)
    exact = 0.1 * np.diff(edges)

    def pulls(out, report) -> np.ndarray:
        n_b = np.histogram((cos_theta(b) + 1) / 2, edges)[0]
        n_s = np.histogram((cos_theta(s) + 1) / 2, edges)[0]
        sb, ss = report["sigma_base_pb"], report["sigma_subtracted_pb"]
        delta = np.sqrt(n_b * (sb / len(b)) ** 2 + n_s * (ss / len(s)) ** 2)
        return (
            np.histogram((cos_theta(out) + 1) / 2, edges)[0] / len(out) * report["sigma_pb"] - exact
        ) / delta

    short = {"method": "flow", "n_out": 20_000, "config": FAST, "warm_epochs": 2}
    raw, _, report = subtract(base, sub, generator=AmplifyConfig(epochs=3), **short)
    before = pulls(raw, report.to_json())
    assert np.abs(before).max() > 1.2
    refine = RefineConfig(classifier=ClassifierConfig(hidden=32, epochs=40, patience=5, seed=3))
    out, _, report = subtract(base, sub, generator=AmplifyConfig(epochs=3), refine=refine, **short)
    report = report.to_json()
    after = pulls(out, report)
    # measured (the default stream and seed=5): max |pull| 1.70-1.71 -> 0.37-0.64 and chi2 over the 8
    # bins 4.45-4.59 -> 0.24-0.72; the refined sample is as good as the classifier's difference it is
    # refined towards (test above), not better
    assert len(out) == 20_000 and np.abs(after).max() < 1 and (after**2).sum() < 0.5 * (before**2).sum()
    # the generator was far off: ratios up to several, and a fifth of its events kept
    assert report["refine"]["rho_spread"] > 0.5 and report["refine"]["efficiency"] < 0.3
    with pytest.raises(ValueError, match="refine: refines generated events, for methods 'flow' and 'gan' only"):
        subtract(base, sub, refine=refine)


def test_a_real_negative_region_is_reported_against_the_calibrated_null() -> None:
    """B = 1/x + 0.5 and S = 1/x + 1 above x = 0.6: B - S = -0.5 there, -0.2 pb that no cell may cancel.

    The warning compares the cells' leftover negative sum with that of the null hypothesis
    B - S >= 0 at the same noise; the flat toy (above) stays below it, this one far beyond.
    """
    base, sub = subtraction_toys(40_000, 40_000, seed=3, flat=0.5, step=1.0)
    _, _, report = subtract(base, sub, config=FAST)
    report = report.to_json()
    real = -0.5 * (1 - STEP_FROM)
    null = np.array(report["negative_after_cells_null_pb"])
    assert len(null) == 4 and bool((null <= 0).all())
    (warning,) = [w for w in report["warnings"] if "negative beyond" in w]
    assert "not written" in warning
    # the excess over the null is the real negative region, within the statistical noise of B - S
    assert abs(report["negative_region_pb"] - real) < 2 * report["counting_error_pb"]


def test_kept_negative_weights_carry_the_negative_region() -> None:
    """With ``negative="keep"`` the events where B - S stays negative are written with negative weights:
    the output follows B - S = -0.5 above x = 0.6 and +0.5 below, and sums to sigma_B - sigma_S."""
    base, sub = subtraction_toys(40_000, 40_000, seed=3, flat=0.5, step=1.0)
    out, run_info, report = subtract(base, sub, config=FAST, negative="keep")
    report = report.to_json()
    dropped, _, _ = subtract(base, sub, config=FAST)
    sigma = 0.5 * (1 - X_MIN) - 1.0 * (1 - STEP_FROM)
    assert report["sigma_pb"] == pytest.approx(sigma, rel=1e-9)
    assert math.isclose(float(out.weight.sum()), sigma, rel_tol=1e-12)
    assert run_info.weight_strategy == -4 and bool((dropped.weight > 0).all())
    assert (
        0.05 < report["negative_written_fraction"] == pytest.approx(float((out.weight < 0).double().mean()))
    )
    (warning,) = [w for w in report["warnings"] if "negative beyond" in w]
    assert "written as negative-weight events" in warning
    x_out = (cos_theta(out) + 1) / 2
    negative_events = out.weight.numpy() < 0
    # where B - S < 0, give or take a cell: classifier seeds 1-5 put 0.89-0.99 of the negative events
    # there (the rest are the cells' leftovers where B - S > 0); spread like B's events it would be 0.16
    assert (x_out[negative_events] > STEP_FROM - 0.05).mean() > 0.85
    # below and above the step: the written sums against the exact ones, in binned errors
    # sqrt(N_B + N_S) of each region. The output is normalised to sigma_B - sigma_S, whose own noise
    # here (0.036 pb, 38% of it) is not the region's: the comparison undoes the normalisation, back to
    # the classifier's B - S. The classifier's ratio smooths the step and the cells leave part of the
    # negative region on events below it, so the region above is biased towards zero: classifier seeds
    # 1-5 measured -2.6 to -0.1 errors below the step and +2.1 to +5.6 above (a known limit of this
    # route at a sharp step, not counting noise; the bound is the measured spread's)
    scale = report["sigma_from_weights_pb"] / sigma
    (_, b), (_, s) = base, sub
    for inside, exact in (
        (lambda x: x < STEP_FROM, 0.5 * (STEP_FROM - X_MIN)),
        (lambda x: x >= STEP_FROM, -0.5 * (1 - STEP_FROM)),
    ):
        ours = float(out.weight[torch.as_tensor(inside(x_out))].sum()) * scale
        n_b, n_s = int(inside((cos_theta(b) + 1) / 2).sum()), int(inside((cos_theta(s) + 1) / 2).sum())
        delta = math.hypot(
            math.sqrt(n_b) * report["sigma_base_pb"] / len(b),
            math.sqrt(n_s) * report["sigma_subtracted_pb"] / len(s),
        )
        assert abs(ours - exact) < 6 * delta, (ours, exact, delta)
    with pytest.raises(ValueError, match="negative='keep': for method 'classifier' only"):
        subtract(base, sub, method="flow", negative="keep")


def test_cli_writes_the_difference_and_refuses_negative_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, sub = subtraction_toys(6_000, 6_000, seed=5)
    b_path = write_lhe(tmp_path / "b.lhe", *base)
    s_path = write_lhe(tmp_path / "s.lhe.gz", *sub)
    out = tmp_path / "diff.lhe.gz"
    quick = ["--epochs", "15", "--flow-epochs", "5", "--warm-epochs", "5"]
    for method, n in (("classifier", 100), ("flow", 10_000)):  # the flow: more events than B
        assert (
            main(
                ["subtract", str(b_path), str(s_path), "-o", str(out), "--method", method, "-n", str(n)]
                + quick
            )
            == 0
        )
        info, events = read_lhe(out)
        assert len(events) == n and info.xsec_pb == pytest.approx(0.1 * (1 - X_MIN), rel=1e-9)
        report = json.loads((tmp_path / "diff.subtract.json").read_text())
        assert report["n_out"] == n and report["method"] == method
    momenta = events.momenta[:, 2:].sum(1)
    assert torch.allclose(momenta, events.momenta[:, :2].sum(1), atol=1e-9)  # conserved
    argv = ["subtract", str(b_path), str(s_path), "-o", str(out), "--method", "classifier", "-n", "100000"]
    assert main(argv) == 2
    assert "can write at most" in capsys.readouterr().err
    signed = write_lhe(tmp_path / "signed.lhe", *signed_sample(200, seed=1))
    assert main(["subtract", str(signed), str(s_path), "-o", str(tmp_path / "x.lhe")]) == 2
    assert "negative weights; make the sample positive first (mlgen positive)" in capsys.readouterr().err
    assert main(["subtract", str(b_path), str(s_path), "-o", str(tmp_path / "y.lhe"), "--folds", "1"]) == 2
    assert "--folds 1 --members 1: ClassifierConfig needs folds >= 2" in capsys.readouterr().err
    assert not (tmp_path / "y.lhe").exists()


def test_layouts_match_up_to_the_intermediate_line() -> None:
    z = ((-1, "j"), (-1, "j"), (2, 23), (1, 11), (1, -11))
    photon = ((-1, "j"), (-1, "j"), (2, 22), (1, 11), (1, -11))
    bare = ((-1, "j"), (-1, "j"), (1, 11), (1, -11))
    assert _match(photon, [bare, z]) == z and _match(bare, [bare, z]) == bare
    with pytest.raises(ValueError, match="S must be a part of B"):
        _match(((-1, "j"), (-1, "j"), (1, 13), (1, -13)), [bare, z])
    with pytest.raises(ValueError, match="2 of B's differ from it only in intermediate lines"):
        _match(photon, [z, ((-1, "j"), (-1, "j"), (2, 25), (1, 11), (1, -11))])


def test_bad_method_and_count_are_refused() -> None:
    base, sub = subtraction_toys(500, 500, seed=1)
    with pytest.raises(ValueError, match="method: expected one of classifier, flow, gan, got 'vae'"):
        subtract(base, sub, method="vae")
    with pytest.raises(ValueError, match="generator.gan: GAN settings for the method 'flow'"):
        subtract(base, sub, method="flow", generator=AmplifyConfig(gan=GANConfig()))
    with pytest.raises(ValueError, match="n_out: expected at least one event"):
        subtract(base, sub, n_out=0)
    with pytest.raises(ValueError, match="warm_epochs: expected a number of epochs >= 0"):
        subtract(base, sub, method="flow", warm_epochs=-1)
