"""Cuts on final-state objects, evaluated on whole batches of momenta."""

from __future__ import annotations

__all__ = ["Cut", "Cuts"]

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mlgen.physics import vectors as v
from mlgen.process.objects import object_indices


@dataclass(frozen=True)
class Cut:
    """``lo <= observable <= hi`` on the objects at ``indices`` (into the momenta).

    Per-object observables (``pt``, ``eta``, ``abs_eta``, ``y``, ``abs_y``) must
    hold for every object; ``m`` and ``ht`` apply to the sum over the objects,
    ``pt_leading`` to the largest ``pt`` among them; ``delta_r``, ``m_pair`` and
    ``y_pair`` (``m_ij^2 / s_hat``, ``s_hat`` of the whole final state) to every pair.
    """

    observable: str
    indices: tuple[int, ...]
    lo: float | None
    hi: float | None
    label: str = ""

    def values(self, p: Tensor) -> Tensor:
        """``(B, k)`` values the window applies to (k objects, 1 sum or k(k-1)/2 pairs)."""
        objs = p[:, list(self.indices)]
        if self.observable == "pt":
            return v.pt(objs)
        if self.observable == "eta":
            return v.pseudorapidity(objs)
        if self.observable == "abs_eta":
            return v.pseudorapidity(objs).abs()
        if self.observable == "y":
            return v.rapidity(objs)
        if self.observable == "abs_y":
            return v.rapidity(objs).abs()
        if self.observable == "m":
            return v.mass(objs.sum(1))[:, None]
        if self.observable == "ht":
            return v.pt(objs).sum(1, keepdim=True)
        if self.observable == "pt_leading":
            return v.pt(objs).amax(1, keepdim=True)
        if self.observable in ("delta_r", "y_pair", "m_pair"):
            pairs = list(itertools.combinations(range(len(self.indices)), 2))
            a = objs[:, [i for i, _ in pairs]]
            b = objs[:, [j for _, j in pairs]]
            if self.observable == "delta_r":
                return v.delta_r(a, b)
            if self.observable == "m_pair":
                return v.mass(a + b)
            s_hat = v.mass2(p[:, 2:].sum(1))
            return v.mass2(a + b) / s_hat[:, None]
        raise ValueError(f"unknown observable {self.observable!r}")

    def passes(self, p: Tensor) -> Tensor:
        """``(B,)`` bool: the event passes."""
        values = self.values(p)
        ok = torch.ones(values.shape, dtype=torch.bool, device=p.device)
        if self.lo is not None:
            ok &= values >= self.lo
        if self.hi is not None:
            ok &= values <= self.hi
        return ok.all(1)


class Cuts:
    """A list of :class:`Cut` applied together."""

    def __init__(self, cuts: Sequence[Cut] = ()) -> None:
        self.cuts = tuple(cuts)

    @classmethod
    def from_cards(cls, cards: Sequence[object], final_pdgs: Sequence[Sequence[int]]) -> Cuts:
        """Build from the card's ``[[cuts]]`` tables (:class:`mlgen.cards.schema.CutCard`)."""
        cuts = []
        for i, card in enumerate(cards):
            observable, objects = card.observable, card.objects  # type: ignore[attr-defined]
            try:
                indices = object_indices(objects, final_pdgs)
            except ValueError as err:
                raise ValueError(f"cuts[{i}].objects: {err}") from None
            if not indices:
                raise ValueError(f"cuts[{i}].objects: the process has no {objects!r} in its final state")
            if observable in ("delta_r", "y_pair", "m_pair") and len(indices) < 2:
                raise ValueError(f"cuts[{i}].objects: {observable} needs at least two {objects!r}")
            lo, hi = card.min, card.max  # type: ignore[attr-defined]
            cuts.append(Cut(observable, indices, lo, hi, f"{lo} <= {observable}({objects}) <= {hi}"))
        return cls(cuts)

    def passes(self, p: Tensor) -> Tensor:
        """``(B,)`` bool mask of events passing every cut."""
        ok = torch.ones(p.shape[0], dtype=torch.bool, device=p.device)
        for cut in self.cuts:
            ok &= cut.passes(p)
        return ok

    def window(self, observable: str, indices: tuple[int, ...]) -> tuple[float | None, float | None]:
        """The tightest ``(lo, hi)`` the cuts put on ``observable`` of exactly these objects
        (used to restrict phase-space generation, e.g. the m_ll window of Drell–Yan)."""
        lo: float | None = None
        hi: float | None = None
        for cut in self.cuts:
            if cut.observable == observable and cut.indices == indices:
                if cut.lo is not None:
                    lo = cut.lo if lo is None else max(lo, cut.lo)
                if cut.hi is not None:
                    hi = cut.hi if hi is None else min(hi, cut.hi)
        return lo, hi

    def pair_floors(self, n_final: int) -> dict[tuple[int, int], tuple[float, float]]:
        """Lower bounds the cuts put on every final-state pair's mass: ``{(i, j): (s_lo, y_lo)}``.

        ``i < j`` count the final state from 0; every event passing the cuts has
        ``m_ij^2 >= s_lo`` (GeV^2) and ``m_ij^2 >= y_lo s_hat``. ``y_lo`` comes from ``y_pair``;
        ``s_lo`` from an ``m`` cut on exactly the pair or an ``m_pair`` cut on both, and from
        ``pt`` cuts on both with a ``delta_r`` cut on the pair:
        ``m_ij^2 >= 2 pT_i pT_j (cosh dy - cos dphi) >= 2 pT_i pT_j (1 - cos dR)`` for any
        masses (MadEvent's ``smin`` from ``ptj``/``drjj``).
        Pairs without a bound are left out. The phase-space maps sample above these floors
        (:func:`~mlgen.phasespace.topologies.from_propagators`).
        """
        lower = [(cut, cut.lo) for cut in self.cuts if cut.lo is not None and cut.lo > 0]
        pt_min = [
            max((lo for cut, lo in lower if cut.observable == "pt" and k + 2 in cut.indices), default=0.0)
            for k in range(n_final)
        ]
        floors: dict[tuple[int, int], tuple[float, float]] = {}
        for i, j in itertools.combinations(range(n_final), 2):
            s_lo, y_lo = 0.0, 0.0
            for cut, lo in lower:
                both = {i + 2, j + 2} <= set(cut.indices)
                if cut.observable == "y_pair" and both:
                    y_lo = max(y_lo, lo)
                elif cut.observable == "m" and sorted(cut.indices) == [i + 2, j + 2]:
                    s_lo = max(s_lo, lo**2)
                elif cut.observable == "m_pair" and both:
                    s_lo = max(s_lo, lo**2)
                elif cut.observable == "delta_r" and both:
                    s_lo = max(s_lo, 2 * pt_min[i] * pt_min[j] * (1 - math.cos(lo)))
            if s_lo > 0 or y_lo > 0:
                floors[(i, j)] = (s_lo, y_lo)
        return floors

    def __len__(self) -> int:
        return len(self.cuts)
