"""The MadGraph5 routes without a MadGraph5 installation (none can be installed here).

* mlgen's standalone Fortran loader (:class:`mlgen.matrix.madgraph.MadGraphStandalone`) is run
  against a module with ``all_matrix2py``'s exact interface (``initialise``, ``get_pdg_order``,
  ``smatrixhel(pdgs, procid, p, alphas, scale2, nhel)`` with ``p`` a Fortran-ordered
  ``(4, nexternal)`` array), built here from mlgen's own Drell-Yan matrix element.
* The PLUGIN (``output mlgen``) is driven the way MadGraph5 3.7 drives a CUDACPP output, through
  stand-ins with the module paths, class names and method signatures of the real code (read in
  madgraph5/madgraph4gpu 82c6b1b, ``epochX/cudacpp/CODEGEN/PLUGIN/CUDACPP_SA_OUTPUT/output.py``, and
  MadGraph5's ``madgraph_interface.py`` ``check_output``/``do_output``/``finalize``,
  ``export_v4.ExportV4Factory`` and ``ProcessExporterFortranME.finalize``,
  ``export_cpp.ExportCPPFactory``). What MadGraph5 and CUDACPP write is stood in for by a real
  CUDACPP MadEvent directory of ``../shared/data/madgraph`` (MG5_aMC 3.7.1); the test checks that
  ``output mlgen`` calls CUDACPP's hooks in MadGraph5's order, then adds only ``bin/mlgen_launch``,
  and that ``mlgen run`` accepts the result without building anything.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.matrix.drell_yan import DrellYan
from mlgen.matrix.madgraph import MadGraphStandalone
from mlgen.mg5_run import is_process_dir, load_process_dir
from mlgen.physics.sm import from_param_card
from mlgen.process.build import build_process
from tests.physics.test_sm import MG5_CARD

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "madgraph"

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
    pytest.importorskip("pythia8mc")  # PDF grids
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


# ---- the PLUGIN -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mad_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real CUDACPP MadEvent directories (MG5_aMC 3.7.1), unpacked once: what MadGraph5 writes."""
    where = tmp_path_factory.mktemp("mad")
    for name in ("gg_tt", "gg_ttg"):
        with tarfile.open(DATA / f"{name}.mad.tar.gz") as tar:
            tar.extractall(where, filter="data")
    return where


