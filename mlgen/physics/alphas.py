"""The strong coupling alpha_s(Q^2): LHAPDF's ``ipol``, ``ode`` and ``analytic`` types.

``ipol`` interpolates a table (``AlphaS_Qs``, ``AlphaS_Vals``) with a Hermite
cubic in ``ln Q^2`` (one-sided differences at each subgrid's ends, central
inside), a power law below the first knot and a constant above the last, as
LHAPDF 6.5. ``ode`` solves the QCD beta function (1 to 4 loops; LHAPDF's
``AlphaS_OrderQCD`` = number of loops, 0 = fixed) from ``alpha_s(M_Z)`` with
the number of flavours changing at the quark-mass thresholds (continuous
matching), tabulates it densely and interpolates like ``ipol``. ``analytic``
uses ``Lambda_nf`` and the standard 1/L expansion (up to 2 loops here).

Every evaluation is batched torch, float64, on the device of its input.
"""

from __future__ import annotations

__all__ = ["AlphaS", "DEFAULT_MASSES"]

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

from mlgen.physics.sm import GMU

#: LHAPDF's default quark masses in GeV (lhapdf.conf), used as flavour thresholds.
DEFAULT_MASSES = {
    "MDown": 0.005,
    "MUp": 0.002,
    "MStrange": 0.10,
    "MCharm": 1.29,
    "MBottom": 4.19,
    "MTop": 172.9,
}


def _beta(nf: int) -> tuple[float, float, float, float]:
    """Coefficients of d a / d ln Q^2 = -(b0 a^2 + b1 a^3 + ...), a = alpha_s."""
    pi = math.pi
    b0 = (33 - 2 * nf) / (12 * pi)
    b1 = (153 - 19 * nf) / (24 * pi**2)
    b2 = (2857 - 5033 * nf / 9 + 325 * nf**2 / 27) / (128 * pi**3)
    z3 = 1.2020569031595942
    b3 = (
        (149753 / 6 + 3564 * z3)
        - (1078361 / 162 + 6508 / 27 * z3) * nf
        + (50065 / 162 + 6472 / 81 * z3) * nf**2
        + 1093 / 729 * nf**3
    ) / (256 * pi**4)
    return b0, b1, b2, b3


