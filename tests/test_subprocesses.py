"""Cross sections per initial state against the deterministic quadratures of tests/process, with the
other partons' densities set to zero in the quadrature's PDF (g g alone, q q~ alone, u d~ alone)."""

from __future__ import annotations

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.integrate.loop import vegas_integrate
from mlgen.physics.sm import scheme
from mlgen.process.build import build_process
from mlgen.run import prepare
from mlgen.seeds import torch_generator
from mlgen.subprocesses import pdg_label, subprocess_cross_sections

from .process import quadrature as Q

HEAD = '[beams]\nsqrt_s = 13000.0\n[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n[scales]\nvariations = false\n'


class OnlyPartons:
    """A PDF whose densities are zero but for ``keep`` (PDG ids): the quadrature of those alone."""

    def __init__(self, pdf, keep: set[int]) -> None:
        self.pdf, self.pids = pdf, pdf.pids
        self.mask = torch.tensor([float(int(p) in keep) for p in pdf.pids], dtype=torch.float64)

    def xfxQ2_all(self, x, q2):  # noqa: N802 - LHAPDF's name
        return self.pdf.xfxQ2_all(x, q2) * self.mask

    def alphasQ2(self, q2):  # noqa: N802
        return self.pdf.alphasQ2(q2)


def _by_label(card: str, n: int = 200_000, seed: int = 3):
    process = build_process(parse_card(card))
    _, sampler = vegas_integrate(process, process.dim, n_adapt_iter=5, n_per_iter=20_000, n_iter=1, seed=seed)
    pdgs = [sub.pdg for sub in process.matrix_element.subprocesses]
    found = subprocess_cross_sections(process, sampler, pdgs, n, torch_generator(seed + 1))
    return process, {s.label: s for s in found}


def _check(sigma: float, error: float, exact: float, bound: float) -> None:
    assert abs(sigma - exact) < 4 * error, (sigma, error, exact)
    assert error / exact < bound


def test_ttbar_from_gg_alone_and_from_qqbar_alone() -> None:
    card = '[process]\nmatrix_element = "ttbar"\n' + HEAD.replace(
        "[scales]", '[scales]\nmu_f = "m_t"\nmu_r = "m_t"'
    )
    process, found = _by_label(card)
    mt = scheme("gmu").mt
    gg = found.pop("g g > t t~")
    _check(gg.sigma_pb, gg.sigma_err_pb, Q.ttbar(OnlyPartons(process.pdf, {21}), 13000.0, mt, 300, 300), 0.01)
    quarks = {q for q in range(-5, 6) if q}
    exact_qq = Q.ttbar(OnlyPartons(process.pdf, quarks), 13000.0, mt, 300, 300)
    assert set(found) == {f"{q} {q}~ > t t~" for q in "udscb"}  # the rest: each q q~ initial state
    qq = sum(s.sigma_pb for s in found.values())
    _check(qq, sum(s.sigma_err_pb**2 for s in found.values()) ** 0.5, exact_qq, 0.02)
    # both beam orders are one initial state
    assert all(len(s.subprocesses) == 2 for s in found.values())


def test_w_plus_from_u_dbar_alone() -> None:
    card = '[process]\nmatrix_element = "w_lnu"\noptions = { charge = 1 }\n' + HEAD.replace(
        "[scales]", '[scales]\nmu_f = "m_ll"\nmu_r = "m_ll"'
    )
    process, found = _by_label(card)
    ud = found["u d~ > e+ ve"]
    exact = Q.w_plus(OnlyPartons(process.pdf, {2, -1}), 13000.0, n_m=300, n_y=300)
    _check(ud.sigma_pb, ud.sigma_err_pb, exact, 0.01)


def test_labels_read_as_madgraph_writes_them() -> None:
    assert pdg_label((2, -2, -11, 11)) == "u u~ > e+ e-"
    assert pdg_label((21, 21, 6, -6)) == "g g > t t~"
    assert pdg_label((2, -1, -11, 12)) == "u d~ > e+ ve"
    assert pdg_label((-2, 1, 24, 11, -12)) == "u~ d > w+ e- ve~"


SHORT = '[integrator]\nn_adapt_iter = 5\nn_per_iter = 20000\nn_iter = 5\n[run]\ndevice = "cpu"\nseed = 4\n'
TTBAR = '[process]\nmatrix_element = "ttbar"\n{select}\n' + HEAD.replace(
    "[scales]", '[scales]\nmu_f = "m_t"\nmu_r = "m_t"'
)
W_PLUS = '[process]\nmatrix_element = "w_lnu"\noptions = {{ charge = 1 }}\n{select}\n' + HEAD.replace(
    "[scales]", '[scales]\nmu_f = "m_ll"\nmu_r = "m_ll"'
)
QUARKS = {q for q in range(-5, 6) if q}


@pytest.mark.parametrize(
    ("card", "select", "keep"),
    [
        (TTBAR, 'only = ["g g"]', {21}),
        (TTBAR, 'exclude = ["g g"]', QUARKS),
        (W_PLUS, 'only = ["d~ u"]', {2, -1}),
    ],
    ids=["tt_gg", "tt_qqbar", "w_udbar"],
)
def test_a_card_restricted_to_some_initial_states(card: str, select: str, keep: set[int]) -> None:
    prepared = prepare(parse_card(card.format(select=select) + SHORT), log=None)
    process = prepared.process
    pdf = process.pdf
    if "ttbar" in card:
        exact = Q.ttbar(OnlyPartons(pdf, keep), 13000.0, scheme("gmu").mt, 300, 300)
    else:
        exact = Q.w_plus(OnlyPartons(pdf, keep), 13000.0, n_m=300, n_y=300)
    result = prepared.result
    _check(result.mean, result.sdev, exact, 0.01)
    kept = prepared.physics["subprocesses"]
    assert kept != "all" and all(("g g" in k) == (keep == {21}) for k in kept)


def test_a_name_that_is_no_subprocess_is_refused_before_the_run() -> None:
    with pytest.raises(ValueError, match=r"process\.only\[0\]: 'g u' is no subprocess of .*initial states: "):
        prepare(parse_card(TTBAR.format(select='only = ["g u"]') + SHORT, source="tt.toml"), log=None)
    with pytest.raises(ValueError, match=r"no subprocess of .* is left"):
        prepare(parse_card(TTBAR.format(select='only = ["g g"]\nexclude = ["g g"]') + SHORT), log=None)