class Recorder:
    """The calls the stand-ins receive, in order: ``(class name, method, detail)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.source: Path | None = None  # the real .mad directory MadGraph5's side copies

    def __call__(self, obj: object, method: str, detail: Any = None) -> None:
        self.calls.append((type(obj).__name__, method, detail))


def _module(name: str, **fields: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(fields)
    return module


def _stand_ins(record: Recorder) -> dict[str, types.ModuleType]:
    """``madgraph.iolibs.export_v4``/``export_cpp`` and ``PLUGIN.CUDACPP_OUTPUT.output`` with the real
    class names, bases and hook signatures; every hook records its call. MadGraph5's side of the
    output (templates, P directories, cards) is a copy of a real .mad directory, made where MadGraph5
    makes the directory (``copy_template`` of the Fortran exporter)."""

    class VirtualExporter:  # madgraph/iolibs/export_v4.py
        grouped_mode = "madevent"
        sa_symmetry = False
        check = True
        output = "Template"
        exporter = "v4"

        def __init__(self, dir_path: str = "", opt: dict | None = None) -> None:
            self.dir_path = dir_path
            self.opt = dict(opt or {})
            record(self, "__init__", dir_path)

        def pass_information_from_cmd(self, cmd: Any) -> None:
            record(self, "pass_information_from_cmd")

        def copy_template(self, model: Any) -> None:
            record(self, "copy_template")

        def generate_subprocess_directory(
            self, subproc_group: Any, helicity_model: Any, me: Any = None
        ) -> int:
            record(self, "generate_subprocess_directory", me)
            return 0

        def convert_model(self, model: Any, wanted_lorentz=[], wanted_couplings=[]) -> None:  # noqa: B006 (as upstream)
            record(self, "convert_model")

        def finalize(self, matrix_element: Any, cmdhistory: Any, MG5options: Any, outputflag: Any) -> None:  # noqa: N803
            record(self, "finalize")

        def modify_grouping(self, matrix_element: Any) -> tuple[bool, Any]:
            return False, matrix_element

    class ProcessExporterFortranMEGroup(VirtualExporter):  # export_v4: MadEvent's Fortran, grouped
        def copy_template(self, model: Any) -> None:
            super().copy_template(model)
            assert record.source is not None
            shutil.copytree(record.source, self.dir_path, symlinks=True)

        def export_processes(self, matrix_elements, fortran_model, second_exporter=None, second_helas=None):
            for number, group in enumerate(matrix_elements):
                if second_exporter:
                    second_exporter.generate_subprocess_directory(group, second_helas, number)
            return 0

        def finalize(self, matrix_elements, history, mg5options, flaglist, second_exporter=None):  # as read
            super().finalize(matrix_elements, history, mg5options, flaglist)
            if second_exporter:  # last, after the cards are written
                second_exporter.finalize(matrix_elements, history, mg5options, flaglist)

    class ProcessExporterCPP(VirtualExporter):  # madgraph/iolibs/export_cpp.py
        grouped_mode = False
        exporter = "cpp"

    class ProcessExporterGPU(ProcessExporterCPP):
        exporter = "gpu"

    class PLUGIN_ProcessExporter(ProcessExporterGPU):  # PLUGIN/CUDACPP_OUTPUT/output.py
        sa_symmetry = True
        exporter = "gpu"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.in_madevent_mode = False
            super().__init__(*args, **kwargs)

        def copy_template(self, model: Any) -> None:
            record(self, "copy_template")

        def generate_subprocess_directory(
            self, subproc_group: Any, fortran_model: Any, me: Any = None
        ) -> int:
            record(self, "generate_subprocess_directory", me)
            return 0

        def convert_model(self, model: Any, wanted_lorentz=[], wanted_coupling=[]) -> None:  # noqa: B006
            record(self, "convert_model")

        def finalize(self, matrix_element: Any, cmdhistory: Any, MG5options: Any, outputflag: Any) -> None:  # noqa: N803
            mlgen_files = (Path(self.dir_path) / "bin" / "mlgen_launch").exists()
            record(
                self, "finalize", {"in_madevent_mode": self.in_madevent_mode, "mlgen_files_yet": mlgen_files}
            )

        def modify_grouping(self, matrix_element: Any) -> tuple[bool, Any]:
            return False, matrix_element

    class PLUGIN_ProcessExporter_MadEvent(PLUGIN_ProcessExporter):
        pass

    class FortranExporterBridge(ProcessExporterFortranMEGroup):
        pass

    class SIMD_ProcessExporter(PLUGIN_ProcessExporter_MadEvent):
        run_card_class = object

        def change_output_args(args, cmd):  # noqa: N805 (upstream: a plain function called on the class)
            cmd._export_format = "madevent"
            cmd._export_plugin = FortranExporterBridge
            args.append("--hel_recycling=False")
            args.append("--me_exporter=standalone_simd")
            if "vector_size" not in "".join(args):
                args.append("--vector_size=16")
            if "nb_wrap" not in "".join(args):
                args.append("--nb_wrap=1")
            return args

    class GPU_ProcessExporter(PLUGIN_ProcessExporter_MadEvent):
        pass

    export_v4 = _module(
        "madgraph.iolibs.export_v4",
        VirtualExporter=VirtualExporter,
        ProcessExporterFortranMEGroup=ProcessExporterFortranMEGroup,
        _file_path="",
    )
    export_cpp = _module(
        "madgraph.iolibs.export_cpp",
        ProcessExporterCPP=ProcessExporterCPP,
        ProcessExporterGPU=ProcessExporterGPU,
    )
    output = _module(
        "PLUGIN.CUDACPP_OUTPUT.output",
        PLUGIN_ProcessExporter=PLUGIN_ProcessExporter,
        PLUGIN_ProcessExporter_MadEvent=PLUGIN_ProcessExporter_MadEvent,
        SIMD_ProcessExporter=SIMD_ProcessExporter,
        GPU_ProcessExporter=GPU_ProcessExporter,
        FortranExporterBridge=FortranExporterBridge,
    )
    cudacpp = _module(
        "PLUGIN.CUDACPP_OUTPUT",
        output=output,
        new_output={"madevent_simd": SIMD_ProcessExporter, "standalone_simd": SIMD_ProcessExporter},
    )
    iolibs = _module("madgraph.iolibs", export_v4=export_v4, export_cpp=export_cpp)
    return {
        "madgraph": _module("madgraph", iolibs=iolibs),
        "madgraph.iolibs": iolibs,
        "madgraph.iolibs.export_v4": export_v4,
        "madgraph.iolibs.export_cpp": export_cpp,
        "PLUGIN": _module("PLUGIN", CUDACPP_OUTPUT=cudacpp),
        "PLUGIN.CUDACPP_OUTPUT": cudacpp,
        "PLUGIN.CUDACPP_OUTPUT.output": output,
    }


def _forget_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("mlgen_madgraph5")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.fixture
def mg5(monkeypatch: pytest.MonkeyPatch) -> tuple[types.ModuleType, Recorder, dict[str, types.ModuleType]]:
    """The plugin imported inside stand-in MadGraph5 and CUDACPP modules."""
    record = Recorder()
    modules = _stand_ins(record)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    _forget_plugin(monkeypatch)
    return importlib.import_module("mlgen_madgraph5"), record, modules


class Cmd:
    """What MadGraph5's command object carries into an output (``_export_format``, ``_export_plugin``)."""

    def __init__(self, export_dir: Path) -> None:
        self._export_dir = str(export_dir)
        self._export_format = ""
        self._export_plugin: Any = None
        self.options: dict[str, Any] = {}