class AlphaS:
    """alpha_s as a function of Q^2 (GeV^2), interpolated from knots in ``ln Q^2``.

    Use the constructors :meth:`ipol`, :meth:`from_mz` (ODE running) or :meth:`from_info`.
    """

    def __init__(self, q: ArrayLike, values: ArrayLike, description: str = "") -> None:
        knots = np.asarray(q, dtype=np.float64)
        a = np.asarray(values, dtype=np.float64)
        if knots.ndim != 1 or len(knots) != len(a) or len(knots) < 2 or np.any(np.diff(knots) < 0):
            raise ValueError("alpha_s knots: need >= 2 increasing Q values with one alpha_s each")
        self.q2 = knots * knots
        self.values = a
        self.description = description
        lq = np.log(self.q2)
        n = len(lq)
        # derivative at each knot, one-sided at subgrid ends (repeated knots split subgrids)
        d = np.empty(n)
        for i in range(n):
            first = i == 0 or lq[i] == lq[i - 1]
            last = i == n - 1 or lq[i] == lq[i + 1]
            if first and last:
                d[i] = 0.0
            elif first:
                d[i] = (a[i + 1] - a[i]) / (lq[i + 1] - lq[i])
            elif last:
                d[i] = (a[i] - a[i - 1]) / (lq[i] - lq[i - 1])
            else:
                d[i] = 0.5 * (
                    (a[i + 1] - a[i]) / (lq[i + 1] - lq[i]) + (a[i] - a[i - 1]) / (lq[i] - lq[i - 1])
                )
        self._deriv = d
        # power law below the first two distinct knots
        j = int(np.argmax(self.q2 > self.q2[0]))
        self._slope = math.log(a[j] / a[0]) / math.log(self.q2[j] / self.q2[0])
        self._cache: dict[str, tuple[Tensor, Tensor, Tensor]] = {}

    @classmethod
    def ipol(cls, qs: Sequence[float], values: Sequence[float]) -> AlphaS:
        """LHAPDF's ``ipol``: interpolate a table of alpha_s at Q knots (GeV)."""
        return cls(qs, values, "ipol")

    @classmethod
    def from_mz(
        cls,
        alpha_s_mz: float,
        mz: float = GMU.mz,
        *,
        loops: int = 2,
        masses: dict[str, float] | None = None,
        n_flavours_max: int = 6,
        q_range: tuple[float, float] = (0.8, 1.0e5),
    ) -> AlphaS:
        """Run alpha_s from ``alpha_s(M_Z)`` with ``loops`` loops (0: fixed) and thresholds at
        the quark masses (continuous matching), tabulated on a dense grid (LHAPDF's ``ode``)."""
        masses = {**DEFAULT_MASSES, **(masses or {})}
        thresholds = sorted(masses[k] for k in ("MDown", "MUp", "MStrange", "MCharm", "MBottom", "MTop"))
        qs = np.geomspace(q_range[0], q_range[1], 4001)
        if loops == 0:
            return cls(qs, np.full_like(qs, alpha_s_mz), f"fixed alpha_s = {alpha_s_mz}")

        def nf_at(q: float) -> int:
            return min(sum(1 for m in thresholds if m * m < q * q), n_flavours_max)

        def rhs(a: float, nf: int) -> float:
            b = _beta(nf)[:loops]
            return -sum(bk * a ** (k + 2) for k, bk in enumerate(b))

        def run(a: float, t0: float, t1: float) -> float:
            """RK4 in t = ln Q^2 from t0 to t1, splitting at thresholds."""
            cuts = sorted(
                {2 * math.log(m) for m in thresholds if min(t0, t1) < 2 * math.log(m) < max(t0, t1)},
                reverse=bool(t1 < t0),
            )
            points = [t0, *cuts, t1]
            for ta, tb in zip(points[:-1], points[1:]):
                nf = nf_at(math.exp(0.25 * (ta + tb)))
                steps = max(4, int(abs(tb - ta) / 0.02))
                h = (tb - ta) / steps
                for _ in range(steps):
                    k1 = rhs(a, nf)
                    k2 = rhs(a + 0.5 * h * k1, nf)
                    k3 = rhs(a + 0.5 * h * k2, nf)
                    k4 = rhs(a + h * k3, nf)
                    a += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
            return a

        t_mz = 2 * math.log(mz)
        ts = 2 * np.log(qs)
        values = np.empty_like(qs)
        i0 = int(np.searchsorted(ts, t_mz))
        a, t = alpha_s_mz, t_mz
        for i in range(i0, len(ts)):
            a = run(a, t, ts[i])
            t = ts[i]
            values[i] = a
        a, t = alpha_s_mz, t_mz
        for i in range(i0 - 1, -1, -1):
            a = run(a, t, ts[i])
            t = ts[i]
            values[i] = a
        flavours = f", at most {n_flavours_max} flavours" if n_flavours_max < 6 else ""
        return cls(qs, values, f"{loops}-loop running from alpha_s({mz}) = {alpha_s_mz}{flavours}")

    @classmethod
    def analytic(
        cls,
        lambdas: dict[int, float],
        loops: int = 2,
        masses: dict[str, float] | None = None,
        q_range: tuple[float, float] = (0.8, 1.0e5),
    ) -> AlphaS:
        """LHAPDF's ``analytic``: the 1/L expansion with ``Lambda_nf`` (GeV) for each nf, up to 2 loops."""
        masses = {**DEFAULT_MASSES, **(masses or {})}
        thresholds = sorted(masses.values())
        qs = np.geomspace(q_range[0], q_range[1], 4001)
        values = []
        for q in qs:
            nf = sum(1 for m in thresholds if m < q)
            defined = [n for n in lambdas if n <= nf]
            lam = lambdas[max(defined)] if defined else lambdas[min(lambdas)]
            b0, b1, _, _ = _beta(nf)
            ell = math.log(q * q / lam**2)
            a = 1 / (b0 * ell)
            if loops >= 2:
                a *= 1 - b1 / b0**2 * math.log(ell) / ell
            values.append(a)
        return cls(qs, values, f"analytic, {loops} loops")

    @classmethod
    def from_info(cls, info: dict[str, Any], name: str = "") -> AlphaS:
        """From a set's ``.info`` metadata (``AlphaS_Type`` ipol / ode / analytic)."""
        kind = str(info.get("AlphaS_Type", "analytic"))
        masses = {
            k: float(info[f"AlphaS_{k}"] if f"AlphaS_{k}" in info else info[k])
            for k in DEFAULT_MASSES
            if f"AlphaS_{k}" in info or k in info
        }
        loops = int(info.get("AlphaS_OrderQCD", 2))
        if kind == "ipol":
            if "AlphaS_Qs" not in info or "AlphaS_Vals" not in info:
                raise ValueError(f"{name}: AlphaS_Type ipol needs AlphaS_Qs and AlphaS_Vals")
            return cls.ipol(info["AlphaS_Qs"], info["AlphaS_Vals"])
        if kind == "ode":
            mz = float(info.get("MZ", info.get("AlphaS_MassReference", GMU.mz)))
            ref = info.get("AlphaS_MZ", info.get("AlphaS_Reference"))
            if ref is None:
                raise ValueError(f"{name}: AlphaS_Type ode needs AlphaS_MZ (or AlphaS_Reference)")
            return cls.from_mz(float(ref), mz, loops=loops, masses=masses)
        if kind == "analytic":
            lambdas = {
                nf: float(info[f"AlphaS_Lambda{nf}"]) for nf in (3, 4, 5) if f"AlphaS_Lambda{nf}" in info
            }
            if not lambdas:
                raise ValueError(f"{name}: AlphaS_Type analytic needs AlphaS_Lambda3/4/5")
            return cls.analytic(lambdas, loops=max(1, min(loops, 2)), masses=masses)
        raise ValueError(f"{name}: unknown AlphaS_Type {kind!r} (expected ipol, ode or analytic)")

    def _tables(self, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        key = str(device)
        if key not in self._cache:
            f = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
            self._cache[key] = (f(np.log(self.q2)), f(self.values), f(self._deriv))
        return self._cache[key]

    def __call__(self, q2: Tensor) -> Tensor:
        """``alpha_s(Q^2)`` for ``(B,)`` Q^2 in GeV^2."""
        lq_k, a, d = self._tables(q2.device)
        n = lq_k.shape[0]
        lq = torch.log(q2.to(torch.float64))
        i = (torch.searchsorted(lq_k, lq.contiguous(), right=True) - 1).clamp(0, n - 2)
        h = lq_k[i + 1] - lq_k[i]
        safe = torch.where(h > 0, h, torch.ones_like(h))
        t = (lq - lq_k[i]) / safe
        t2, t3 = t * t, t * t * t
        inside = (
            (2 * t3 - 3 * t2 + 1) * a[i]
            + (t3 - 2 * t2 + t) * d[i] * h
            + (-2 * t3 + 3 * t2) * a[i + 1]
            + (t3 - t2) * d[i + 1] * h
        )
        below = a[0] * torch.exp(self._slope * (lq - lq_k[0]))
        out = torch.where(lq < lq_k[0], below, inside)
        return torch.where(lq > lq_k[-1], a[-1].expand_as(out), out)
