"""A user's own squared matrix element, wrapped into mlgen's matrix-element protocol.

The user writes only ``|M|^2`` as a function of the momenta; the card (or the
Python call) says what the external particles are::

    [process]
    matrix_element = "my_me.py:amp2"          # or "package.module:amp2"

    [process.user]
    subprocesses = [[11, -11, 13, -13]]       # PDG ids, the two incoming first
    kind = "torch"                            # "torch" | "numpy" | "event"
    masses = [0.0, 0.0, 0.0, 0.0]             # optional (default: massless)
    colour = [[[0, 0], [0, 0], [0, 0], [0, 0]]]   # optional, one flow per subprocess
    propagators = [{ daughters = [2, 3], mass = 750.0, width = 20.0, pdg = 35 }]

``kind`` says how the function is called:

* ``torch``: ``f(p)`` or ``f(p, alpha_s)`` on a batch, ``p`` a ``(B, n, 4)`` float64
  tensor on the run's device; returns ``(B,)`` (one subprocess) or ``(B, K)``;
* ``numpy``: the same with numpy arrays on the CPU;
* ``event``: ``f(p)`` on one event, ``p`` an ``(n, 4)`` numpy array, returning a float;
  mlgen loops over the batch (a Python loop: fine for a test or a slow external
  code, too slow for a production run with a cheap matrix element).

Propagators feed the phase-space map and the multi-channel sampler (one channel
per propagator topology); those with a non-zero ``pdg`` are also written to the
event record as intermediate resonances (status 2).
"""

from __future__ import annotations

__all__ = ["KINDS", "UserMatrixElement", "check_values"]

import inspect
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from mlgen.matrix.base import ColourFlow, Resonance, Subprocess
from mlgen.physics.propagators import Propagator

#: How a user function is called.
KINDS = ("torch", "numpy", "event")

_COLOURED = {1, 2, 3, 4, 5, 6, 21}


def check_values(me2: Tensor, name: str) -> None:
    """Stop on ``|M|^2`` values that are not finite or negative, naming the matrix element."""
    bad = ~torch.isfinite(me2)
    if bool(bad.any()):
        raise ValueError(f"{name}: returned {int(bad.sum())} non-finite |M|^2 values (of {me2.numel()})")
    neg = me2 < 0
    if bool(neg.any()):
        raise ValueError(
            f"{name}: returned {int(neg.sum())} negative |M|^2 values (smallest {float(me2.min()):.3g}); "
            "a squared matrix element is >= 0"
        )


class UserMatrixElement:
    """``|M|^2`` from a user's function; see the module docstring.

    Arguments:
        function: the user's ``|M|^2``.
        subprocesses: PDG ids per subprocess (each list: two incoming, then outgoing).
        kind: ``"torch"``, ``"numpy"`` or ``"event"``.
        masses: external masses in GeV (default: all zero).
        colour: one colour flow per subprocess (``(colour, anticolour)`` per particle);
            required when a subprocess has quarks or gluons.
        propagators: s-channel propagators (``daughters`` index the external particles).
        name: a label.
    """

    def __init__(
        self,
        function: Callable[..., object],
        subprocesses: Sequence[Sequence[int]],
        *,
        kind: str = "torch",
        masses: Sequence[float] | None = None,
        colour: Sequence[Sequence[Sequence[int]]] | None = None,
        propagators: Sequence[Propagator] = (),
        name: str = "",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        if not subprocesses:
            raise ValueError("subprocesses: expected at least one list of PDG ids")
        n = len(subprocesses[0])
        if n < 3 or any(len(s) != n for s in subprocesses):
            raise ValueError(
                f"subprocesses: expected lists of the same length >= 3, got {list(subprocesses)}"
            )
        if masses is None:
            masses = [0.0] * n
        if len(masses) != n:
            raise ValueError(f"masses: expected {n} values (one per external particle), got {len(masses)}")
        flows: list[tuple[ColourFlow, ...]] = []
        for i, pdgs in enumerate(subprocesses):
            if colour is None:
                coloured = [pdg for pdg in pdgs if abs(pdg) in _COLOURED]
                if coloured:
                    raise ValueError(
                        f"colour: subprocess {list(pdgs)} has coloured partons {coloured}; "
                        "give its colour flow "
                        "as [[colour, anticolour], ...] per particle (e.g. u u~: [[1, 0], [0, 1], ...])"
                    )
                flows.append(())
                continue
            if len(colour) != len(subprocesses) or len(colour[i]) != n:
                raise ValueError(
                    f"colour: expected one flow of {n} [colour, anticolour] pairs per subprocess"
                )
            flows.append((tuple((int(a), int(b)) for a, b in colour[i]),))
        for prop in propagators:
            if min(prop.daughters) < 2 or max(prop.daughters) >= n:
                raise ValueError(
                    f"propagators: daughters {prop.daughters} must index outgoing particles 2..{n - 1}"
                )
        self.function = function
        self.kind = kind
        self.name = name or getattr(function, "__name__", "user matrix element")
        self.subprocesses = tuple(
            Subprocess(tuple(int(x) for x in s), f) for s, f in zip(subprocesses, flows)
        )
        self.masses = tuple(float(m) for m in masses)
        self.propagators = tuple(propagators)
        self.resonances = tuple(Resonance(p.pdg, p.daughters) for p in self.propagators if p.pdg)
        try:
            params = inspect.signature(function).parameters
            self._takes_alpha_s = len(params) >= 2
        except (TypeError, ValueError):
            self._takes_alpha_s = False

    def _call(self, p: Tensor, alpha_s: Tensor | None) -> object:
        if self.kind == "torch":
            return self.function(p, alpha_s) if self._takes_alpha_s else self.function(p)
        p_np = p.detach().cpu().numpy()
        a_np = None if alpha_s is None else alpha_s.detach().cpu().numpy()
        if self.kind == "numpy":
            return self.function(p_np, a_np) if self._takes_alpha_s else self.function(p_np)
        if self._takes_alpha_s:
            out = [self.function(p_np[i], None if a_np is None else float(a_np[i])) for i in range(len(p_np))]
        else:
            out = [self.function(p_np[i]) for i in range(len(p_np))]
        return np.asarray(out, dtype=np.float64)

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        out = self._call(p, alpha_s)
        out = torch.as_tensor(out, dtype=torch.float64, device=p.device)
        if out.ndim == 1:
            out = out[:, None]
        k = len(self.subprocesses)
        if out.shape != (p.shape[0], k):
            raise ValueError(
                f"{self.name}: returned shape {tuple(out.shape)}, "
                f"expected ({p.shape[0]},) or ({p.shape[0]}, {k})"
            )
        check_values(out, self.name)
        return out

    def colour_weights(self, p: Tensor) -> Tensor | None:
        return None
