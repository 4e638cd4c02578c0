"""The event record that flows between mlgen's parts.

An :class:`EventBatch` holds ``B`` events of at most ``n`` particles each as
tensors on one device, so sampling, unweighting, GAN post-processing and LHE
writing never loop over events in Python. Files with a varying number of
particles per event (merged samples) are padded: slots past an event's
``n_particles`` have ``pdg == 0`` and ``status == 0`` and are ignored.

Conventions: momenta ``(E, px, py, pz)`` in GeV, float64; weights in pb per
event (the mean weight estimates the cross section); mother indices are
1-based as in the Les Houches accord (0 = none); colour tags are integers
(0 = none, ``>= 501`` by convention).
"""

from __future__ import annotations

__all__ = ["EventBatch", "ProcessLine", "RunInfo", "WeightInfo"]

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class WeightInfo:
    """One named event weight (LHEF 3 ``<weight id=...>``)."""

    id: str
    description: str = ""
    group: str = ""
    mur: float | None = None
    muf: float | None = None


@dataclass(frozen=True)
class ProcessLine:
    """One line of the Les Houches ``<init>`` block: a (sub)process and its rate in pb."""

    xsec_pb: float
    error_pb: float
    xmax_pb: float
    id: int = 1


@dataclass(frozen=True)
class RunInfo:
    """Run-level information: beams, PDFs, weighting strategy, processes, weight names.

    Attributes:
        beam_ids: PDG ids of beams A and B.
        beam_energies: energies of beams A and B in GeV (lab frame).
        pdf_group: PDFGUP for A and B (0 = none / LHAPDF id convention).
        pdf_set: PDFSUP for A and B (LHAPDF set id, 0 when unknown).
        weight_strategy: IDWTUP (3 unweighted, -4 signed weighted in pb, ...).
        processes: the ``<init>`` process lines.
        generator: ``(name, version)`` for ``<generator>``.
        weights: named extra weights, in the order of ``EventBatch.extra_weights``.
        header: free text kept verbatim inside ``<header>`` (cards, comments).
    """

    beam_ids: tuple[int, int]
    beam_energies: tuple[float, float]
    pdf_group: tuple[int, int] = (0, 0)
    pdf_set: tuple[int, int] = (0, 0)
    weight_strategy: int = 3
    processes: tuple[ProcessLine, ...] = ()
    generator: tuple[str, str] = ("mlgen", "")
    weights: tuple[WeightInfo, ...] = ()
    header: str = ""

    @property
    def sqrt_s(self) -> float:
        """Collider energy in GeV for head-on beams (massless approximation)."""
        return 2.0 * (self.beam_energies[0] * self.beam_energies[1]) ** 0.5

    @property
    def xsec_pb(self) -> float:
        """Total cross section in pb: the sum over the ``<init>`` process lines."""
        return sum(p.xsec_pb for p in self.processes)

    @property
    def error_pb(self) -> float:
        """Error of :attr:`xsec_pb` in pb, process errors added in quadrature."""
        return sum(p.error_pb**2 for p in self.processes) ** 0.5


