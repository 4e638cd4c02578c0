"""The MadGraph5 routes without a MadGraph5 installation.

* The standalone loader is run against a module with ``all_matrix2py``'s exact
  interface (``initialise``, ``get_pdg_order``, ``smatrixhel(pdgs, procid, p,
  alphas, scale2, nhel)`` with ``p`` a Fortran-ordered ``(4, nexternal)`` array),
  built here from mlgen's own Drell-Yan matrix element; it asserts what the
  Fortran code requires of its arguments.
* The PLUGIN is driven through the exporter hooks as MadGraph5's
  ``export_v4.VirtualExporter`` defines them (``__init__(dir_path, opt)``,
  ``pass_information_from_cmd(cmd)``, ``finalize(matrix_elements, history,
  mg5options, flaglist)``), with stand-ins for MadGraph5's base objects
  (``get()`` on processes, legs, diagrams and vertices).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
from pathlib import Path

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.integrate.loop import vegas_integrate
from mlgen.matrix.drell_yan import DrellYan
from mlgen.matrix.madgraph import MadGraphStandalone
from mlgen.physics.sm import from_param_card
from mlgen.process.build import build_process
from tests.physics.test_sm import MG5_CARD

pytest.importorskip("pythia8mc")  # PDF grids

FAKE_MODULE = textwrap.dedent(
    '''
    """Stand-in for MadGraph5's all_matrix2py: same functions, same argument conventions."""
    import os

    import numpy as np
    import torch

    from mlgen.matrix.drell_yan import DrellYan
    from mlgen.physics.sm import from_param_card

    _ME = None
    CALLS = {"smatrixhel": 0}


    def initialise(param_card):
        global _ME
        # MadGraph's INITIALISE reads ./Cards/ident_card.dat: it must run from the process directory
        assert os.path.isfile("Cards/ident_card.dat"), os.getcwd()
        _ME = DrellYan(parameters=from_param_card(param_card), quarks=(1, 2))


    def get_pdg_order():
        return np.array([s.pdg for s in _ME.subprocesses], dtype=np.int32)


    def smatrixhel(pdgs, procid, p, alphas, scale2, nhel):
        assert p.shape == (4, 4) and p.dtype == np.float64 and p.flags.f_contiguous
        assert procid <= 0 and scale2 == 0.0 and nhel == -1 and 0 < alphas < 1
        CALLS["smatrixhel"] += 1
        k = [list(s.pdg) for s in _ME.subprocesses].index([int(x) for x in pdgs])
        moms = torch.from_numpy(np.ascontiguousarray(p.T))[None]
        return float(_ME(moms, torch.tensor([alphas], dtype=torch.float64))[0, k])
    '''
)

CUTS = '\n[[cuts]]\nobservable = "m"\nobjects = "leptons"\nmin = 60.0\nmax = 120.0\n'


def _proc_dir(tmp_path: Path) -> Path:
    root = tmp_path / "pp_ee"
    (root / "Cards").mkdir(parents=True)
    (root / "SubProcesses").mkdir()
    (root / "Cards" / "param_card.dat").write_text(MG5_CARD)
    (root / "Cards" / "ident_card.dat").write_text("# stand-in\n")
    (root / "SubProcesses" / "all_matrix2py.py").write_text(FAKE_MODULE)
    return root


def test_standalone_module_reproduces_the_builtin_matrix_element(tmp_path: Path) -> None:
    root = _proc_dir(tmp_path)
    mg = MadGraphStandalone(str(root), masses=[0.0] * 4)
    ref = DrellYan(parameters=from_param_card(root / "Cards" / "param_card.dat"), quarks=(1, 2))
    assert [s.pdg for s in mg.subprocesses] == [s.pdg for s in ref.subprocesses]
    assert mg.subprocesses[0].colour_flows == ref.subprocesses[0].colour_flows
    # momenta of real phase-space points: the built-in process's own
    process = build_process(
        parse_card('[process]\nmatrix_element = "drell_yan"\n[beams]\nsqrt_s = 13000.0\n' + CUTS)
    )
    point, _ = process.phase_space.forward(
        torch.rand(50, process.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    )
    alpha_s = torch.full((50,), 0.118, dtype=torch.float64)
    assert torch.allclose(mg(point.momenta, alpha_s), ref(point.momenta, alpha_s), rtol=1e-12, atol=0)
    # a subprocess selection by PDG list, and errors naming what is wrong
    only = MadGraphStandalone(str(root), masses=[0.0] * 4, subprocesses=[[2, -2, 11, -11]])
    assert only(point.momenta, alpha_s).shape == (50, 1)
    with pytest.raises(ValueError, match="subprocesses: \\[\\[3, -3, 11, -11\\]\\] not in the module"):
        MadGraphStandalone(str(root), masses=[0.0] * 4, subprocesses=[[3, -3, 11, -11]])
    with pytest.raises(ValueError, match="masses: expected 4 values"):
        MadGraphStandalone(str(root), masses=[0.0] * 3)
    with pytest.raises(ValueError, match="no compiled standalone module"):
        MadGraphStandalone(str(tmp_path), masses=[0.0] * 4, param_card="pp_ee/Cards/param_card.dat")


class _Obj:
    """A stand-in for MadGraph5's base objects: ``get(key)``."""

    def __init__(self, **fields):
        self.fields = fields

    def get(self, key):
        return self.fields[key]


def _leg(number: int, pdg: int, state: bool) -> _Obj:
    return _Obj(number=number, id=pdg, state=state)


def _diagram(boson: int) -> _Obj:
    # u(1) u~(2) > e-(3) e+(4): vertex (3, 4 -> boson numbered 3), then the last vertex (1, 2, 3)
    decay = _Obj(legs=[_leg(3, 11, True), _leg(4, -11, True), _leg(3, boson, True)])
    last = _Obj(legs=[_leg(1, 2, False), _leg(2, -2, False), _leg(3, boson, True)])
    return _Obj(vertices=[decay, last])


@pytest.fixture
def fake_madgraph(monkeypatch):
    """``madgraph.iolibs.export_v4`` with the exporter base-class hooks MadGraph5 defines."""
    export_v4 = types.ModuleType("madgraph.iolibs.export_v4")
    calls: list[str] = []

    class VirtualExporter:
        grouped_mode = "madevent"
        sa_symmetry = False
        check = True
        output = "Template"
        exporter = "v4"

        def __init__(self, dir_path="", opt=None):
            self.dir_path = dir_path
            self.opt = opt

        def copy_template(self, model):
            return

        def generate_subprocess_directory(self, subproc_group, helicity_model, me=None, **opt):
            return 0

        def convert_model(self, model, wanted_lorentz=[], wanted_couplings=[]):  # noqa: B006 (as upstream)
            return

        def finalize(self, matrix_element, cmdhistory, MG5options, outputflag):  # noqa: N803 (as upstream)
            calls.append("finalize")

        def pass_information_from_cmd(self, cmd):
            calls.append("pass_information_from_cmd")

        def modify_grouping(self, matrix_element):
            return False, matrix_element

    class ProcessExporterFortranSA(VirtualExporter):
        def __init__(self, *args, **opts):
            VirtualExporter.__init__(self, *args, **opts)

    export_v4.VirtualExporter = VirtualExporter
    export_v4.ProcessExporterFortranSA = ProcessExporterFortranSA
    madgraph = types.ModuleType("madgraph")
    iolibs = types.ModuleType("madgraph.iolibs")
    madgraph.iolibs = iolibs
    iolibs.export_v4 = export_v4
    for name, mod in (
        ("madgraph", madgraph),
        ("madgraph.iolibs", iolibs),
        ("madgraph.iolibs.export_v4", export_v4),
    ):
        monkeypatch.setitem(sys.modules, name, mod)
    for name in [m for m in sys.modules if m.startswith("mlgen_madgraph5")]:
        monkeypatch.delitem(sys.modules, name)
    return calls


def test_plugin_output_is_a_directory_mlgen_runs(tmp_path: Path, fake_madgraph) -> None:
    plugin = importlib.import_module("mlgen_madgraph5")
    assert set(plugin.new_output) == {"mlgen"} and plugin.new_interface is None
    assert (
        plugin.minimal_mg5amcnlo_version
        <= plugin.latest_validated_version
        <= plugin.maximal_mg5amcnlo_version
    )
    root = _proc_dir(tmp_path)
    exporter = plugin.new_output["mlgen"](str(root), {})
    assert exporter.opt["sa_symmetry"] is False and exporter.grouped_mode is False
    exporter.pass_information_from_cmd(_Obj())
    subprocs = [[1, -1, 11, -11], [-1, 1, 11, -11], [2, -2, 11, -11], [-2, 2, 11, -11]]
    processes = [_Obj(legs=[_leg(i + 1, pdg, i >= 2) for i, pdg in enumerate(ids)]) for ids in subprocs]
    me = _Obj(processes=processes, base_amplitude=_Obj(diagrams=[_diagram(23), _diagram(22)]))
    exporter.finalize(_Obj(matrix_elements=[me]), "history", {}, [])
    assert fake_madgraph == ["pass_information_from_cmd", "finalize"]  # MadGraph5's own steps still run
    card_path = root / "Cards" / "mlgen_card.toml"
    text = card_path.read_text()
    assert (
        "pdg = 23" in text and "mass = 91.188" in text and "width = 2.441404" in text and "pdg = 22" in text
    )
    launch = root / "bin" / "mlgen_launch"
    assert launch.stat().st_mode & 0o111 and "mlgen run Cards/mlgen_card.toml" in launch.read_text()
    # mlgen runs the written card as it stands (plus a mass window and the scale of the comparison)
    text = text.replace(
        'mu_r = "fixed"\nmu_f = "fixed"\nvalue = 91.188', 'mu_r = "m_ll"\nmu_f = "m_ll"\nvariations = false'
    )
    card = parse_card(text + CUTS, source=str(card_path))
    process = build_process(card)
    assert [p.pdg for props in [g for g, _ in process.channels] for p in props] == [23, 22]
    result, _ = vegas_integrate(process, process.dim, n_adapt_iter=1, n_per_iter=1000, n_iter=2, seed=3)
    # the same integral with mlgen's built-in matrix element and parameters: identical points, same sigma
    builtin = (
        '[process]\nmatrix_element = "drell_yan"\noptions = { quarks = [1, 2] }\n[beams]\nsqrt_s = 13000.0\n'
        '[pdf]\nset = "NNPDF23_lo_as_0130_qed"\n'
        f'[model]\nparam_card = "{root / "Cards" / "param_card.dat"}"\n'
        '[scales]\nmu_r = "m_ll"\nmu_f = "m_ll"\nvariations = false\n' + CUTS
    )
    ref_process = build_process(parse_card(builtin))
    ref, _ = vegas_integrate(ref_process, ref_process.dim, n_adapt_iter=1, n_per_iter=1000, n_iter=2, seed=3)
    assert result.mean == pytest.approx(ref.mean, rel=1e-10)
    assert result.sdev == pytest.approx(ref.sdev, rel=1e-6)
