"""The ``mlgen`` output format for MadGraph5: standalone Fortran matrix elements plus an mlgen card.

Derived from MadGraph5's own standalone exporter (``export_v4.ProcessExporterFortranSA``),
so ``output mlgen DIR`` writes exactly what ``output standalone DIR`` writes, and
then, in ``finalize``, the files of :mod:`process_dir`. Only the hooks of
MadGraph5's ``VirtualExporter`` interface are used: ``__init__(dir_path, opt)``,
``pass_information_from_cmd(cmd)`` and ``finalize(matrix_elements, history,
mg5options, flaglist)``.
"""

from __future__ import annotations

from madgraph.iolibs import export_v4

from .process_dir import s_channel_propagators, write_mlgen_files


def _matrix_elements(matrix_elements):
    if hasattr(matrix_elements, "get_matrix_elements"):
        return list(matrix_elements.get_matrix_elements())
    return list(matrix_elements.get("matrix_elements"))


class MlgenExporter(export_v4.ProcessExporterFortranSA):
    """``output mlgen DIR``: a standalone directory that ``mlgen run`` (or ``bin/mlgen_launch``) runs."""

    grouped_mode = False  # one matrix element per subprocess, as mlgen's columns
    sa_symmetry = False  # keep u u~ and u~ u apart: the first PDG id belongs to beam A
    check = True
    output = "Template"
    exporter = "v4"

    def __init__(self, dir_path="", opt=None):
        opt = dict(opt or {})
        opt.setdefault("sa_symmetry", False)
        opt.setdefault("export_format", "standalone")
        super().__init__(dir_path, opt)

    def pass_information_from_cmd(self, cmd):
        super().pass_information_from_cmd(cmd)
        self.proc_defs = getattr(cmd, "_curr_proc_defs", None)

    def finalize(self, matrix_elements, history, mg5options, flaglist, *args, **opts):
        super().finalize(matrix_elements, history, mg5options, flaglist, *args, **opts)
        subprocesses, diagrams, names = [], [], []
        for me in _matrix_elements(matrix_elements):
            for proc in me.get("processes"):
                ids = [leg.get("id") for leg in proc.get("legs")]
                if ids not in subprocesses:
                    subprocesses.append(ids)
                names.append(proc.nice_string() if hasattr(proc, "nice_string") else str(ids))
            diagrams += list(me.get("base_amplitude").get("diagrams"))
        write_mlgen_files(
            self.dir_path,
            subprocesses,
            s_channel_propagators(diagrams),
            name=names[0].replace("Process:", "").strip() if names else "",
        )
