"""LHAPDF 6.5's ``logcubic`` interpolation and ``continuation`` extrapolation, in torch.

Knows nothing about files: it takes knot arrays and ``x f`` values. All
flavours are interpolated at once, batched over points, on the device of the
inputs (tables are copied there once and cached).

Interpolation (``LogBicubicInterpolator``): Hermite cubic in ``ln x`` with
knot derivatives from the mean of the neighbouring slopes (one-sided at the
ends), then Hermite cubic in ``ln Q^2`` with LHAPDF's edge rules per subgrid,
and bilinear in ``(ln x, ln Q^2)`` on subgrids of two Q knots. Knot lookup is
``upper_bound - 1``: at a subgrid boundary the upper subgrid is used.

Extrapolation (``ContinuationExtrapolator``): linear in ``ln x`` / ``ln Q^2``
(of ``ln xf`` when both end values exceed 1e-3) beyond ``x_min`` and
``Q^2_max``; below ``Q^2_min`` the anomalous-dimension-like continuation
``f0 r^(a r + 1 - r)``, ``r = Q^2 / Q^2_min``.
"""

from __future__ import annotations

__all__ = ["GridInterpolator"]

import numpy as np
import torch
from torch import Tensor


def _hermite(t: Tensor, a: Tensor, da: Tensor, b: Tensor, db: Tensor) -> Tensor:
    t2 = t * t
    t3 = t2 * t
    return (2 * t3 - 3 * t2 + 1) * a + (t3 - 2 * t2 + t) * da + (-2 * t3 + 3 * t2) * b + (t3 - t2) * db


