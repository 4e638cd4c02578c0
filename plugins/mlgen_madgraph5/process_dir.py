"""What ``output mlgen`` adds to a MadGraph5 CUDACPP MadEvent directory (no MadGraph5 import here).

The directory MadGraph5 writes for ``output madevent_simd DIR`` already holds everything
``mlgen run DIR`` reads (:mod:`mlgen.mg5_run`): the C++ matrix element of
``SubProcesses/P1_*`` (built by :mod:`mlgen.matrix.mg5.build`), the process's parameters
(``Cards/param_card.dat``), MadEvent's channels (``configs.inc``, ``coloramps.h``) and the run
card (``Cards/run_card.dat``). mlgen adds one file, ``bin/mlgen_launch``: it runs ``mlgen run .``
on the directory, as ``bin/generate_events`` runs MadEvent on it.

The run card's ``cudacpp_backend`` is left as the CUDACPP exporter writes it, ``cpp``: MadEvent
takes it as the widest SIMD of the CPU, mlgen as the fastest backend of the machine the run is on
(``cuda`` with an NVIDIA GPU and ``nvcc``, else the widest SIMD), so one directory runs on either
machine; a named backend (``cppavx2``, ``cuda``, ...) fixes it for both.
"""

from __future__ import annotations

__all__ = ["LAUNCHER", "add_mlgen_files", "mlgen_refusal", "write_launcher"]

import os
import shlex
from pathlib import Path

from mlgen.atomic import temporary_beside

#: the launcher's place in the process directory
LAUNCHER = Path("bin") / "mlgen_launch"

_LAUNCHER_TEXT = """#!/bin/sh
# Written by the mlgen MadGraph5 PLUGIN (output mlgen): run this MadEvent directory with mlgen, as
# bin/generate_events runs it with MadEvent. mlgen reads Cards/run_card.dat (beams, PDF, scales,
# cuts, nevents, iseed, cudacpp_backend), Cards/param_card.dat and the C++ matrix element and
# channels of SubProcesses/P1_*, and writes Events/run_NN/unweighted_events.lhe.gz with MadEvent's
# banner. Arguments go to `mlgen run .`: run-card settings as name=value
# (dynamical_scale_choice=3), mlgen card keys as table.key=value (integrator.kind=flow).
cd "$(dirname "$0")/.." || exit 1
if [ -x {python} ]; then
  exec {python} -m mlgen run . "$@"
fi
exec mlgen run . "$@"
"""


def write_launcher(proc_dir: str | Path, python: str) -> Path:
    """Write ``bin/mlgen_launch`` (executable) into ``proc_dir``; returns its path.

    Arguments:
        proc_dir: the MadEvent process directory.
        python: the interpreter that runs ``-m mlgen`` (the one MadGraph5 loaded the plugin in, where
            mlgen imports); where it is gone, ``mlgen`` on ``PATH`` runs instead.
    """
    path = Path(proc_dir) / LAUNCHER
    tmp = temporary_beside(path)  # not mlgen.atomic.publish: it makes the file 0644, not executable
    try:
        tmp.write_text(_LAUNCHER_TEXT.format(python=shlex.quote(python)))
        tmp.chmod(0o755)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def mlgen_refusal(proc_dir: str | Path) -> str | None:
    """Why ``mlgen run proc_dir`` would stop before building anything, as it stands; ``None`` if it would
    run. Reads the directory the way ``mlgen run`` does (:func:`mlgen.mg5_run.load_process_dir`:
    one ``P1_*`` with a ``CPPProcess.cc``, the process's particles and masses, the run card translated)
    and builds nothing."""
    from mlgen.cards.validate import CardError
    from mlgen.mg5_run import load_process_dir

    try:
        load_process_dir(proc_dir)
    except CardError as err:
        return str(err)
    return None


def add_mlgen_files(proc_dir: str | Path, python: str) -> tuple[Path, str | None]:
    """Add mlgen's files to a CUDACPP MadEvent directory: ``(launcher path, mlgen_refusal(proc_dir))``."""
    return write_launcher(proc_dir, python), mlgen_refusal(proc_dir)