def output(plugins: list[types.ModuleType], line: str, cmd: Cmd) -> None:
    """``output FORMAT DIR ARGS`` as MadGraph5 3.7's ``do_output`` runs a PLUGIN format (read in its
    ``check_output``, ``do_output``, ``export``, ``finalize``, ``export_v4.ExportV4Factory`` and
    ``export_cpp.ExportCPPFactory``), for one subprocess group."""

    def from_plugin_import(name: str) -> Any:  # misc.from_plugin_import over the PLUGIN folder
        return next(p.new_output[name] for p in plugins if name in p.new_output)

    args = line.split()
    output_cls = from_plugin_import(args.pop(0))  # check_output
    cmd._export_format, cmd._export_plugin = "plugin", output_cls
    args.pop(0)  # the directory (already cmd._export_dir)
    if hasattr(output_cls, "change_output_args"):
        args[:] = output_cls.change_output_args(args, cmd)
    flaglist = [f"me_exporter={a.split('=', 1)[1]}" for a in args if a.startswith("--me_exporter=")]
    me_name = flaglist[0].split("=", 1)[1]
    me_cls = from_plugin_import(me_name)
    assert cmd._export_format == "madevent" and me_cls.exporter in ("cpp", "gpu")
    curr = cmd._export_plugin(cmd._export_dir, dict(cmd.options))  # ExportV4Factory, madevent grouped
    cmd._export_plugin = me_cls
    me_curr = cmd._export_plugin(cmd._export_dir, dict(cmd.options))  # ExportCPPFactory, a plugin format
    curr.pass_information_from_cmd(cmd)
    me_curr.pass_information_from_cmd(cmd)
    curr.copy_template(None)
    me_curr.copy_template(None)
    me_curr.in_madevent_mode = True
    curr.export_processes(["P1 group"], None, second_exporter=me_curr, second_helas=None)
    curr.convert_model(None, [], [])
    me_curr.convert_model(None, [], [])
    curr.finalize(["P1 group"], "history", cmd.options, flaglist, second_exporter=me_curr)


def test_import_without_madgraph5_says_what_is_missing_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _forget_plugin(monkeypatch)
    monkeypatch.setitem(sys.modules, "madgraph", None)  # import madgraph -> ModuleNotFoundError
    with pytest.raises(ImportError) as err:
        importlib.import_module("mlgen_madgraph5")
    assert "\n" not in str(err.value) and "'madgraph'" in str(err.value) and "mg5_aMC" in str(err.value)
    # MadGraph5 without its CUDACPP plugin
    record = Recorder()
    modules = _stand_ins(record)
    for name in ("madgraph", "madgraph.iolibs", "madgraph.iolibs.export_v4", "madgraph.iolibs.export_cpp"):
        monkeypatch.setitem(sys.modules, name, modules[name])
    for name in ("PLUGIN", "MG5aMC_PLUGIN"):
        monkeypatch.setitem(sys.modules, name, None)
    _forget_plugin(monkeypatch)
    with pytest.raises(ImportError) as err:
        importlib.import_module("mlgen_madgraph5")
    assert "\n" not in str(err.value) and "CUDACPP_OUTPUT" in str(err.value)


