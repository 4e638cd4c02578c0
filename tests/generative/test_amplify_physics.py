"""Amplification quality on mlgen's own Drell-Yan: the Z peak and the classifier test, fixed seeds.

Training and truth come from one VEGAS grid (independent events); the generated sample's Z line
shape must match the truth's within errors, and a classifier must not tell the two apart.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mlgen.cards import load_card
from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generative.amplify import amplify
from mlgen.generative.compare import compare_samples
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.quality import breit_wigner_fit
from mlgen.observables import observables
from mlgen.run import event_stream, prepare

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_drell_yan_amplified_keeps_the_z_peak_and_passes_the_classifier_test() -> None:
    card = load_card(
        ROOT / "cards" / "drell_yan.toml",
        ["scales.variations=false", "run.seed=5", "integrator.n_iter=3", "integrator.n_per_iter=50000"],
    )
    prepared = prepare(card, log=None)
    n_train, n_truth = 10000, 40000
    events = EventBatch.concat([b for b, _ in event_stream(prepared, n_train + n_truth)])
    sigma = float(prepared.result.mean)
    events.weight = torch.full((len(events),), sigma / len(events), dtype=torch.float64)
    train, truth = events[:n_train], events[n_train : n_train + n_truth]
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        weight_strategy=3,
        processes=(ProcessLine(sigma, float(prepared.result.sdev), sigma, 1),),
    )
    out, report = amplify(train, info, 40000, config=AmplifyConfig(seed=2))
    assert math.isclose(float(out.weight.sum()), sigma, rel_tol=1e-12)
    fits = {}
    for label, batch in (("generated", out), ("truth", truth)):
        m = observables(batch)["m_leptons [GeV]"]
        fits[label] = breit_wigner_fit(m, None, 91.19, 2.4952)
    gen, ref = fits["generated"], fits["truth"]
    # the peak where the truth has it, within 4 sigma of both samples' errors; the width within 5%
    assert abs(gen.mass - ref.mass) < 4 * math.hypot(gen.mass_err, ref.mass_err), fits
    assert gen.mass_err < 0.05 and abs(gen.width / ref.width - 1) < 0.05, fits
    cmp = compare_samples(out, train, truth, n_train=n_train, seed=3)
    assert cmp.auc < 0.55, (cmp.auc, cmp.auc_null)


def test_breit_wigner_fit_recovers_a_known_line_shape_with_honest_errors() -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    mass, width = 80.4, 2.085
    m = mass + width / 2 * np.tan(np.pi * (rng.random(100_000) - 0.5))
    fit = breit_wigner_fit(m, None, 80.0, 2.5)
    # the Cauchy's Fisher information: sigma(m) = sqrt(2) (Gamma / 2) / sqrt(N) at N -> the window's count
    assert abs(fit.mass_err / (math.sqrt(2) * width / 2 / math.sqrt(fit.n)) - 1) < 0.1
    assert abs(fit.mass - mass) < 4 * fit.mass_err and fit.mass_err < 0.006
    assert abs(fit.width - width) < 4 * fit.width_err and fit.width_err < 0.015
