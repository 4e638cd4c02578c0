"""What the mlgen output format adds to a MadGraph5 standalone process directory (no MadGraph5 import here).

``write_mlgen_files`` writes, into ``PROC_DIR``:

* ``Cards/mlgen_card.toml``: an mlgen run card whose matrix element is the
  directory's compiled standalone module (``matrix_element = "madgraph"``), with
  the external masses (from the parameter card's ``MASS`` block), the s-channel
  propagators of the diagrams (for mlgen's phase-space channels, masses and
  widths from the ``MASS`` and ``DECAY`` blocks), beams, PDFs and a
  multi-channel flow integrator;
* ``bin/mlgen_launch``: in a CUDACPP directory with ``Cards/run_card.dat`` (MadEvent output
  with C++ matrix elements) runs ``mlgen run .``, the run card's route
  (:mod:`mlgen.mg5_run`); otherwise builds the Python module if it is missing and runs
  ``mlgen run Cards/mlgen_card.toml`` (arguments are passed on).

``s_channel_propagators`` reads the propagators off MadGraph5 diagrams through
the ``get()`` interface of its base objects (diagram → vertices → legs with
``number``, ``id``, ``state``); it needs nothing else from MadGraph5.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mlgen.atomic import write_text
from mlgen.physics.slha import read_slha

HADRONS = {1, 2, 3, 4, 5, 21, -1, -2, -3, -4, -5}


def s_channel_propagators(diagrams: Iterable[Any], n_initial: int = 2) -> list[tuple[int, tuple[int, ...]]]:
    """``(pdg, daughters)`` of every s-channel propagator of the diagrams, daughters 0-based.

    In a MadGraph5 diagram each vertex but the last merges its legs into its last
    leg, which carries the smallest leg number of those merged; following the
    numbers gives the external legs behind every internal line. A line whose
    external legs are all final-state particles is an s-channel propagator.
    """
    found: dict[tuple[int, tuple[int, ...]], None] = {}
    for diagram in diagrams:
        behind: dict[int, frozenset[int]] = {}
        vertices = list(diagram.get("vertices"))
        for vertex in vertices[:-1]:
            legs = list(vertex.get("legs"))
            merged: frozenset[int] = frozenset()
            for leg in legs[:-1]:
                number = leg.get("number")
                merged |= behind.get(number, frozenset([number]))
            out = legs[-1]
            behind[out.get("number")] = merged
            if all(n > n_initial for n in merged) and len(merged) >= 2:
                found[(abs(out.get("id")), tuple(sorted(n - 1 for n in merged)))] = None
    return list(found)


def _toml_list(values: Sequence[Any]) -> str:
    return "[" + ", ".join(repr(v) if not isinstance(v, float) else f"{v:.10g}" for v in values) + "]"


def write_mlgen_files(
    proc_dir: str | Path,
    subprocesses: Sequence[Sequence[int]],
    propagators: Sequence[tuple[int, tuple[int, ...]]] = (),
    *,
    sqrt_s: float = 13000.0,
    pdf: str = "NNPDF23_lo_as_0130_qed",
    name: str = "",
) -> Path:
    """Write ``Cards/mlgen_card.toml`` and ``bin/mlgen_launch``; returns the card's path."""
    root = Path(proc_dir)
    cards = root / "Cards"
    param = read_slha(cards / "param_card.dat")
    first = list(subprocesses[0])
    masses = [abs(param.value("MASS", abs(pdg)) or 0.0) for pdg in first]
    hadronic = all(pdg in HADRONS for sub in subprocesses for pdg in sub[:2])
    beams = '["p", "p"]' if hadronic else '["e-", "e+"]' if first[0] == 11 else '["e+", "e-"]'
    lines = [
        f"# Written by the mlgen MadGraph5 plugin (output mlgen {root.name}); edit beams, cuts and budget.",
        "[process]",
        f'name = "{name or root.name}"',
        'matrix_element = "madgraph"',
        "",
        "[process.options]",
        'path = ".."',
        'param_card = "Cards/param_card.dat"',
        f"masses = {_toml_list(masses)}",
        "subprocesses = [" + ", ".join(_toml_list(list(s)) for s in subprocesses) + "]",
    ]
    props = []
    for pdg, daughters in propagators:
        mass = abs(param.value("MASS", pdg) or 0.0)
        width = param.decays.get(pdg, 0.0)
        props.append(
            f"{{ daughters = {_toml_list(list(daughters))}, mass = {mass:.10g}, "
            f"width = {width:.10g}, pdg = {pdg} }}"
        )
    lines.append("propagators = [" + ", ".join(props) + "]")
    lines += ["", "[beams]", f"particles = {beams}", f"sqrt_s = {sqrt_s:g}", ""]
    if hadronic:
        lines += ["[pdf]", f'set = "{pdf}"', ""]
    lines += [
        "[scales]",
        'mu_r = "fixed"',
        'mu_f = "fixed"',
        "value = 91.188",
        "",
        "# cuts: add [[cuts]] tables here (a massless final state needs an m or pt cut)",
        "",
        "[integrator]",
        f'kind = "{"multichannel" if len(propagators) > 1 else "flow"}"',
        "",
        "[events]",
        "n = 10000",
        "",
    ]
    card = cards / "mlgen_card.toml"
    write_text(card, "\n".join(lines))
    launch = root / "bin" / "mlgen_launch"
    launch.parent.mkdir(exist_ok=True)
    launch.write_text(
        "#!/bin/sh\n"
        "# A CUDACPP directory with a run card (MadEvent output with C++ matrix elements) runs as\n"
        "# MadEvent would: mlgen run . (Cards/run_card.dat, events in Events/run_NN). Otherwise build\n"
        "# the standalone Python module when it is missing and run Cards/mlgen_card.toml.\n"
        'cd "$(dirname "$0")/.." || exit 1\n'
        "if [ -f Cards/run_card.dat ] && ls SubProcesses/P*/CPPProcess.cc >/dev/null 2>&1; then\n"
        '  exec mlgen run . "$@"\n'
        "fi\n"
        "ls SubProcesses/all_matrix2py*.so SubProcesses/allmatrix2py*.so >/dev/null 2>&1 || "
        "(cd SubProcesses && make allmatrix2py.so) || exit 1\n"
        'exec mlgen run Cards/mlgen_card.toml "$@"\n'
    )
    launch.chmod(launch.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return card
