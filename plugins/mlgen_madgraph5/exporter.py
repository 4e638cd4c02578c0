"""The ``mlgen`` output format: MadGraph5's CUDACPP MadEvent output, plus ``bin/mlgen_launch``.

Derived from the MadEvent SIMD exporter of the CUDACPP_OUTPUT plugin that MG5_aMC 3.6+ ships
(``PLUGIN.CUDACPP_OUTPUT.output.SIMD_ProcessExporter``; ``MG5aMC_PLUGIN.CUDACPP_OUTPUT`` in a
madgraph4gpu developer tree), used the way MadGraph5 uses it for ``output madevent_simd DIR``:

1. ``check_output`` finds :class:`MlgenExporter` in this plugin's ``new_output`` and calls its
   ``change_output_args(args, cmd)``. CUDACPP's turns the output into a MadEvent one
   (``cmd._export_format = 'madevent'``, its Fortran exporter ``FortranExporterBridge`` as
   ``cmd._export_plugin``, ``--me_exporter=standalone_simd``, ``--vector_size=16``, ...); this one
   keeps all of that and names ``mlgen`` as the matrix-element exporter instead of
   ``standalone_simd``, so the second exporter is this class.
2. ``do_output`` makes it with ``cmd._export_plugin(dir, opt)`` (``export_cpp.ExportCPPFactory``),
   then calls ``pass_information_from_cmd``, ``copy_template``, and, in MadEvent mode
   (``in_madevent_mode = True``), ``generate_subprocess_directory`` per subprocess group,
   ``convert_model``: all CUDACPP's, unchanged.
3. The Fortran exporter's ``finalize`` ends with ``second_exporter.finalize(matrix_elements,
   history, mg5options, flaglist)``: CUDACPP's finalize runs first (makefile wrapper,
   ``coupl_write.inc`` patch, ``bin/internal/launch_plugin.py``, ``CUDACPP_VERSION.txt``), then
   mlgen's files are written (:mod:`.process_dir`) and the directory is read as ``mlgen run`` reads it;
   what would stop that run is logged as a warning naming the file and setting.

MadGraph5's and CUDACPP's modules are imported when this module is, and only here: without them
the import stops with one line saying what is missing.
"""

from __future__ import annotations

__all__ = ["MlgenExporter", "cudacpp_output"]

import importlib
import logging
import sys
from types import ModuleType
from typing import Any

from .process_dir import add_mlgen_files

#: where MadGraph5 puts the CUDACPP plugin: its PLUGIN folder (MG5_aMC 3.6+) or a madgraph4gpu tree
CUDACPP_PACKAGES = ("PLUGIN.CUDACPP_OUTPUT", "MG5aMC_PLUGIN.CUDACPP_OUTPUT")
#: the matrix-element exporter CUDACPP's ``change_output_args`` names, and the one put in its place
CUDACPP_ME_EXPORTER = "--me_exporter=standalone_simd"
MLGEN_ME_EXPORTER = "--me_exporter=mlgen"

logger = logging.getLogger("madgraph.PLUGIN.mlgen")


def cudacpp_output() -> ModuleType:
    """The CUDACPP plugin's ``output`` module, as MadGraph5 has loaded it or importing it.

    Raises:
        ImportError: one line, when MadGraph5 (``madgraph``) or its CUDACPP_OUTPUT plugin is missing.
    """
    try:
        importlib.import_module("madgraph")
    except ModuleNotFoundError:
        raise ImportError(
            "mlgen_madgraph5 is a MadGraph5_aMC@NLO PLUGIN: it loads inside mg5_aMC (>= 3.7.1), where "
            "'madgraph' imports; to run a process directory without MadGraph5 use `mlgen run DIR`"
        ) from None
    for package in CUDACPP_PACKAGES:
        if f"{package}.output" in sys.modules:
            return sys.modules[f"{package}.output"]
    for package in CUDACPP_PACKAGES:
        try:
            return importlib.import_module(f"{package}.output")
        except ModuleNotFoundError as err:
            if not err.name or not f"{package}.output".startswith(err.name):
                raise  # the plugin is there but something it imports is not: MadGraph5 shows why
    raise ImportError(
        "mlgen_madgraph5: MadGraph5's CUDACPP_OUTPUT plugin is not importable (as "
        f"{' or '.join(CUDACPP_PACKAGES)}); `output mlgen` writes its MadEvent SIMD output "
        "(MG5_aMC 3.6+ ships it in PLUGIN/CUDACPP_OUTPUT)"
    )


_cudacpp = cudacpp_output()
SIMD_ProcessExporter: Any = _cudacpp.SIMD_ProcessExporter  # noqa: N816 (CUDACPP's name)


class MlgenExporter(SIMD_ProcessExporter):
    """``output mlgen DIR``: the directory ``output madevent_simd DIR`` writes, plus ``bin/mlgen_launch``."""

    @staticmethod
    def change_output_args(args: list[str], cmd: Any) -> list[str]:
        """CUDACPP's MadEvent SIMD output, with this class as the matrix-element exporter."""
        args = list(SIMD_ProcessExporter.change_output_args(args, cmd))
        if CUDACPP_ME_EXPORTER not in args or cmd._export_plugin is MlgenExporter:
            raise RuntimeError(
                "output mlgen: the CUDACPP plugin's SIMD_ProcessExporter.change_output_args did not set up "
                f"a MadEvent output ({CUDACPP_ME_EXPORTER} and its Fortran exporter); this plugin is "
                "written for the CUDACPP_OUTPUT of MG5_aMC 3.7.1 (madgraph4gpu 82c6b1b)"
            )
        return [MLGEN_ME_EXPORTER if arg == CUDACPP_ME_EXPORTER else arg for arg in args]

    def finalize(self, matrix_element: Any, cmdhistory: Any, MG5options: Any, outputflag: Any) -> Any:  # noqa: N803 (as CUDACPP names them)
        if not getattr(self, "in_madevent_mode", False):
            raise RuntimeError(
                f"output mlgen {self.dir_path}: MadGraph5 did not run the CUDACPP exporter in MadEvent mode; "
                "mlgen runs MadEvent directories (MG5_aMC >= 3.7.1 with its CUDACPP_OUTPUT plugin)"
            )
        out = super().finalize(matrix_element, cmdhistory, MG5options, outputflag)
        launcher, refusal = add_mlgen_files(self.dir_path, sys.executable)
        logger.info("mlgen: %s runs `mlgen run .` on this directory", launcher)
        if refusal is not None:
            logger.warning("mlgen: `mlgen run .` would stop as the directory stands: %s", refusal)
        return out
