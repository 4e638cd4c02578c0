"""PDFs: knots exact, Pythia 8 agreement, subgrid continuity, LHAPDF's continuation,
sum rules, alpha_s, real-file quirks and clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate

from mlgen.pdf import PDFFormatError, PDFNotFoundError, load
from mlgen.pdf.grid import read_grid
from mlgen.pdf.locate import pythia_pdfdata

PDFDATA = pythia_pdfdata()
WHEEL_SETS = [
    "NNPDF23_lo_as_0130_qed",
    "NNPDF23_nlo_as_0119_qed",
    "NNPDF23_nnlo_as_0119_qed",
    "NNPDF31_lo_as_0118",
    "NNPDF31_nlo_as_0118_luxqed",
    "NNPDF31_nnlo_as_0118_luxqed",
    "NNPDF31sx_nnlonllx_as_0118_LHCb_luxqed",
    "CT14qed_proton",
]
needs_wheel = pytest.mark.skipif(PDFDATA is None, reason="pythia8mc's pdfdata not installed")
T = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731


@needs_wheel
@pytest.mark.parametrize("name", WHEEL_SETS)
def test_values_at_knots_reproduced(name: str) -> None:
    pdf = load(name)
    grid = pdf.grid
    # every knot pair; at a subgrid boundary the upper subgrid's value is the one used
    q2 = grid.q2
    keep = np.concatenate([q2[1:] != q2[:-1], [True]])
    xs, qs = np.meshgrid(grid.x, q2[keep], indexing="ij")
    got = pdf.xfxQ2_all(T(xs.ravel()), T(qs.ravel())).numpy().reshape(len(grid.x), keep.sum(), -1)
    want = grid.values[:, keep]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@needs_wheel
@pytest.mark.parametrize("name", ["NNPDF23_lo_as_0130_qed", "NNPDF31_nnlo_as_0118_luxqed", "CT14qed_proton"])
def test_agrees_with_pythia8_inside_the_grid(name: str) -> None:
    pythia8mc = pytest.importorskip("pythia8mc")
    pdf = load(name)
    pythia = pythia8mc.Pythia("", False)
    pythia.readString(f"PDF:pSet = LHAGrid1:{PDFDATA / (name + '_0000.dat')}")
    ref = pythia.getPDFPtr(2212)
    rng = np.random.default_rng(7)
    n = 600
    x = np.exp(rng.uniform(np.log(max(pdf.x_min, 1e-6)), np.log(0.8), n))
    # stay a little above Q_min, where Pythia freezes rather than continues
    q2 = np.exp(rng.uniform(np.log(pdf.q2_min * 1.5), np.log(min(pdf.q2_max, 1e8)), n))
    ours = pdf.xfxQ2_all(T(x), T(q2)).numpy()
    rel = []
    for j, pid in enumerate(pdf.pids):
        theirs = np.array([ref.xf(pid, a, b) for a, b in zip(x, q2)])
        big = theirs > 1e-2
        rel.append(np.abs(ours[big, j] / theirs[big] - 1))
    rel = np.concatenate(rel)
    assert len(rel) > 1000
    assert np.median(rel) < 1e-4
    assert np.quantile(rel, 0.99) < 5e-3


@needs_wheel
def test_continuous_across_subgrid_boundary() -> None:
    pdf = load("NNPDF31_nnlo_as_0118_luxqed")
    q_b = 4.92
    assert np.sum(np.isclose(pdf.grid.q2, q_b**2, rtol=1e-6)) == 2  # a repeated boundary knot
    x = T(np.geomspace(1e-5, 0.7, 50))
    below = pdf.xfxQ2_all(x, T(np.full(50, (q_b * (1 - 1e-9)) ** 2)))
    above = pdf.xfxQ2_all(x, T(np.full(50, (q_b * (1 + 1e-9)) ** 2)))
    scale = below.abs().max()
    assert float((below - above).abs().max() / scale) < 1e-6


@needs_wheel
def test_continuation_extrapolation_formulas() -> None:
    pdf = load("NNPDF31_nnlo_as_0118_luxqed")
    xk, qk = pdf.grid.x, pdf.grid.q2
    g = pdf.pids.index(21)
    at = lambda x, q2: pdf.xfxQ2_all(T([x]), T([q2])).numpy()[0]  # noqa: E731
    # x below x_min: linear in ln x of ln xf (gluon is > 1e-3 there)
    x, q2 = xk[0] / 10, 100.0
    f0, f1 = at(xk[0], q2)[g], at(xk[1], q2)[g]
    t = math.log(x / xk[0]) / math.log(xk[1] / xk[0])
    assert at(x, q2)[g] == pytest.approx(
        math.exp(math.log(f0) + t * (math.log(f1) - math.log(f0))), rel=1e-12
    )
    # Q^2 above Q^2_max
    x, q2 = 0.01, qk[-1] * 4
    f0, f1 = at(x, qk[-1])[g], at(x, qk[-2])[g]
    t = math.log(q2 / qk[-1]) / math.log(qk[-2] / qk[-1])
    assert at(x, q2)[g] == pytest.approx(
        math.exp(math.log(f0) + t * (math.log(f1) - math.log(f0))), rel=1e-12
    )
    # Q^2 below Q^2_min: f0 r^(a r + 1 - r)
    x, q2 = 0.01, qk[0] / 3
    f0, f1 = at(x, qk[0])[g], at(x, 1.01 * qk[0])[g]
    anom = max(-2.5, (f1 - f0) / f0 / 0.01)
    r = q2 / qk[0]
    assert at(x, q2)[g] == pytest.approx(f0 * r ** (anom * r + 1 - r), rel=1e-12)
    with pytest.raises(ValueError, match="x must lie"):
        pdf.xfxQ2_all(T([1.5]), T([100.0]))


@needs_wheel
@pytest.mark.parametrize(
    "name", ["NNPDF23_lo_as_0130_qed", "NNPDF23_nnlo_as_0119_qed", "NNPDF31_nnlo_as_0118_luxqed"]
)
def test_momentum_sum_rule(name: str) -> None:
    pdf = load(name)
    # Gauss-Legendre in ln x over [ln x_min, 0]; sum of x f over all partons (photon included)
    nodes, weights = np.polynomial.legendre.leggauss(400)
    lo = math.log(pdf.x_min)
    lx = 0.5 * lo * (1 - nodes)
    x = np.exp(lx)
    xf = pdf.xfxQ2_all(T(x), T(np.full_like(x, 1e4))).numpy().sum(1)
    value = float(np.sum(xf * x * weights) * (-0.5 * lo))  # dx = x dlnx
    assert value == pytest.approx(1.0, abs=0.01)


@needs_wheel
def test_alpha_s_at_mz_from_name_and_running() -> None:
    pdf = load("NNPDF23_lo_as_0130_qed")
    mz2 = T([91.1876**2])
    assert float(pdf.alphasQ2(mz2)) == pytest.approx(0.130, abs=1e-9)
    nlo = load("NNPDF31_nlo_as_0118_luxqed")
    assert float(nlo.alphasQ2(mz2)) == pytest.approx(0.118, abs=1e-9)
    # 2-loop running against an independent ODE solution (nf = 5 between m_b and m_t)
    b0, b1 = 23 / (12 * math.pi), 58 / (24 * math.pi**2)
    sol = integrate.solve_ivp(
        lambda t, a: -(b0 * a**2 + b1 * a**3),
        (math.log(91.1876**2), math.log(150.0**2)),
        [0.118],
        rtol=1e-12,
        atol=1e-14,
    )
    assert float(nlo.alphasQ2(T([150.0**2]))) == pytest.approx(float(sol.y[0, -1]), rel=1e-6)


def write_set(folder: Path) -> Path:
    """A small set in LHAPDF layout with the quirks of real files."""
    set_dir = folder / "Toy"
    set_dir.mkdir()
    (set_dir / "Toy.info").write_text(
        "SetDesc: 'toy'\nFormat: lhagrid1\nNumMembers: 1\nAlphaS_Type: ipol\n"
        "AlphaS_Qs: [1.0, 10.0, 100.0,\n 1000.0]\nAlphaS_Vals: [0.35, 0.18, 0.12, 0.09]\nAlphaS_MZ: 0.118\n"
    )
    xs = [1e-4, 1e-4, 1e-3, 1e-2, 0.1, 1.0]  # repeated first knot, as in CT14qed
    lines = ["PdfType: central", "Format: lhagrid1", "---"]
    for qs in ([1.0, 2.0, 3.0], [3.0, 10.0, 100.0, 1000.0]):
        lines += [" ".join(f"{x:.8e}" for x in xs) + "   ", " ".join(f"{q:.8e}" for q in qs), "21 2"]
        for x in xs:
            for q in qs:
                g, u = (1 - x) ** 5 * (1 + math.log(q)), 0.0 if x == 1.0 else x**0.5 * (1 - x) ** 3
                lines.append(f"{g:.8e}{u:.8e}" if x == 1.0 else f"{g:.8e} {u:.8e}  ")  # fused at x = 1
        lines.append("---")
    (set_dir / "Toy_0000.dat").write_text("\n".join(lines) + "\n")
    return set_dir


def test_real_file_quirks_and_ipol_alpha_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path)
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(tmp_path))
    pdf = load("Toy")
    assert pdf.pids == (21, 2)
    assert len(pdf.grid.x) == 5  # repeated knot dropped
    assert pdf.grid.q2.tolist() == [1.0, 4.0, 9.0, 9.0, 100.0, 1e4, 1e6]
    # values at knots, including the fused x = 1 line
    got = pdf.xfxQ2(21, T([1e-3, 1.0]), T([100.0, 100.0])).numpy()
    np.testing.assert_allclose(got, [(1 - 1e-3) ** 5 * (1 + math.log(10.0)), 0.0], rtol=1e-8, atol=1e-12)
    assert float(pdf.xfxQ2(3, T([0.1]), T([10.0]))) == 0.0  # flavour not in the set
    # ipol alpha_s: exact at knots, power law below, constant above
    a = pdf.alphasQ2(T([100.0, 1e4, 1e8]))
    np.testing.assert_allclose(a.numpy(), [0.18, 0.12, 0.09], rtol=1e-12)
    slope = math.log(0.18 / 0.35) / math.log(100.0)
    assert float(pdf.alphasQ2(T([0.25]))) == pytest.approx(0.35 * 0.25**slope, rel=1e-12)


def test_malformed_file_names_line(tmp_path: Path) -> None:
    set_dir = write_set(tmp_path)
    dat = set_dir / "Toy_0000.dat"
    lines = dat.read_text().splitlines()
    lines[7] = "1.0 2.0 3.0"  # a value line with three numbers for two flavours
    dat.write_text("\n".join(lines) + "\n")
    with pytest.raises(PDFFormatError, match=r"Toy_0000.dat:8: expected 2 values"):
        read_grid(dat)


def test_unknown_set_lists_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path)
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(tmp_path))
    with pytest.raises(PDFNotFoundError) as info:
        load("NoSuchSet")
    message = str(info.value)
    assert "NoSuchSet" in message and str(tmp_path) in message and "Toy" in message


@needs_wheel
def test_per_event_flavours() -> None:
    pdf = load("NNPDF23_lo_as_0130_qed")
    x, q2 = T([0.1, 0.1, 0.1]), T([100.0, 100.0, 100.0])
    per = pdf.xfxQ2(torch.tensor([21, 0, -2]), x, q2)
    assert float(per[0]) == float(per[1]) == float(pdf.xfxQ2(21, x[:1], q2[:1]))
    assert float(per[2]) == float(pdf.xfxQ2(-2, x[:1], q2[:1]))


@pytest.mark.gpu
@needs_wheel
def test_cuda_matches_cpu() -> None:
    pdf = load("NNPDF31_nnlo_as_0118_luxqed")
    g = torch.Generator().manual_seed(3)
    x = torch.exp(torch.empty(10000, dtype=torch.float64).uniform_(math.log(1e-9), 0, generator=g)).clamp(
        max=1
    )
    q2 = torch.exp(torch.empty(10000, dtype=torch.float64).uniform_(0, math.log(1e10), generator=g))
    cpu = pdf.xfxQ2_all(x, q2)
    gpu = pdf.xfxQ2_all(x.cuda(), q2.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-12, atol=1e-12)
