"""alpha_s as MadEvent runs it for its built-in NNPDF 2.3 sets (``pdlabel = nn23lo1``): alpha_s(M_Z) =
0.130 at 2 loops with at most 5 flavours (``Source/alfas_functions.f``). mlgen's route for a MadGraph5
run card (``alphas_loops = 2``, ``alphas_nf_max = 5``) against the closed-form two-loop solution, and
against MadEvent's own Fortran where gfortran is present."""

from __future__ import annotations

import math
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from mlgen.pdf import load
from mlgen.pdf.locate import pythia_pdfdata

pytestmark = pytest.mark.skipif(pythia_pdfdata() is None, reason="pythia8mc's pdfdata not installed")
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "madgraph"
QS = np.array([10.0, 50.0, 91.188, 173.0, 250.0, 500.0, 1000.0, 3000.0])


def mlgen_alphas(nf_max: int | None) -> np.ndarray:
    pdf = load("NNPDF23_lo_as_0130_qed", alphas_loops=2, alphas_nf_max=nf_max)
    return pdf.alpha_s(torch.as_tensor(QS * QS)).numpy()


def two_loop(q: float, a0: float = 0.130, q0: float = 91.188, nf: int = 5) -> float:
    """The implicit two-loop solution ``1/a + c ln(c a / (1 + c a)) = const + b0 ln(Q^2/Q0^2)`` with
    ``b0 = (33 - 2 nf) / (12 pi)``, ``c = b1 / b0``, ``b1 = (153 - 19 nf) / (24 pi^2)``: no ODE."""
    b0 = (33 - 2 * nf) / (12 * math.pi)
    c = (153 - 19 * nf) / (24 * math.pi**2) / b0

    def f(a: float) -> float:
        return 1 / a + c * math.log(c * a / (1 + c * a))

    target = f(a0) + b0 * math.log(q * q / (q0 * q0))
    return brentq(lambda a: f(a) - target, 1e-3, 0.9, xtol=1e-15)


def test_five_flavour_running_is_the_two_loop_solution_and_six_differs_above_the_top() -> None:
    got = mlgen_alphas(5)
    above_b = QS > 4.75
    want = np.array([two_loop(q) for q in QS[above_b]])
    np.testing.assert_allclose(got[above_b], want, rtol=2e-6)
    six = mlgen_alphas(None)  # LHAPDF's ode: a top threshold
    assert abs(six[QS == 500.0][0] / got[QS == 500.0][0] - 1) > 5e-3
    np.testing.assert_allclose(six[QS <= 173.0], got[QS <= 173.0], rtol=1e-4)


@pytest.mark.skipif(shutil.which("gfortran") is None, reason="gfortran builds MadEvent's alpha_s")
@pytest.mark.skipif(not DATA.is_dir(), reason="no MadGraph5 process directories")
def test_agrees_with_madevents_own_alfas_functions(tmp_path: Path) -> None:
    with tarfile.open(DATA / "gg_tt.mad.tar.gz") as tar:
        for name in ("alfas_functions.f", "alfas.inc"):
            member = next(m for m in tar.getmembers() if m.name.endswith(f"/Source/{name}"))
            handle = tar.extractfile(member)
            assert handle is not None
            (tmp_path / name).write_bytes(handle.read())
    qs = ", ".join(f"{q}d0" for q in QS)
    (tmp_path / "drive.f").write_text(
        "      program drive\n      implicit none\n      include 'alfas.inc'\n"
        "      double precision alphas, q(8)\n      integer i\n"
        f"      data q/{qs}/\n"
        "      asmz = 0.130d0\n      nloop = 2\n"
        "      do i = 1, 8\n        write(*,'(ES24.16)') alphas(q(i))\n      enddo\n      end\n"
    )
    build = subprocess.run(
        ["gfortran", "-O0", "-std=legacy", "-ffixed-line-length-none", "-o", "drive", "drive.f", "alfas_functions.f"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    out = subprocess.run([str(tmp_path / "drive")], capture_output=True, text=True, check=True).stdout
    madevent = np.array([float(v) for v in out.split()])
    # MadEvent's Newton iteration stops at a tolerance of 5e-4 (in 1/alpha_s terms): 1e-4 relative
    np.testing.assert_allclose(mlgen_alphas(5), madevent, rtol=1e-4)
    assert np.abs(mlgen_alphas(None) / madevent - 1).max() > 5e-3  # what the default would have been


def test_card_alphas_mz_rescales_every_point_by_the_ratio_of_alpha_s_squared() -> None:
    """g g -> t t~ at a fixed scale through [pdf] alphas_mz = 0.118 against the set's 0.130: the PDFs
    are the same, so each point's weight changes by exactly (alpha_s(mu; 0.118) / alpha_s(mu; 0.130))^2
    (the two-loop closed form at mu = m_t), and alpha_s(M_Z) is the card's."""
    from mlgen.cards import parse_card
    from mlgen.process.build import build_process

    def card(extra: str) -> str:
        return (
            '[process]\nmatrix_element = "ttbar"\n[beams]\nsqrt_s = 13000.0\n'
            f'[pdf]\nset = "NNPDF23_lo_as_0130_qed"\nalphas_loops = 2\nalphas_nf_max = 5\n{extra}'
            '[scales]\nmu_r = "fixed"\nmu_f = "fixed"\nvalue = 173.0\nvariations = false\n'
        )

    base, low = (build_process(parse_card(card(x))) for x in ("", "alphas_mz = 0.118\n"))
    assert low.pdf is not None and base.pdf is not None
    mz2 = torch.tensor([91.1876**2], dtype=torch.float64)
    assert abs(float(low.pdf.alphasQ2(mz2)[0]) - 0.118) < 1e-9
    u = torch.rand(2000, base.dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    w_base, w_low = base.evaluate(u).weight, low.evaluate(u).weight
    inside = w_base > 0
    assert int(inside.sum()) > 1000
    want = (two_loop(173.0, a0=0.118, q0=91.1876) / two_loop(173.0, a0=0.130, q0=91.1876)) ** 2
    torch.testing.assert_close(w_low[inside] / w_base[inside], torch.full_like(w_base[inside], want), rtol=2e-6, atol=0)
    assert want < 0.85  # the test can tell: alpha_s^2 falls by 16%


def test_alphas_settings_with_the_lhapdf_backend_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^alphas_mz: not with backend = 'lhapdf'"):
        load("NNPDF23_lo_as_0130_qed", backend="lhapdf", alphas_mz=0.118)
