"""A PDF member with LHAPDF-like, batched, device-following methods."""

from __future__ import annotations

__all__ = ["GridPDF"]

import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mlgen.pdf.grid import Grid
from mlgen.pdf.interpolate import GridInterpolator
from mlgen.physics.alphas import AlphaS


class GridPDF:
    """One member of an ``lhagrid1`` set.

    Attributes:
        name, member: the set and member.
        pids: PDG ids of the columns of :meth:`xfxQ2_all` (21 gluon, 22 photon).
        x_min, x_max, q2_min, q2_max: the grid's range (Q^2 in GeV^2).
        lhapdf_id: the set's LHAPDF id (``SetIndex`` + member) when known, else 0.
        alpha_s: the :class:`~mlgen.physics.alphas.AlphaS` of the set.
    """

    def __init__(
        self, grid: Grid, alpha_s: AlphaS, *, name: str, member: int = 0, info: dict[str, Any] | None = None
    ) -> None:
        self.grid = grid
        self.name = name
        self.member = member
        self.info: dict[str, Any] = dict(info or {})
        self.pids = grid.pids
        self._interp = GridInterpolator(grid.x, grid.q2, grid.values)
        self.x_min, self.x_max = float(grid.x[0]), float(grid.x[-1])
        self.q2_min, self.q2_max = float(grid.q2[0]), float(grid.q2[-1])
        self.alpha_s = alpha_s
        self.force_positive = int(grid.meta.get("ForcePositive", self.info.get("ForcePositive", 0)))
        self.lhapdf_id = int(self.info["SetIndex"]) + member if "SetIndex" in self.info else 0
        self._column = {pid: i for i, pid in enumerate(self.pids)}

    def __repr__(self) -> str:
        return f"GridPDF({self.name!r}, member={self.member}, flavours={self.pids})"

    def xfxQ2_all(self, x: Tensor, q2: Tensor) -> Tensor:  # noqa: N802 - LHAPDF's name
        """``(B, n_flavours)`` ``x f(x, Q^2)`` for all flavours (order: :attr:`pids`)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        q2 = torch.as_tensor(q2, dtype=torch.float64, device=x.device)
        out = self._interp(x.reshape(-1).contiguous(), q2.reshape(-1).expand(x.numel()).contiguous())
        if self.force_positive == 1:
            out = out.clamp(min=0.0)
        elif self.force_positive == 2:
            out = out.clamp(min=1e-10)
        return out

    def xfxQ2(self, pid: int | Tensor, x: Tensor, q2: Tensor) -> Tensor:  # noqa: N802 - LHAPDF's name
        """``(B,)`` ``x f`` for one flavour, or a per-point flavour tensor ``(B,)``; 0 means 21.
        A flavour the set lacks gives 0."""
        values = self.xfxQ2_all(x, q2)
        if isinstance(pid, int):
            col = self._column.get(21 if pid == 0 else pid)
            return values[:, col] if col is not None else torch.zeros_like(values[:, 0])
        lookup = torch.full((2 * 30 + 1,), -1, dtype=torch.long, device=values.device)
        for p, i in self._column.items():
            if -30 <= p <= 30:
                lookup[p + 30] = i
        lookup[30] = self._column.get(21, -1)
        cols = lookup[pid.to(values.device).long() + 30]
        picked = values.gather(1, cols.clamp(min=0)[:, None]).squeeze(1)
        return torch.where(cols >= 0, picked, torch.zeros_like(picked))

    def alphasQ2(self, q2: Tensor) -> Tensor:  # noqa: N802 - LHAPDF's name
        """``(B,)`` alpha_s(Q^2) of the set."""
        return self.alpha_s(torch.as_tensor(q2, dtype=torch.float64))

    def to(self, device: torch.device | str) -> GridPDF:
        """Tables follow the inputs' device already; this warms the cache for ``device``."""
        dummy = torch.full((1,), 0.1, dtype=torch.float64, device=device)
        self.xfxQ2_all(dummy, dummy * 0 + max(self.q2_min * 2, 10.0))
        return self


#: alpha_s(M_Z) of sets shipped without ``.info`` whose names do not say it.
KNOWN_ALPHAS_MZ = {"CT14qed_proton": 0.118, "CT14qed_neutron": 0.118}


def alphas_mz_from_name(name: str) -> float | None:
    """alpha_s(M_Z) from a set name's ``as_0130`` part (0.130), a known set, or ``None``."""
    match = re.search(r"as_(\d{4})", name)
    if match:
        return int(match.group(1)) / 1000
    return KNOWN_ALPHAS_MZ.get(name)


def loops_from_name(name: str) -> int:
    """Loop order for alpha_s running when a set has no ``.info``: NNLO 3, NLO 2, LO 1
    (CT14qed is an NLO fit)."""
    lower = Path(name).name.lower()
    if lower.startswith("ct14qed"):
        return 2
    if "nnlo" in lower:
        return 3
    if "nlo" in lower:
        return 2
    return 1