@dataclass
class EventBatch:
    """``B`` events of at most ``n`` particles, as tensors on one device.

    Attributes:
        momenta: ``(B, n, 4)`` float64, ``(E, px, py, pz)`` in GeV.
        pdg: ``(B, n)`` int64 PDG ids; 0 marks a padding slot.
        status: ``(B, n)`` int64 (-1 incoming, 1 outgoing, 2 intermediate resonance).
        mothers: ``(B, n, 2)`` int64, 1-based indices into the event, 0 = none.
        colors: ``(B, n, 2)`` int64 colour and anticolour tags, 0 = none.
        masses: ``(B, n)`` float64 generated masses in GeV.
        weight: ``(B,)`` float64 event weight in pb.
        scale: ``(B,)`` float64 SCALUP in GeV.
        alpha_qed: ``(B,)`` float64.
        alpha_s: ``(B,)`` float64.
        process_id: ``(B,)`` int64 IDPRUP.
        lifetime: ``(B, n)`` float64 VTIMUP in mm, or ``None`` for all zero.
        spin: ``(B, n)`` float64 SPINUP, or ``None`` for all 9 (unknown).
        x1, x2: ``(B,)`` float64 momentum fractions, or ``None``.
        mu_r, mu_f: ``(B,)`` float64 renormalisation and factorisation scales in GeV, or ``None``.
        extra_weights: ``(B, k)`` float64 named weights in pb (order of ``RunInfo.weights``), or ``None``.
        attributes: ``(B,)`` numpy ``str`` array: the attributes of each ``<event ...>`` tag as written
            (``npLO=" 1 " npNLO=" 2 "``; ``""`` for none), or ``None``. Text, not tensors: mlgen does
            not interpret them, it carries them (FxFx matching reads ``npLO``/``npNLO``).
        trailer: ``(B,)`` numpy ``str`` array: each event's lines after the particles that mlgen does
            not interpret (``<mgrwt>``, ``<clustering>``, comments), verbatim, or ``None``.
    """

    momenta: Tensor
    pdg: Tensor
    status: Tensor
    mothers: Tensor
    colors: Tensor
    masses: Tensor
    weight: Tensor
    scale: Tensor
    alpha_qed: Tensor
    alpha_s: Tensor
    process_id: Tensor
    lifetime: Tensor | None = None
    spin: Tensor | None = None
    x1: Tensor | None = None
    x2: Tensor | None = None
    mu_r: Tensor | None = None
    mu_f: Tensor | None = None
    extra_weights: Tensor | None = None
    attributes: np.ndarray | None = None
    trailer: np.ndarray | None = None
    _meta: dict[str, object] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_particles(self) -> Tensor:
        """``(B,)`` number of real (non-padding) particles per event."""
        return (self.pdg != 0).sum(-1)

    @property
    def device(self) -> torch.device:
        return self.momenta.device

    def _tensors(self) -> dict[str, Tensor | None]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_TENSORS}

    def _map(
        self, fn: Callable[[Tensor], Tensor], text_fn: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> EventBatch:
        """A copy with ``fn`` applied to every tensor field and ``text_fn`` to the text fields
        (``None`` fields stay ``None``; without ``text_fn`` the text fields are shared)."""
        # one dict for fields of two types (Tensor, Tensor | None): replace() checks each by name
        changes: dict[str, Any] = {k: (None if v is None else fn(v)) for k, v in self._tensors().items()}
        if text_fn is not None:
            for name in _TEXT:
                value = getattr(self, name)
                changes[name] = None if value is None else text_fn(value)
        return replace(self, **changes)

    def to(self, device: torch.device | str) -> EventBatch:
        """A copy on ``device``."""
        return self._map(lambda v: v.to(device))

    def __getitem__(self, index: Tensor | slice) -> EventBatch:
        """Select events (a slice, an index tensor or a boolean mask)."""
        rows = index.cpu().numpy() if isinstance(index, Tensor) else index
        return self._map(lambda v: v[index], lambda v: v[rows])

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        """Concatenate batches along the event axis, padding particle slots if needed."""
        if not batches:
            raise ValueError("EventBatch.concat needs at least one batch")
        n = max(b.pdg.shape[1] for b in batches)
        names = list(batches[0]._tensors())
        out: dict[str, Tensor | None] = {}
        for name in names:
            parts = [getattr(b, name) for b in batches]
            if any(p is None for p in parts):
                if not all(p is None for p in parts):
                    raise ValueError(f"EventBatch.concat: field {name!r} is set in some batches only")
                out[name] = None
                continue
            padded = []
            for p in parts:
                assert p is not None
                if p.dim() >= 2 and name not in ("extra_weights",) and p.shape[1] < n:
                    pad_shape = list(p.shape)
                    pad_shape[1] = n - p.shape[1]
                    fill = 9.0 if name == "spin" else 0
                    p = torch.cat([p, torch.full(pad_shape, fill, dtype=p.dtype, device=p.device)], dim=1)
                padded.append(p)
            out[name] = torch.cat(padded, dim=0)
        text: dict[str, np.ndarray | None] = {}
        for name in _TEXT:
            parts_text = [getattr(b, name) for b in batches]
            if all(p is None for p in parts_text):
                text[name] = None
                continue
            # a batch without the field had nothing there: empty text, not a lost column
            text[name] = np.concatenate(
                [np.full(len(b), "", dtype=object) if p is None else p for b, p in zip(batches, parts_text)]
            )
        return EventBatch(**out, **text)  # type: ignore[arg-type]


_TEXT = ("attributes", "trailer")
_NOT_TENSORS = ("_meta", *_TEXT)
