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
        self.has_two_knot_subgrid = bool(np.any(self.lower_edge & self.upper_edge))
        self._cache: dict[tuple[str, torch.dtype], dict[str, Tensor]] = {}

    @property
    def n_flavours(self) -> int:
        return self.values.shape[2]

    def _tables(self, device: torch.device, dtype: torch.dtype) -> dict[str, Tensor]:
        key = (str(device), dtype)
        if key not in self._cache:
            t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
            nx, nq, nf = self.values.shape
            # f and its ln-x derivative side by side, one row per (x knot, Q knot)
            both = np.concatenate([self.values, self.dx_values], axis=2).reshape(nx * nq, 2 * nf)
            self._cache[key] = {
                "lx": t(np.log(self.x_knots)),
                "lq": t(np.log(self.q2_knots)),
                "table": t(both),
                "lower": torch.as_tensor(self.lower_edge, device=device),
                "upper": torch.as_tensor(self.upper_edge, device=device),
            }
        return self._cache[key]

    def _weights(self, tb: dict[str, Tensor], lx: Tensor, lq: Tensor) -> tuple[Tensor, Tensor]:
        """Rows of the knot table and their weights: ``(B, 8)`` indices and ``(B, 16)`` weights.

        The interpolated value is linear in the 16 numbers ``f`` and ``d f / d ln x`` at the
        knots ``(ix, ix + 1) x (iq - 1 .. iq + 2)``; the weights hold LHAPDF's rules.
        """
        lx_k, lq_k = tb["lx"], tb["lq"]
        nx, nq = lx_k.shape[0], lq_k.shape[0]
        ix = (torch.searchsorted(lx_k, lx.contiguous(), right=True) - 1).clamp(0, nx - 2)
        iq = (torch.searchsorted(lq_k, lq.contiguous(), right=True) - 1).clamp(0, nq - 2)
        dlx = lx_k[ix + 1] - lx_k[ix]
        tx = (lx - lx_k[ix]) / dlx
        lq_l, lq_h = lq_k[iq], lq_k[iq + 1]
        d1 = lq_h - lq_l
        d0 = lq_l - lq_k[(iq - 1).clamp(min=0)]
        d2 = lq_k[(iq + 2).clamp(max=nq - 1)] - lq_h
        tq = (lq - lq_l) / d1
        lower, upper = tb["lower"][iq], tb["upper"][iq]
        one, zero = torch.ones_like(tx), torch.zeros_like(tx)
        r0 = torch.where(lower, zero, d1 / torch.where(lower, one, d0))
        r2 = torch.where(upper, zero, d1 / torch.where(upper, one, d2))
        # Hermite basis in x (value and derivative weights at ix and ix + 1)
        t2, t3 = tx * tx, tx * tx * tx
        hx = torch.stack([2 * t3 - 3 * t2 + 1, 3 * t2 - 2 * t3], -1)  # f at ix, ix+1
        hdx = torch.stack([(t3 - 2 * t2 + tx) * dlx, (t3 - t2) * dlx], -1)  # d at ix, ix+1
        # Hermite in ln Q^2 with LHAPDF's edge rules, as weights on v(iq-1 .. iq+2)
        s2, s3 = tq * tq, tq * tq * tq
        h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + tq, 3 * s2 - 2 * s3, s3 - s2
        a_m = torch.where(lower, zero, -0.5 * r0)
        a_l = torch.where(lower, -one, 0.5 * (r0 - 1))
        a_h = torch.where(lower, one, 0.5 * one)
        b_l = torch.where(upper, -one, -0.5 * one)
        b_h = torch.where(upper, one, 0.5 * (1 - r2))
        b_p = torch.where(upper, zero, 0.5 * r2)
        wq = torch.stack([h10 * a_m, h00 + h10 * a_l + h11 * b_l, h01 + h10 * a_h + h11 * b_h, h11 * b_p], -1)
        if self.has_two_knot_subgrid:
            # two-knot subgrids: bilinear in (ln x, ln Q^2), no derivatives
            both = (lower & upper)[:, None]
            lin_x = torch.stack([1 - tx, tx], -1)
            lin_q = torch.stack([zero, 1 - tq, tq, zero], -1)
            hx = torch.where(both, lin_x, hx)
            hdx = torch.where(both, torch.zeros_like(hdx), hdx)
            wq = torch.where(both, lin_q, wq)
        w_f = hx[:, :, None] * wq[:, None, :]  # (B, 2, 4)
        w_d = hdx[:, :, None] * wq[:, None, :]
        weights = torch.stack([w_f, w_d], -1).reshape(-1, 16)  # order: (i, j, f/d)
        jq = torch.stack([iq - 1, iq, iq + 1, iq + 2], 1).clamp(0, nq - 1)
        rows = (
            (ix[:, None] + torch.arange(2, device=ix.device)[None, :])[:, :, None] * nq + jq[:, None, :]
        ).reshape(-1, 8)
        return rows, weights

    def interpolate(self, x: Tensor, q2: Tensor, chunk: int = 4096) -> Tensor:
        """``(B, nf)`` ``x f`` at points inside the grid (no range checks)."""
        tb = self._tables(x.device, x.dtype)
        nf = self.n_flavours
        table = tb["table"]
        # weights for the whole batch at once (elementwise, cheap per point); the gather and
        # contraction in cache-sized chunks
        rows, weights = self._weights(tb, torch.log(x), torch.log(q2))
        out = torch.empty(x.shape[0], nf, dtype=x.dtype, device=x.device)
        for start in range(0, x.shape[0], chunk):
            sl = slice(start, start + chunk)
            block = table.index_select(0, rows[sl].reshape(-1)).reshape(-1, 16, nf)
            out[sl] = torch.bmm(weights[sl, None, :], block).squeeze(1)
        return out

    def __call__(self, x: Tensor, q2: Tensor) -> Tensor:
        """``(B, nf)`` ``x f`` with LHAPDF's continuation outside the grid.

        Raises:
            ValueError: for ``x`` outside ``(0, 1]`` or beyond the last x knot, or ``Q^2 < 0``.
        """
        tb = self._tables(x.device, x.dtype)
        x_min, x_max = float(self.x_knots[0]), float(self.x_knots[-1])
        q2_min, q2_max = float(self.q2_knots[0]), float(self.q2_knots[-1])
        if bool((x <= 0).any()) or bool((x > x_max).any()):
            raise ValueError(
                f"x must lie in (0, {x_max:g}], got values in [{float(x.min()):g}, {float(x.max()):g}]"
            )
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
        qc = torch.where(
            q_hi, torch.full_like(q2, q2_max), torch.where(q_lo, torch.full_like(q2, q2_min), q2)
        )

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
        anom = torch.where(
            small,
            torch.ones_like(f0),
            torch.clamp((f1 - f0) / torch.where(small, torch.ones_like(f0), f0) / 0.01, min=-2.5),
        )
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
