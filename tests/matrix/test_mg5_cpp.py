"""MadGraph5 CUDACPP process directories (../shared/data/madgraph) built and called through mlgen's C
interface, against mlgen's built-in matrix elements with the same parameters."""

from __future__ import annotations

import re
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.matrix.ee_mumu import EEMuMu
from mlgen.matrix.loader import load_matrix_element
from mlgen.matrix.mg5 import MadGraphCPP, MG5BuildError, build_process_library, choose_backend
from mlgen.matrix.mg5.build import _source_key
from mlgen.matrix.ttbar import TTbar
from mlgen.phasespace.rambo import Rambo
from mlgen.physics.sm import MG5_SM, from_param_card

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "madgraph"
if not DATA.is_dir():
    pytest.skip(f"no MadGraph5 process directories at {DATA}", allow_module_level=True)
if shutil.which("g++") is None or shutil.which("make") is None:
    pytest.skip("g++ and make are needed to build the MG5 process libraries", allow_module_level=True)


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlgen-cache")


@pytest.fixture(scope="session")
def gg_tt(cache: Path) -> MadGraphCPP:
    return MadGraphCPP(DATA / "gg_tt.sa.tar.gz", cache=cache)


def directory_card(where: Path, archive: str = "gg_tt.sa") -> Path:
    """The ``Cards/param_card.dat`` of ``archive``, unpacked under ``where``."""
    with tarfile.open(DATA / f"{archive}.tar.gz") as tar:
        tar.extract(f"{archive}/Cards/param_card.dat", where, filter="data")
    return where / archive / "Cards" / "param_card.dat"


