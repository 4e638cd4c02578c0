"""The ``lhapdf`` module behind mlgen's PDF interface (when it imports; CPU, point by point)."""

from __future__ import annotations

__all__ = ["load_lhapdf"]

from typing import Any

import torch
from torch import Tensor


class LHAPDFWrapper:
    """``lhapdf.PDF`` with mlgen's batched method names (evaluates on the CPU)."""

    def __init__(self, pdf: Any, name: str, member: int) -> None:
        self._pdf = pdf
        self.name, self.member = name, member
        self.pids = tuple(int(p) for p in pdf.flavors())
        self.lhapdf_id = int(pdf.lhapdfID)

    def xfxQ2_all(self, x: Tensor, q2: Tensor) -> Tensor:  # noqa: N802
        xs, qs = x.detach().cpu().tolist(), q2.detach().cpu().expand(x.numel()).tolist()
        rows = [[self._pdf.xfxQ2(p, a, b) for p in self.pids] for a, b in zip(xs, qs)]
        return torch.tensor(rows, dtype=torch.float64, device=x.device)

    def xfxQ2(self, pid: int, x: Tensor, q2: Tensor) -> Tensor:  # noqa: N802
        xs, qs = x.detach().cpu().tolist(), q2.detach().cpu().expand(x.numel()).tolist()
        return torch.tensor(
            [self._pdf.xfxQ2(pid, a, b) for a, b in zip(xs, qs)], dtype=torch.float64, device=x.device
        )

    def alphasQ2(self, q2: Tensor) -> Tensor:  # noqa: N802
        return torch.tensor(
            [self._pdf.alphasQ2(v) for v in q2.detach().cpu().tolist()], dtype=torch.float64, device=q2.device
        )


def load_lhapdf(name: str, member: int) -> LHAPDFWrapper:
    try:
        import lhapdf
    except ImportError as err:
        raise ImportError(
            "backend='lhapdf' needs the lhapdf Python module (not on PyPI); use the default backend='mlgen'"
        ) from err
    return LHAPDFWrapper(lhapdf.mkPDF(name, member), name, member)
