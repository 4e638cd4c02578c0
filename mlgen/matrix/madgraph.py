"""MadGraph5 standalone matrix elements (``output standalone``, then ``make allmatrix2py.so``) in mlgen.

MadGraph5 builds, in ``PROC_DIR/SubProcesses``, a Python extension module
(``all_matrix2py``; ``allmatrix2py`` in old trees) with

* ``initialise(param_card_path)``: reads the parameter card (and ``./Cards/ident_card.dat``
  relative to the working directory, so it is called from ``PROC_DIR``);
* ``get_pdg_order()``: the PDG ids of every subprocess, incoming first;
* ``smatrixhel(pdgs, procid, p, alphas, scale2, nhel)``: ``|M|^2`` of one phase-space
  point, ``p`` a float64 ``(4, nexternal)`` array in Fortran order (rows E, px, py, pz),
  ``procid <= 0`` for any process, ``scale2 = 0`` to take ``alphas`` as given,
  ``nhel = -1`` to sum over helicities.

:class:`MadGraphStandalone` wraps it into mlgen's protocol: a batch of momenta
becomes one ``smatrixhel`` call per event and subprocess (the Fortran code is
per event; this loop is the cost of the route, a few microseconds per call
on top of the matrix element itself), ``alpha_s`` is passed per event, and the
subprocesses can be selected by PDG list. What MadGraph's standalone output
does not say, the card does: external masses, colour flows for the event record, and the
s-channel propagators for the phase-space channels. (MadGraph5's CUDACPP output is the other
route, with all of these read from the directory: :mod:`mlgen.matrix.mg5`.)
"""

from __future__ import annotations

__all__ = ["MadGraphStandalone", "load_standalone_module"]

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mlgen.matrix.base import ColourFlow, Resonance, Subprocess
from mlgen.matrix.user import check_values
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import MG5_SM

_MODULE_NAMES = ("all_matrix2py", "allmatrix2py", "matrix2py")
_QUARKS = {1, 2, 3, 4, 5, 6}


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load_standalone_module(process_dir: Path, module: str | None = None) -> ModuleType:
    """Import the compiled standalone module of ``process_dir`` (looked for in ``SubProcesses/``)."""
    sub = process_dir / "SubProcesses"
    names = (module,) if module else _MODULE_NAMES
    for name in names:
        for candidate in sorted(sub.glob(f"{name}*.so")) + sorted(sub.glob(f"{name}.py")):
            spec = importlib.util.spec_from_file_location(name, candidate)
            if spec is None or spec.loader is None:
                continue
            mod = importlib.util.module_from_spec(spec)
            sys.modules[f"mlgen_mg5_{abs(hash(str(candidate)))}"] = mod
            spec.loader.exec_module(mod)
            return mod
    raise ValueError(
        f"{sub}: no compiled standalone module ({' or '.join(n + '*.so' for n in names)}); "
        f"build it with 'cd {sub} && make allmatrix2py.so' (needs gfortran and numpy's f2py with meson)"
    )


def _default_colour(pdgs: Sequence[int]) -> tuple[ColourFlow, ...]:
    """The colour flow when it is unique: no gluons and at most one quark line.

    A quark carries the line's colour and an antiquark its anticolour, incoming or
    outgoing alike (LHE convention: the tags of an incoming parton are its own).
    """
    quarks = [pdg for pdg in pdgs if abs(pdg) in _QUARKS]
    if any(pdg == 21 for pdg in pdgs) or len(quarks) > 2:
        return ()
    return (tuple(((1, 0) if pdg > 0 else (0, 1)) if abs(pdg) in _QUARKS else (0, 0) for pdg in pdgs),)