def test_output_mlgen_is_cudacpp_madevent_output_that_mlgen_runs(
    mg5, mad_dirs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugin, record, modules = mg5
    cudacpp = modules["PLUGIN.CUDACPP_OUTPUT.output"]
    assert (
        issubclass(plugin.new_output["mlgen"], cudacpp.SIMD_ProcessExporter) and plugin.new_interface is None
    )
    assert (
        plugin.minimal_mg5amcnlo_version
        <= plugin.latest_validated_version
        <= plugin.maximal_mg5amcnlo_version
    )
    # check_output: CUDACPP's MadEvent SIMD arguments, this plugin as the matrix-element exporter
    cmd = Cmd(tmp_path / "gg_tt")
    args = plugin.MlgenExporter.change_output_args(["--vector_size=32"], cmd)
    assert cmd._export_format == "madevent" and cmd._export_plugin is cudacpp.FortranExporterBridge
    assert args == ["--vector_size=32", "--hel_recycling=False", "--me_exporter=mlgen", "--nb_wrap=1"]

    record.source = mad_dirs / "gg_tt.mad"
    with caplog.at_level(logging.INFO, logger="madgraph.PLUGIN.mlgen"):
        output([plugin, modules["PLUGIN.CUDACPP_OUTPUT"]], f"mlgen {cmd._export_dir}", cmd)
    root = Path(cmd._export_dir)
    # CUDACPP's hooks, in MadGraph5's order, and CUDACPP's finalize in MadEvent mode before mlgen's files
    me_calls = [(method, detail) for name, method, detail in record.calls if name == "MlgenExporter"]
    assert me_calls == [
        ("__init__", str(root)),
        ("pass_information_from_cmd", None),
        ("copy_template", None),
        ("generate_subprocess_directory", 0),
        ("convert_model", None),
        ("finalize", {"in_madevent_mode": True, "mlgen_files_yet": False}),
    ]
    assert [c[:2] for c in record.calls if c[0] == "FortranExporterBridge"][-1] == (
        "FortranExporterBridge",
        "finalize",
    )
    # the directory is MadGraph5's output plus bin/mlgen_launch, nothing else
    written = {p.relative_to(root) for p in root.rglob("*")}
    original = {p.relative_to(record.source) for p in record.source.rglob("*")}
    assert written - original == {Path("bin/mlgen_launch")} and original <= written
    assert [r.levelname for r in caplog.records] == ["INFO"]  # no warning on a directory mlgen runs
    # mlgen run takes it as it stands (nothing built): the run card's cudacpp_backend = cpp lets mlgen
    # choose the machine's backend
    assert is_process_dir(root)
    run = load_process_dir(root)
    assert run.card.process.matrix_element == "madgraph" and "backend" not in run.card.process.options
    assert run.run_name == "run_01" and run.run_card["cudacpp_backend"] == "cpp"


def test_launcher_runs_mlgen_run_in_the_directory(mg5, tmp_path: Path) -> None:
    plugin, _, _ = mg5
    from mlgen_madgraph5.process_dir import write_launcher

    fake_python = tmp_path / "bin with space" / "python"
    fake_python.parent.mkdir()
    fake_python.write_text('#!/bin/sh\necho "$PWD" "$@"\n')
    fake_python.chmod(0o755)
    root = tmp_path / "proc"
    (root / "bin").mkdir(parents=True)
    launcher = write_launcher(root, str(fake_python))
    assert launcher.stat().st_mode & 0o777 == 0o755
    out = subprocess.run(
        [str(launcher), "dynamical_scale_choice=3"], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [str(root), "-m", "mlgen", "run", ".", "dynamical_scale_choice=3"]
    # where that interpreter is gone: mlgen on PATH
    fake_python.unlink()
    mlgen = tmp_path / "bin with space" / "mlgen"
    mlgen.write_text('#!/bin/sh\necho mlgen "$@"\n')
    mlgen.chmod(0o755)
    env = {**os.environ, "PATH": f"{mlgen.parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([str(launcher)], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["mlgen", "run", "."]


def test_output_warns_when_mlgen_run_would_stop(
    mg5, mad_dirs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugin, record, modules = mg5
    record.source = mad_dirs / "gg_ttg.mad"  # its run card's dynamical_scale_choice = -1 on a 2 -> 3 process
    cmd = Cmd(tmp_path / "gg_ttg")
    with caplog.at_level(logging.INFO, logger="madgraph.PLUGIN.mlgen"):
        output([plugin, modules["PLUGIN.CUDACPP_OUTPUT"]], f"mlgen {cmd._export_dir}", cmd)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "run_card.dat" in warnings[0] and "dynamical_scale_choice" in warnings[0]
    assert (Path(cmd._export_dir) / "bin" / "mlgen_launch").is_file()  # written all the same: edit the card
    assert load_process_dir(cmd._export_dir, ["dynamical_scale_choice=3"]).run_name == "run_01"


def test_finalize_outside_madevent_mode_is_refused(mg5, tmp_path: Path) -> None:
    plugin, _, _ = mg5
    exporter = plugin.MlgenExporter(str(tmp_path), {})
    with pytest.raises(RuntimeError, match="MadEvent mode"):
        exporter.finalize([], "history", {}, [])
    assert not (tmp_path / "bin").exists()


def test_an_older_cudacpp_that_does_not_set_up_madevent_is_refused(
    mg5, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin, _, modules = mg5
    simd = modules["PLUGIN.CUDACPP_OUTPUT.output"].SIMD_ProcessExporter

    def madevent_format_only(args, cmd):  # noqa: N805 (an older CUDACPP: no Fortran exporter of its own)
        cmd._export_format = "madevent"
        return [*args, "--hel_recycling=False", "--me_exporter=standalone_simd"]

    monkeypatch.setattr(simd, "change_output_args", madevent_format_only)
    cmd = Cmd(Path("unused"))
    cmd._export_plugin = plugin.MlgenExporter  # what check_output sets before calling it
    with pytest.raises(RuntimeError, match="82c6b1b"):
        plugin.MlgenExporter.change_output_args([], cmd)
