"""Subtraction: B = 1/x + 0.1 minus S = 1/x is flat, with errors below the binned sqrt(N_B + N_S)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mlgen.classifier import ClassifierConfig
from mlgen.cli import main
from mlgen.gan.subtract import subtract
from mlgen.lhe import read_lhe, write_lhe
from tests.positive.toys import X_MIN, cos_theta, signed_sample, subtraction_toys

# a ratio S/B between 0.91 and 0.999 needs a patient classifier (late stopping); the largest-x bin
# moves by up to one binned error between reasonable settings, the small-x bins stay far below it
FAST = ClassifierConfig(hidden=64, layers=3, epochs=100, batch=1024, lr=1e-3, patience=20, seed=2)


def test_flat_difference_beats_the_binned_subtraction() -> None:
    base, sub = subtraction_toys(40_000, 40_000, seed=3)
    out, run_info, report = subtract(base, sub, config=FAST)
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
    assert np.abs(pulls).max() < 1
    # where S is nearly B (small x: r > 0.9) the deviation is far below the binned error
    assert np.abs(pulls[:3]).max() < 0.5
    assert len(out) > 1000 and report["n_base"] == len(b)


def test_cli_writes_the_difference_and_refuses_negative_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, sub = subtraction_toys(6_000, 6_000, seed=5)
    b_path = write_lhe(tmp_path / "b.lhe", *base)
    s_path = write_lhe(tmp_path / "s.lhe.gz", *sub)
    out = tmp_path / "diff.lhe.gz"
    assert main(["subtract", str(b_path), str(s_path), "-o", str(out), "--epochs", "15", "-n", "100"]) == 0
    info, events = read_lhe(out)
    assert len(events) == 100 and info.xsec_pb == pytest.approx(0.1 * (1 - X_MIN), rel=1e-9)
    assert json.loads((tmp_path / "diff.subtract.json").read_text())["n_out"] == 100
    assert main(["subtract", str(b_path), str(s_path), "-o", str(out), "-n", "100000"]) == 2
    assert "can write at most" in capsys.readouterr().err
    signed = write_lhe(tmp_path / "signed.lhe", *signed_sample(200, seed=1))
    assert main(["subtract", str(signed), str(s_path), "-o", str(tmp_path / "x.lhe")]) == 2
    assert "negative weights; make the sample positive first (mlgen positive)" in capsys.readouterr().err