class GridInterpolator:
    """Interpolate ``x f(x, Q^2)`` on a knot grid, all flavours at once.

    Arguments:
        x: ``(nx,)`` strictly increasing x knots.
        q2: ``(nq,)`` increasing Q^2 knots (a repeated knot separates subgrids).
        values: ``(nx, nq, nf)`` ``x f`` at the knots.
    """

    def __init__(self, x: np.ndarray, q2: np.ndarray, values: np.ndarray) -> None:
        self.x_knots = np.asarray(x, dtype=np.float64)
        self.q2_knots = np.asarray(q2, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)
        lx = np.log(self.x_knots)
        f = self.values
        d = np.empty_like(f)
        d[0] = (f[1] - f[0]) / (lx[1] - lx[0])
        d[-1] = (f[-1] - f[-2]) / (lx[-1] - lx[-2])
        left = (f[1:-1] - f[:-2]) / (lx[1:-1] - lx[:-2])[:, None, None]
        right = (f[2:] - f[1:-1]) / (lx[2:] - lx[1:-1])[:, None, None]
        d[1:-1] = 0.5 * (left + right)
        self.dx_values = d
        nq = len(self.q2_knots)
        q = self.q2_knots
        idx = np.arange(nq - 1)
        self.lower_edge = (idx == 0) | np.concatenate([[True], q[1:-1] == q[:-2]])
        upper = np.zeros(nq - 1, dtype=bool)
        upper[-1] = True
        upper[:-1] = q[1:-1] == q[2:]
        self.upper_edge = upper
        self._cache: dict[tuple[str, torch.dtype], dict[str, Tensor]] = {}

    @property
    def n_flavours(self) -> int:
        return self.values.shape[2]

    def _tables(self, device: torch.device, dtype: torch.dtype) -> dict[str, Tensor]:
        key = (str(device), dtype)
        if key not in self._cache:
            t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
            self._cache[key] = {
                "lx": t(np.log(self.x_knots)),
                "lq": t(np.log(self.q2_knots)),
                "f": t(self.values),
                "d": t(self.dx_values),
                "lower": torch.as_tensor(self.lower_edge, device=device),
                "upper": torch.as_tensor(self.upper_edge, device=device),
            }
        return self._cache[key]

    def interpolate(self, x: Tensor, q2: Tensor) -> Tensor:
        """``(B, nf)`` ``x f`` at points inside the grid (no range checks)."""
        tb = self._tables(x.device, x.dtype)
        lx_k, lq_k, f, d = tb["lx"], tb["lq"], tb["f"], tb["d"]
        nx, nq = lx_k.shape[0], lq_k.shape[0]
        lx, lq = torch.log(x), torch.log(q2)
        ix = (torch.searchsorted(lx_k, lx.contiguous(), right=True) - 1).clamp(0, nx - 2)
        iq = (torch.searchsorted(lq_k, lq.contiguous(), right=True) - 1).clamp(0, nq - 2)
        dlx = lx_k[ix + 1] - lx_k[ix]
        tx = ((lx - lx_k[ix]) / dlx)[:, None]
        jq = torch.stack([iq - 1, iq, iq + 1, iq + 2], 1).clamp(0, nq - 1)  # (B, 4)
        ixb = ix[:, None]
        fa, fb = f[ixb, jq], f[ixb + 1, jq]  # (B, 4, nf)
        da, db = d[ixb, jq] * dlx[:, None, None], d[ixb + 1, jq] * dlx[:, None, None]
        v = _hermite(tx[:, :, None], fa, da, fb, db)  # (B, 4, nf): at iq-1, iq, iq+1, iq+2
        vm, vl, vh, vp = v[:, 0], v[:, 1], v[:, 2], v[:, 3]
        lq_m = lq_k[(iq - 1).clamp(min=0)]
        lq_l, lq_h = lq_k[iq], lq_k[iq + 1]
        lq_p = lq_k[(iq + 2).clamp(max=nq - 1)]
        d1 = (lq_h - lq_l)[:, None]
        d0 = (lq_l - lq_m)[:, None]
        d2 = (lq_p - lq_h)[:, None]
        tq = ((lq - lq_l)[:, None]) / d1
        lower = tb["lower"][iq][:, None]
        upper = tb["upper"][iq][:, None]
        diff = vh - vl
        # guard the unused branches against 0/0 (their ratios are masked below)
        r0 = torch.where(lower, torch.zeros_like(d0), d1 / torch.where(lower, torch.ones_like(d0), d0))
        r2 = torch.where(upper, torch.zeros_like(d2), d1 / torch.where(upper, torch.ones_like(d2), d2))
        slope_low = (vl - vm) * r0
        slope_high = (vp - vh) * r2
        vdl = torch.where(lower, diff, 0.5 * (diff + slope_low))
        vdh = torch.where(upper, diff, 0.5 * (diff + slope_high))
        vdl = torch.where(lower & ~upper, diff, vdl)
        vdh = torch.where(lower & ~upper, 0.5 * (diff + slope_high), vdh)
        vdl = torch.where(upper & ~lower, 0.5 * (diff + slope_low), vdl)
        vdh = torch.where(upper & ~lower, diff, vdh)
        cubic = _hermite(tq, vl, vdl, vh, vdh)
        # two-knot subgrids: bilinear in (ln x, ln Q^2) on the corner values
        fll, fhl = fa[:, 1], fb[:, 1]
        flh, fhh = fa[:, 2], fb[:, 2]
        lin_l = fll + tx * (fhl - fll)
        lin_h = flh + tx * (fhh - flh)
        bilinear = lin_l + tq * (lin_h - lin_l)
        return torch.where(lower & upper, bilinear, cubic)

    def __call__(self, x: Tensor, q2: Tensor) -> Tensor:
        """``(B, nf)`` ``x f`` with LHAPDF's continuation outside the grid.

        Raises:
            ValueError: for ``x`` outside ``(0, 1]`` or beyond the last x knot, or ``Q^2 < 0``.
        """
        tb = self._tables(x.device, x.dtype)
        x_min, x_max = float(self.x_knots[0]), float(self.x_knots[-1])
        q2_min, q2_max = float(self.q2_knots[0]), float(self.q2_knots[-1])
        if bool((x <= 0).any()) or bool((x > x_max).any()):
            raise ValueError(f"x must lie in (0, {x_max:g}], got values in [{float(x.min()):g}, {float(x.max()):g}]")
        if bool((q2 < 0).any()):
            raise ValueError("Q^2 must be non-negative")
        del tb
        x_lo = x < x_min
        q_hi = q2 > q2_max
        q_lo = q2 < q2_min
        inside = ~(x_lo | q_hi | q_lo)
        out = torch.empty(x.shape[0], self.n_flavours, dtype=x.dtype, device=x.device)
        if bool(inside.all()):
            return self.interpolate(x, q2)
        if bool(inside.any()):
            out[inside] = self.interpolate(x[inside], q2[inside])
        rest = ~inside
        out[rest] = self._extrapolate(x[rest], q2[rest], x_lo[rest], q_hi[rest], q_lo[rest])
        return out

    def _at(self, x: Tensor | float, q2: Tensor | float, like: Tensor) -> Tensor:
        xs = torch.as_tensor(x, dtype=like.dtype, device=like.device).expand(like.shape[0])
        qs = torch.as_tensor(q2, dtype=like.dtype, device=like.device).expand(like.shape[0])
        return self.interpolate(xs.contiguous(), qs.contiguous())

    def _extrapolate(self, x: Tensor, q2: Tensor, x_lo: Tensor, q_hi: Tensor, q_lo: Tensor) -> Tensor:
        xk, qk = self.x_knots, self.q2_knots
        x_min, x_min1 = float(xk[0]), float(xk[1])
        q2_min, q2_max1, q2_max = float(qk[0]), float(qk[-2]), float(qk[-1])
        xc = torch.where(x_lo, torch.full_like(x, x_min), x)
        # x < x_min and/or Q^2 > Q^2_max (Q^2 >= Q^2_min)
        qc = torch.where(q_hi, torch.full_like(q2, q2_max), torch.where(q_lo, torch.full_like(q2, q2_min), q2))

        def in_q(xv: Tensor | float) -> Tensor:
            """Value at x = xv, continued in Q^2 above Q^2_max."""
            at = self._at(xv, qc, x)
            hi = _linear_log(q2, q2_max, q2_max1, self._at(xv, q2_max, x), self._at(xv, q2_max1, x))
            return torch.where(q_hi[:, None], hi, at)

        def in_x(q2v: Tensor) -> Tensor:
            """Value at Q^2 = q2v (inside), continued in x below x_min."""
            at = self._at(xc, q2v, x)
            lo = _linear_log(x, x_min, x_min1, self._at(x_min, q2v, x), self._at(x_min1, q2v, x))
            return torch.where(x_lo[:, None], lo, at)

        upper = torch.where(
            x_lo[:, None],
            _linear_log(x, x_min, x_min1, in_q(x_min), in_q(x_min1)),
            in_q(xc),
        )
        # Q^2 < Q^2_min
        f0 = in_x(torch.full_like(q2, q2_min))
        f1 = in_x(torch.full_like(q2, 1.01 * q2_min))
        small = f0.abs() < 1e-5
        anom = torch.where(small, torch.ones_like(f0), torch.clamp((f1 - f0) / torch.where(small, torch.ones_like(f0), f0) / 0.01, min=-2.5))
        r = (q2 / q2_min)[:, None]
        lower = f0 * r ** (anom * r + 1 - r)
        return torch.where(q_lo[:, None], lower, upper)


def _linear_log(v: Tensor, v_lo: float, v_hi: float, y_lo: Tensor, y_hi: Tensor) -> Tensor:
    """LHAPDF's helper: linear in ``ln v``, applied to ``ln y`` when both ends exceed 1e-3."""
    t = ((torch.log(v) - np.log(v_lo)) / (np.log(v_hi) - np.log(v_lo)))[:, None]
    logs = (y_lo > 1e-3) & (y_hi > 1e-3)
    safe_lo = torch.where(logs, y_lo, torch.ones_like(y_lo))
    safe_hi = torch.where(logs, y_hi, torch.ones_like(y_hi))
    in_log = torch.exp(torch.log(safe_lo) + t * (torch.log(safe_hi) - torch.log(safe_lo)))
    return torch.where(logs, in_log, y_lo + t * (y_hi - y_lo))
