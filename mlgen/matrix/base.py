"""The matrix-element protocol.

A matrix element maps momenta ``p`` of shape ``(B, n, 4)`` (float64, GeV,
``(E, px, py, pz)``, the two incoming partons first, beam A's along +z) to
``|M|^2`` of shape ``(B, K)``: one column per partonic subprocess it declares,
averaged over initial and summed over final spins and colours, with the
identical-final-state-particle symmetry factor included (as MadGraph's IDEN).
``|M|^2`` has mass dimension ``8 - 2n``: GeV^(8-2n) for ``n`` external particles
(dimensionless for 2 -> 2, GeV^-2 for 2 -> 3, GeV^-8 for 2 -> 6, GeV^2 for 2 -> 1);
flux, PDFs and the conversion to pb are the integrand's job (:mod:`mlgen.process`).
A 2 -> 1 matrix element (``g g -> H``) also carries ``narrow_width_resonance =
(mass, width)``: the delta function of its one-body phase space is the
integrand's to handle (see :mod:`mlgen.matrix.higgs`).

Subprocesses that differ only by the order of the incoming partons (u u~ and
u~ u) are separate columns: the first PDG id always belongs to beam A.
"""

from __future__ import annotations

__all__ = ["ChoosesHelicities", "ColourFlow", "MatrixElement", "Resonance", "Subprocess"]

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from torch import Tensor

from mlgen.physics.propagators import Propagator

#: One colour flow: ``(colour, anticolour)`` tags per external particle, in the
#: order of :attr:`Subprocess.pdg`. Tags are small integers (1, 2, ...); the LHE
#: writer offsets them to 501, 502, ...; 0 means no colour line.
ColourFlow = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Subprocess:
    """One partonic subprocess: PDG ids (2 incoming, then outgoing) and its colour flows."""

    pdg: tuple[int, ...]
    colour_flows: tuple[ColourFlow, ...] = ()


@dataclass(frozen=True)
class Resonance:
    """An intermediate resonance written to the event record with status 2.

    Attributes:
        pdg: PDG id of the resonance (may depend on the subprocess: ``pdg_by_subprocess``
            overrides it when given, e.g. W+ vs W- in charge-conjugate subprocesses).
        daughters: indices (0-based, into the external particles) whose momenta
            sum to the resonance momentum. Resonances are listed outermost first;
            a nested resonance's daughters are a subset of its parent's.
        pdg_by_subprocess: per-subprocess PDG ids, same length as ``subprocesses``.
    """

    pdg: int
    daughters: tuple[int, ...]
    pdg_by_subprocess: tuple[int, ...] | None = None


@runtime_checkable
class MatrixElement(Protocol):
    """Batched squared matrix elements for a set of partonic subprocesses.

    Attributes:
        name: a short label.
        subprocesses: the ``K`` subprocesses, columns of the output.
        masses: external masses in GeV, per particle (incoming first).
        resonances: intermediate resonances for the event record.
        propagators: s-channel propagators (for channels); may be empty.
    """

    name: str
    subprocesses: tuple[Subprocess, ...]
    masses: tuple[float, ...]
    resonances: tuple[Resonance, ...]
    propagators: tuple[Propagator, ...]

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``|M|^2`` for every subprocess.

        Arguments:
            p: ``(B, n, 4)`` float64 momenta in GeV.
            alpha_s: ``(B,)`` strong coupling per event, or ``None`` for the
                matrix element's fixed reference value.

        Returns:
            ``(B, K)`` float64.
        """
        ...

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """Relative weights ``(B, K, F)`` of the colour flows of each subprocess
        (leading-colour ``|M|^2`` of each flow), or ``None`` to pick flows uniformly.
        ``F`` is the largest number of flows; padding columns are zero."""
        ...


@runtime_checkable
class ChoosesHelicities(Protocol):
    """A matrix element that picks each event's helicities for the event record (SPINUP), in
    proportion to each helicity combination's share of ``|M|^2`` (MadGraph5's choice)."""

    def choose_helicities(self, p: Tensor) -> Tensor:
        """``(B, n)`` float64 helicities (``-1, 0, 1``) of the ``n`` external particles, incoming
        first, at ``(B, n, 4)`` momenta."""
        ...