@pytest.fixture(scope="session")
def card_without_top_width(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory's param card with ``DECAY 6 0`` (``WT = 0``)."""
    where = tmp_path_factory.mktemp("cards")
    path = where / "param_card_wt0.dat"
    path.write_text(re.sub(r"(DECAY\s+6\s+)\S+", r"\g<1>0.0", directory_card(where).read_text()))
    return path


def points(masses: list[float], energies: list[float], n: int, seed: int = 1) -> torch.Tensor:
    """``(n, 4, 4)`` momenta: incoming along z, then RAMBO, ``n / len(energies)`` per c.m. energy."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for sqrt_s in energies:
        m = n // len(energies)
        final, _ = Rambo(sqrt_s, masses).forward(torch.rand(m, 8, generator=g, dtype=torch.float64))
        e = sqrt_s / 2
        beams = torch.tensor([[e, 0.0, 0.0, e], [e, 0.0, 0.0, -e]], dtype=torch.float64).expand(m, 2, 4)
        out.append(torch.cat([beams, final], 1))
    return torch.cat(out)


def test_param_card_is_the_mg5_sm_scheme(tmp_path: Path) -> None:
    """mlgen's ``mg5_sm`` scheme is the directories' card (MT 173, WT 1.4915, 1/alpha 132.507, ...)."""
    for archive in ("ee_mumu.sa", "gg_tt.sa"):
        card = from_param_card(directory_card(tmp_path / archive, archive))
        for key in (
            "mz",
            "mw",
            "gf",
            "alpha",
            "wz",
            "ww",
            "mt",
            "wt",
            "mh",
            "wh",
            "alpha_s_mz",
            "ymt",
            "ymb",
        ):
            assert getattr(card, key) == pytest.approx(getattr(MG5_SM, key), rel=1e-12), (archive, key)


def test_ee_mumu_agrees_with_the_builtin(cache: Path) -> None:
    me = MadGraphCPP(DATA / "ee_mumu.sa.tar.gz", cache=cache)
    assert me.subprocesses[0].pdg == (-11, 11, -13, 13)
    p = points([0.0, 0.0], [40.0, 91.188, 200.0, 1000.0], 1000)
    mg5 = me(p)[:, 0]
    ref = EEMuMu(parameters=me.parameters)(p[:, [1, 0, 3, 2]])[:, 0]  # mlgen's order is e- e+ mu- mu+
    assert torch.all(torch.abs(mg5 / ref - 1) < 1e-10), float(torch.max(torch.abs(mg5 / ref - 1)))


def test_loading_a_process_leaves_the_floating_point_mode_alone(cache: Path) -> None:
    """MG5 compiles with -ffast-math; linked with it, the library's crtfastmath.o would switch the whole
    process to flush-to-zero on loading (denormals read as 0 everywhere, and scipy's cKDTree crashed)."""
    me = MadGraphCPP(DATA / "ee_mumu.sa.tar.gz", cache=cache)
    me(points([0.0, 0.0], [91.188], 16))
    tiny = np.array([1e-310]) * 1.0
    assert tiny[0] == 1e-310 and float(torch.tensor([1e-310], dtype=torch.float64) * 1.0) == 1e-310


def test_gg_tt_agrees_with_the_builtin_without_top_width(cache: Path, card_without_top_width: Path) -> None:
    me = MadGraphCPP(DATA / "gg_tt.sa.tar.gz", cache=cache, param_card=card_without_top_width)
    assert me.subprocesses[0].pdg == (21, 21, 6, -6) and me.masses == (0.0, 0.0, 173.0, 173.0)
    p = points([173.0, 173.0], [400.0, 1000.0, 5000.0], 999)
    alpha_s = 0.08 + 0.05 * torch.rand(
        len(p), generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    mg5 = me(p, alpha_s)[:, 0]
    ref = TTbar(parameters=me.parameters, quarks=(1,))(p, alpha_s)[:, 0]
    assert torch.all(torch.abs(mg5 / ref - 1) < 1e-10), float(torch.max(torch.abs(mg5 / ref - 1)))


def test_gg_tt_difference_is_mg5s_top_width_in_the_t_channel(
    gg_tt: MadGraphCPP, cache: Path, tmp_path: Path
) -> None:
    """With the card's ``WT``, MG5 differs from the built-in by up to ~1e-4: MG5 keeps the top width in
    the t- and u-channel top propagators (spacelike, where a width has no physical meaning), the
    built-in does not. The difference scales as ``WT^2`` and vanishes at ``WT = 0``, so the built-in is
    the textbook result and the MG5 code a fixed-width convention (harmless: ~1e-6 on sigma)."""
    p = points([173.0, 173.0], [400.0, 1000.0], 1000)
    ref = TTbar(parameters=gg_tt.parameters, quarks=(1,))(p)[:, 0]
    full = torch.abs(gg_tt(p)[:, 0] / ref - 1).max()
    card = gg_tt.info.param_card.read_text()
    half_card = tmp_path / "half.dat"
    half_card.write_text(re.sub(r"(DECAY\s+6\s+)\S+", f"\\g<1>{gg_tt.parameters.wt / 2}", card))
    half = MadGraphCPP(DATA / "gg_tt.sa.tar.gz", cache=cache, param_card=half_card)
    assert 1e-6 < full < 1e-3
    assert float(full / torch.abs(half(p)[:, 0] / ref - 1).max()) == pytest.approx(4.0, rel=0.01)


def test_mad_build_channels_colours_and_any_batch_size(gg_tt: MadGraphCPP, cache: Path) -> None:
    mad = MadGraphCPP(DATA / "gg_tt.mad.tar.gz", cache=cache)
    assert mad.info.channels == (1, 2, 3) and len(mad.info.colour_flows) == 2
    p = points([173.0, 173.0], [500.0], 1000)
    assert torch.allclose(mad(p), gg_tt(p), rtol=1e-12, atol=0)
    g = torch.Generator().manual_seed(5)
    sde = torch.stack(
        [mad.evaluate(p, None, g, torch.full((1000,), c)).sde_weight for c in mad.info.channels], dim=1
    )
    assert torch.allclose(sde.sum(1), torch.ones(1000, dtype=torch.float64), atol=1e-12)
    mixed = torch.randint(1, 4, (1000,), generator=g)
    out = mad.evaluate(p, None, g, mixed)  # channels mixed within a batch: grouped and padded
    assert torch.allclose(out.sde_weight, sde[torch.arange(1000), mixed - 1], rtol=1e-12, atol=0)
    assert (
        set(out.colour.tolist()) == {0, 1} and 0 <= int(out.helicity.min()) and int(out.helicity.max()) < 16
    )
    assert torch.allclose(mad(p[:7]), gg_tt(p)[:7], rtol=1e-12, atol=0)  # 7 is no multiple of the SIMD
    weights = mad.colour_weights(p)
    assert weights is not None and weights.shape == (1000, 1, 2) and torch.all(weights.sum(-1) == 1)
    with pytest.raises(ValueError, match="no colour flows"):
        gg_tt.colour_weights(p)
    with pytest.raises(ValueError, match="multichannel"):
        gg_tt.evaluate(p, None, g, mixed)


def test_card_route_and_rebuild_on_changed_sources(cache: Path, tmp_path: Path) -> None:
    me = load_matrix_element("madgraph", {"path": str(DATA / "gg_tt.sa.tar.gz"), "cache": str(cache)})
    assert isinstance(me, MadGraphCPP)
    built = build_process_library(DATA / "gg_tt.sa.tar.gz", cache=cache)
    assert built.library == me.build.library  # cached: same key, no rebuild
    copy = shutil.copytree(built.root, tmp_path / "gg_tt.sa", symlinks=True)
    key_before = _source_key(copy, built.backend)
    (copy / "src" / "Parameters_sm.h").write_text((copy / "src" / "Parameters_sm.h").read_text() + "\n// x\n")
    assert _source_key(copy, built.backend) != key_before


def test_bad_directory_and_missing_compiler_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MG5BuildError, match="not a MadGraph5 CUDACPP process directory") as bad:
        build_process_library(tmp_path, cache=tmp_path / "cache")
    assert "\n" not in str(bad.value)
    monkeypatch.setenv("CXX", "no-such-g++")
    with pytest.raises(MG5BuildError, match="'no-such-g\\+\\+' is not on PATH") as missing:
        build_process_library(DATA / "gg_tt.sa.tar.gz", cache=tmp_path / "cache", backend="cppnone")
    assert "\n" not in str(missing.value)


def test_backend_from_cpu_flags() -> None:
    flags = "flags\t\t: fpu sse4_2 avx2 avx512f avx512vl\n"
    assert choose_backend(flags, gpu=False) == "cpp512y"
    assert choose_backend(flags.replace(" avx512f avx512vl", ""), gpu=False) == "cppavx2"
    assert choose_backend("flags : fpu sse4_2\n", gpu=False) == "cppsse4"
    assert choose_backend("flags : fpu\n", gpu=False) == "cppnone"
    assert choose_backend("", gpu=True) == "cuda"


class GGOnly:
    """The built-in ``p p -> t t~`` restricted to its ``g g`` column."""

    def __init__(self) -> None:
        self.base = TTbar(parameters=MG5_SM)
        self.name = "g g -> t t~ (built-in)"
        self.subprocesses = self.base.subprocesses[:1]
        self.masses = self.base.masses
        self.resonances = self.propagators = ()

    def __call__(self, p: torch.Tensor, alpha_s: torch.Tensor | None = None) -> torch.Tensor:
        return self.base(p, alpha_s)[:, :1]

    def colour_weights(self, p: torch.Tensor) -> torch.Tensor:
        return self.base.colour_weights(p)[:, :1]


def gg_ttbar_quadrature(pdf: object, sqrt_s: float, mt: float, n: int = 300) -> float:
    """sigma(g g -> t t~) in pb at LO, mu_R = mu_F = m_t: Combridge's partonic total cross section
    integrated over (tau, y) by Gauss-Legendre (the g g part of tests/process/quadrature.ttbar)."""
    import math

    import numpy as np

    from tests.process import quadrature as Q

    s = sqrt_s**2
    a_s = Q._alpha_s(pdf, mt**2)
    l, wl = Q.gauss(math.log(4 * mt**2), math.log(s), n)
    shat = np.exp(l)
    rho = 4 * mt**2 / shat
    beta = np.sqrt(np.clip(1 - rho, 0, 1))
    log = np.log((1 + beta) / (1 - beta))
    sig = math.pi * a_s**2 / (3 * shat) * ((1 + rho + rho**2 / 16) * log - beta * (7 / 4 + 31 * rho / 16))
    tau = shat / s
    y_max = -0.5 * np.log(tau)
    u, wu = Q.gauss(-1.0, 1.0, n)
    y, wy = y_max[:, None] * u[None, :], y_max[:, None] * wu[None, :]
    q2 = np.full(y.shape, mt**2)
    f1 = Q._xf_all(pdf, np.sqrt(tau)[:, None] * np.exp(y), q2)
    f2 = Q._xf_all(pdf, np.sqrt(tau)[:, None] * np.exp(-y), q2)
    return float(np.sum(f1[21] * f2[21] * sig[:, None] * wy * wl[:, None])) * Q.GEV2_TO_PB


def test_hadronic_gg_tt_cross_section_through_mg5(cache: Path) -> None:
    """sigma(g g -> t t~) at 13 TeV, NNPDF23_lo_as_0130_qed, mu = m_t, with VEGAS: the MG5 route (the card's
    ``matrix_element = "madgraph"``) against the built-in's g g part through the same chain, within 4
    combined sigma, and both against a deterministic quadrature."""
    pytest.importorskip("pythia8mc")  # the PDF grids come with the wheel
    from mlgen.cards import parse_card
    from mlgen.integrate.loop import vegas_integrate
    from mlgen.process.build import build_process

    card = (
        f'[process]\nmatrix_element = "madgraph"\noptions = {{ path = "{DATA / "gg_tt.sa.tar.gz"}", '
        f'cache = "{cache}" }}\n[model]\nscheme = "mg5_sm"\n[beams]\nsqrt_s = 13000.0\n'
        '[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n[scales]\nmu_r = "m_t"\nmu_f = "m_t"\nvariations = false\n'
    )
    results = []
    for override in (None, GGOnly()):
        process = build_process(parse_card(card), matrix_element=override)
        result, _ = vegas_integrate(process, process.dim, n_adapt_iter=5, n_per_iter=40_000, n_iter=5, seed=2)
        assert result.sdev / result.mean < 3e-3 and result.Q > 0.001
        results.append(result)
    mg5, builtin = results
    assert isinstance(process.matrix_element, GGOnly)
    assert abs(mg5.mean - builtin.mean) < 4 * (mg5.sdev**2 + builtin.sdev**2) ** 0.5, (mg5, builtin)
    exact = gg_ttbar_quadrature(process.pdf, 13000.0, MG5_SM.mt)
    for result in results:
        assert abs(result.mean - exact) < 4 * result.sdev, (result.mean, result.sdev, exact)