class MadGraphStandalone:
    """A MadGraph5 standalone process directory as an mlgen matrix element.

    Arguments:
        path: the process directory (``output standalone PATH``).
        param_card: parameter card, relative to ``path`` (default ``Cards/param_card.dat``).
        masses: external masses in GeV, in MadGraph's particle order.
        subprocesses: PDG lists to keep (default: every subprocess of ``get_pdg_order()``).
        colour: one colour flow per kept subprocess (needed for gluons or several quark lines).
        propagators: s-channel propagators ``{daughters, mass, width, pdg}`` for the channels.
        module: the module name, if not one of ``all_matrix2py``, ``allmatrix2py``, ``matrix2py``.
        base_dir: directory relative paths are taken from (the card's).
    """

    def __init__(
        self,
        path: str,
        *,
        masses: Sequence[float],
        param_card: str = "Cards/param_card.dat",
        subprocesses: Sequence[Sequence[int]] | None = None,
        colour: Sequence[Sequence[Sequence[int]]] | None = None,
        propagators: Sequence[dict[str, Any]] = (),
        module: str | None = None,
        base_dir: Path | None = None,
        name: str = "",
    ) -> None:
        root = Path(path)
        if not root.is_absolute() and base_dir is not None:
            root = base_dir / root
        if not root.is_dir():
            raise ValueError(f"path: {root} is not a MadGraph5 process directory")
        card = root / param_card
        if not card.is_file():
            raise ValueError(f"param_card: no file {card}")
        self.module = load_standalone_module(root, module)
        with _cwd(root):
            self.module.initialise(str(card))
        order = [tuple(int(x) for x in row) for row in np.atleast_2d(np.asarray(self.module.get_pdg_order()))]
        keep = order if subprocesses is None else [tuple(int(x) for x in s) for s in subprocesses]
        missing = [list(s) for s in keep if s not in order]
        if missing:
            raise ValueError(
                f"subprocesses: {missing} not in the module's get_pdg_order() {[list(o) for o in order]}"
            )
        n = len(keep[0])
        if len(masses) != n:
            raise ValueError(f"masses: expected {n} values in MadGraph's particle order, got {len(masses)}")
        flows: list[tuple[ColourFlow, ...]] = []
        for i, pdgs in enumerate(keep):
            if colour is not None:
                flows.append((tuple((int(a), int(b)) for a, b in colour[i]),))
                continue
            flow = _default_colour(pdgs)
            coloured = any(abs(p) in _QUARKS or p == 21 for p in pdgs)
            if coloured and not flow:
                raise ValueError(
                    f"colour: subprocess {list(pdgs)} needs its colour flow "
                    "([colour, anticolour] per particle)"
                )
            flows.append(flow)
        self.name = name or f"MadGraph5 standalone {root.name}"
        self.path = root
        self.subprocesses = tuple(Subprocess(s, f) for s, f in zip(keep, flows))
        self._pdgs = [np.asarray(s, dtype=np.int32) for s in keep]
        self.masses = tuple(float(m) for m in masses)
        self.propagators = tuple(
            Propagator(
                tuple(p["daughters"]), float(p["mass"]), float(p.get("width", 0.0)), int(p.get("pdg", 0))
            )
            for p in propagators
        )
        self.resonances = tuple(Resonance(p.pdg, p.daughters) for p in self.propagators if p.pdg)
        self.alpha_s_ref = MG5_SM.alpha_s_mz

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        moms = p.detach().to("cpu", torch.float64).numpy()
        alphas = (
            np.full(len(moms), self.alpha_s_ref)
            if alpha_s is None
            else alpha_s.detach().cpu().double().numpy()
        )
        out = np.zeros((len(moms), len(self._pdgs)))
        smatrixhel = self.module.smatrixhel
        for i in range(len(moms)):
            # (nexternal, 4) -> (4, nexternal) in Fortran order, as smatrixhel expects
            point = np.asfortranarray(moms[i].T)
            for k, pdgs in enumerate(self._pdgs):
                out[i, k] = smatrixhel(pdgs, -1, point, float(alphas[i]), 0.0, -1)
        result = torch.from_numpy(out).to(p.device)
        check_values(result, self.name)
        return result

    def colour_weights(self, p: Tensor) -> Tensor | None:
        return None
