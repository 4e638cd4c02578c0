"""The NLO e+e- -> 2 jets sample: dipoles with the real emission's limits, closed-form cross sections."""

from __future__ import annotations

import math

import pytest
import torch

from mlgen.matrix.ee_qqg import EEQQG
from mlgen.physics.dipoles import final_final_map, quark_gluon_kernel
from mlgen.physics.sm import scheme
from mlgen.physics.vectors import mass2
from mlgen.process.process import GEV2_TO_PB
from mlgen.samples.ee_jets_nlo import ee_jets_nlo

SQRT_S = 91.188
E = SQRT_S / 2


def three_partons(x1: float, x2: float) -> torch.Tensor:
    """(1, 5, 4): beams along z, the q q~ g system tilted away from the beam axis."""
    x3 = 2 - x1 - x2
    cos12 = 1 - 2 * (1 - x3) / (x1 * x2)
    sin12 = math.sqrt(max(1 - cos12**2, 0.0))
    p1 = [E * x1, 0.0, 0.0, E * x1]
    p2 = [E * x2, E * x2 * sin12, 0.0, E * x2 * cos12]
    p3 = [E * x3, -p1[1] - p2[1], -p1[2] - p2[2], -p1[3] - p2[3]]
    p = torch.tensor([[p1, p2, p3]], dtype=torch.float64)
    c, s = math.cos(0.7), math.sin(0.7)  # rotate about y so the beam-hadron angle is generic
    rotated = p.clone()
    rotated[..., 1] = c * p[..., 1] + s * p[..., 3]
    rotated[..., 3] = -s * p[..., 1] + c * p[..., 3]
    beams = torch.tensor([[[E, 0, 0, E], [E, 0, 0, -E]]], dtype=torch.float64)
    return torch.cat([beams, rotated], 1)


def dipole_sum(me: EEQQG, p: torch.Tensor, alpha_s: float) -> torch.Tensor:
    k1, k2, p1, p2, p3 = p.unbind(1)
    q13, q2, y13, z13 = final_final_map(p1, p3, p2)
    q23, q1, y23, z23 = final_final_map(p2, p3, p1)
    d13 = quark_gluon_kernel(p1, p3, y13, z13, alpha_s) * me.born(torch.stack([k1, k2, q13, q2], 1))[:, 0]
    d23 = quark_gluon_kernel(p2, p3, y23, z23, alpha_s) * me.born(torch.stack([k1, k2, q1, q23], 1))[:, 0]
    return d13 + d23


def test_mapping_keeps_momentum_and_masslessness() -> None:
    p = three_partons(0.7, 0.8)
    _, _, p1, p2, p3 = p.unbind(1)
    q13, q2, y, z = final_final_map(p1, p3, p2)
    torch.testing.assert_close(q13 + q2, p1 + p2 + p3, rtol=1e-12, atol=1e-10)
    assert float(mass2(q13).abs()) < 1e-9 and float(mass2(q2).abs()) < 1e-9
    assert 0 < float(y) < 1 and 0 < float(z) < 1


@pytest.mark.parametrize(
    ("x1", "x2"),
    [(1 - 1e-6, 0.6), (0.6, 1 - 1e-6), (1 - 1e-5, 1 - 2e-5)],  # gluon along the antiquark, quark; soft
    ids=["collinear_to_antiquark", "collinear_to_quark", "soft"],
)
def test_dipoles_have_the_real_emission_limits(x1: float, x2: float) -> None:
    me = EEQQG(quarks=[2])
    p = three_partons(x1, x2)
    alpha = torch.tensor([0.118], dtype=torch.float64)
    ratio = float(me(p, alpha)[0, 0] / dipole_sum(me, p, 0.118)[0])
    assert abs(ratio - 1) < 1e-3
    # and away from the limits they differ (the test is not trivially 1)
    hard = three_partons(0.7, 0.75)
    assert abs(float(me(hard, alpha)[0, 0] / dipole_sum(me, hard, 0.118)[0]) - 1) > 0.05


def test_born_total_matches_the_qed_formula() -> None:
    """Photon only: sigma_0 = N_c 4 pi alpha^2 Q_u^2 / (3 s)."""
    me = EEQQG(mode="photon", quarks=[2])
    alpha = scheme("gmu").alpha
    exact = 3 * 4 * math.pi * alpha**2 * (2 / 3) ** 2 / (3 * SQRT_S**2)
    assert float(me.born_total(SQRT_S**2)[0]) == pytest.approx(exact, rel=1e-12)


def test_sample_reproduces_the_closed_form_cross_sections() -> None:
    sample = ee_jets_nlo(40_000, 100_000, seed=5)
    est = sample.estimate()
    # the real-minus-dipole integral: -C_F alpha_s sigma_0 / (4 pi)
    rd, rd_err = est["real_minus_dipole_pb"], est["real_minus_dipole_error_pb"]
    assert abs(rd - sample.real_minus_dipole_pb) < 4 * rd_err and rd_err < 0.05 * abs(
        sample.real_minus_dipole_pb
    )
    # the NLO total sigma_0 (1 + alpha_s / pi)
    assert abs(est["sigma_pb"] - sample.sigma_nlo_pb) < 4 * est["error_pb"]
    assert est["error_pb"] < 0.3 * (sample.sigma_nlo_pb - sample.sigma_born_pb)
    # a signed sample: counter-events are negative, the mean weight is the estimate
    w = sample.events.weight
    assert 0.3 < float((w < 0).double().mean()) < 0.8
    assert float(w.mean()) == pytest.approx(est["sigma_pb"], rel=1e-12)
    assert sample.sigma_born_pb == pytest.approx(
        float(EEQQG(quarks=[2]).born_total(SQRT_S**2)[0]) * GEV2_TO_PB
    )


def test_counter_events_are_made_positive_by_cells_and_flagged_by_the_neural_method() -> None:
    """At fixed order the 2-jet point T = 1 carries a negative net cross section (Born + V + I minus
    all counter-events): cells must reach into the soft real events to cancel it, which they do with
    sigma exact; the neural method cannot represent a negative region and must say so."""
    from mlgen.observables import observables
    from mlgen.positive import NeuralConfig, PositiveConfig, make_positive

    sample = ee_jets_nlo(4_000, 6_000, seed=7)
    events, info = sample.events, sample.info
    one_minus_t = observables(events)["1 - T"]
    assert float(events.weight[torch.as_tensor(one_minus_t < 1e-12)].sum()) < 0  # the negative 2-jet spike
    out, _, report = make_positive(events, info, PositiveConfig(method="cell"))
    assert report.after.r_minus == 0 and (out.weight >= 0).all()
    assert float(out.weight.sum()) == pytest.approx(float(events.weight.sum()), rel=1e-10)
    fast = NeuralConfig(hidden=32, layers=2, epochs=20, patience=5)
    _, _, report = make_positive(events, info, PositiveConfig(method="neural", neural=fast))
    assert any("net cross section is negative" in w for w in report.warnings)
