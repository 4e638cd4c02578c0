"""Features onto the unit cube, where mlgen's flows live: a smoothed CDF per feature.

Each feature is mapped affinely onto ``[0, 1]`` (its range, padded by a few per
cent unless it has physical bounds, as ``cos theta`` and azimuths), then through
a fixed monotonic rational-quadratic spline whose knots sit at the (weighted)
quantiles of the training sample: a C1 approximation of the feature's CDF with
``n_knots`` bins. A narrow peak (a Z or W mass) is spread over many bins, so the
generator's splines resolve it without needing bins of the peak's width; the
map has few knots so it does not copy the training sample's fluctuations (that
would defeat amplification). The map is exact both ways and differentiable.

A resonance mass with a known width can be given its line shape (``lines``): the
affine step is then the relativistic Breit-Wigner CDF at the pole M and the width
Gamma (a Cauchy distribution in s = m^2 of half width M Gamma), normalised over the
range, the phase-space map of every matrix-element generator. The peak is flat
before any knot is placed. What is left, the residual (decay phase space, PDFs,
running widths, interference, the range), varies on scales of many widths, and
is fitted as such: its logarithm is a polynomial in m, fitted by weighted
maximum likelihood, of the degree (one to ``LINE_MAX_DEGREE``) with the least
Bayesian information criterion. Quantile knots would follow the training sample's fluctuations
within the peak, and they are what moved the generated peaks to the training
sample's (two to six times the truth's error off the truth, with 10^4 events),
where the pole and width, read from the input's ``<slha>`` block, know better.
The residual's slope at the pole is what shifts the peak of a Breit-Wigner fit
(about slope x Gamma^2 / 4: 0.013 GeV for the top of p p -> t tbar), and it is
measured from ``LINE_WINDOW`` widths either side, not only the peak. Beyond the
window (the photon's rise below a Z from 30 GeV up) quantile knots follow the
sample. A residual the polynomial cannot describe (a Kolmogorov-Smirnov p-value
below ``LINE_FIT_P``) falls back to the quantile knots.

A feature can be given a parent (``given``): its knots are then fitted in
``given_bins`` equal bins of the parent's unit coordinate and interpolated
linearly between the bins' centres, a conditional CDF with a few hundred
numbers where a flow fitted to 10^4 events cannot find the dependence (the
scattering angle's forward peak grows with the mass of the system). Each knot
set increases, so every interpolation does: the map stays a bijection.

A feature that is constant in the training sample (the system's mass and
rapidity at a lepton collider) is held at its value and left out of the unit
cube: a flow would otherwise spend its likelihood on an ever sharper spike there.
"""

from __future__ import annotations

__all__ = ["FeatureMap"]

import math
from typing import Any

import numpy as np
import torch
from numpy.polynomial import legendre
from scipy.optimize import minimize
from scipy.stats import kstwobign
from torch import Tensor

from mlgen.flows.splines import rq_spline_knots


def _weighted_quantiles(x: Tensor, w: Tensor, levels: Tensor) -> Tensor:
    """Quantiles of ``x (N,)`` at ``levels (K,)``, with weights ``w (N,)``."""
    order = torch.argsort(x)
    xs, ws = x[order], w[order]
    cw = torch.cumsum(ws, 0)
    cw = (cw - 0.5 * ws) / cw[-1]
    idx = torch.searchsorted(cw, levels).clamp(1, len(x) - 1)
    lo, hi = cw[idx - 1], cw[idx]
    t = ((levels - lo) / (hi - lo).clamp(min=1e-300)).clamp(0, 1)
    return xs[idx - 1] + t * (xs[idx] - xs[idx - 1])


def _arctan_range(lo: Tensor, hi: Tensor, line: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``M^2``, ``M Gamma`` (1 for affine columns: no NaN reaches a gradient) and the arctangents of the
    range in ``s = m^2``."""
    is_line = ~torch.isnan(line[:, 0])
    s0 = torch.where(is_line, line[:, 0] ** 2, torch.zeros_like(lo))
    half = torch.where(is_line, line[:, 0] * line[:, 1], torch.ones_like(lo))
    lo2, hi2 = lo.clamp(min=0) ** 2, hi.clamp(min=0) ** 2
    return is_line, s0, half, torch.atan((lo2 - s0) / half), torch.atan((hi2 - s0) / half)


def _to_affine(x: Tensor, lo: Tensor, hi: Tensor, line: Tensor) -> Tensor:
    """``(x - lo) / (hi - lo)``, or the relativistic Breit-Wigner CDF over ``[lo, hi]`` for the
    line-shape columns."""
    is_line, s0, half, a_lo, a_hi = _arctan_range(lo, hi, line)
    cdf = (torch.atan((x.clamp(min=0) ** 2 - s0) / half) - a_lo) / (a_hi - a_lo)
    return torch.where(is_line, cdf, (x - lo) / (hi - lo))


def _from_affine(t: Tensor, lo: Tensor, hi: Tensor, line: Tensor) -> Tensor:
    """The inverse of :func:`_to_affine`."""
    is_line, s0, half, a_lo, a_hi = _arctan_range(lo, hi, line)
    mass = (s0 + half * torch.tan(a_lo + t * (a_hi - a_lo))).clamp(min=0).sqrt()
    return torch.where(is_line, mass, lo + (hi - lo) * t)


#: Below this Kolmogorov-Smirnov p-value a fitted line-shape residual gives way to quantile knots.
LINE_FIT_P = 1e-3
#: The highest degree of the residual's log-polynomial, and the grid that normalises it.
LINE_MAX_DEGREE, LINE_GRID = 8, 4096
#: The residual is fitted within this many widths of the pole (MadGraph's default ``bwcutoff``).
LINE_WINDOW = 15.0


def _line_knots(
    u: Tensor, w: Tensor, fine: Tensor, lo: float, hi: float, line: Tensor
) -> tuple[Tensor, dict[str, Any]] | None:
    """``(K + 1,)`` knots of a line-shape column's CDF at the ``fine`` levels, and the fit's degree,
    p-value and window; ``None`` when no degree describes the sample.

    Within ``LINE_WINDOW`` widths of the pole the residual is fitted as ``exp(polynomial in m)`` (see
    the module); beyond (a photon's rise below a Z, a far tail) the knots are the sample's weighted
    quantiles, and the window holds the sample's share of the events.
    """
    u_all, w_all = u.double().cpu().numpy(), w.double().cpu().numpy()
    lo_t, hi_t = torch.tensor([lo], dtype=torch.float64), torch.tensor([hi], dtype=torch.float64)
    line_t = line.double().cpu()[None]
    pole, width = float(line[0]), float(line[1])
    m_a, m_b = max(lo, pole - LINE_WINDOW * width), min(hi, pole + LINE_WINDOW * width)
    u_a, u_b = (
        float(_to_affine(torch.tensor([[m]], dtype=torch.float64), lo_t, hi_t, line_t)[0, 0])
        for m in (m_a, m_b)
    )
    u_a, u_b = (0.0 if m_a <= lo else u_a), (1.0 if m_b >= hi else u_b)
    inside = (u_all >= u_a) & (u_all <= u_b)
    if inside.sum() < 100:
        return None
    share_below = float(w_all[u_all < u_a].sum() / w_all.sum())
    share_in = float(w_all[inside].sum() / w_all.sum())
    u_np, w_np = u_all[inside], w_all[inside]
    n_eff = w_np.sum() ** 2 / (w_np**2).sum()
    w_np = w_np * n_eff / w_np.sum()
    grid = u_a + (u_b - u_a) * (np.arange(LINE_GRID) + 0.5) / LINE_GRID

    def legendre_of(v: np.ndarray, degree: int) -> np.ndarray:
        m = _from_affine(torch.from_numpy(v)[:, None], lo_t, hi_t, line_t)[:, 0].numpy()
        return legendre.legvander(2 * (m - m_a) / (m_b - m_a) - 1, degree)[:, 1:]

    data_all, grid_all = legendre_of(u_np, LINE_MAX_DEGREE), legendre_of(grid, LINE_MAX_DEGREE)
    best = None
    for degree in range(1, LINE_MAX_DEGREE + 1):
        data, on_grid = data_all[:, :degree], grid_all[:, :degree]
        target = w_np @ data

        def nll(c: np.ndarray, data=data, on_grid=on_grid, target=target) -> tuple[float, np.ndarray]:
            e = on_grid @ c
            top = e.max()
            p = np.exp(e - top)
            log_z = np.log(p.mean()) + top
            return n_eff * log_z - target @ c, n_eff * (p / p.sum()) @ on_grid - target

        fit = minimize(nll, np.zeros(degree), jac=True, method="L-BFGS-B")
        bic = 2 * fit.fun + degree * math.log(n_eff)
        if best is None or bic < best[0]:
            best = (bic, degree, fit.x)
    assert best is not None  # at least one degree was fitted
    _, degree, coef = best
    density = np.exp(grid_all[:, :degree] @ coef - (grid_all[:, :degree] @ coef).max())
    cdf = np.concatenate([[0.0], np.cumsum(density)])
    cdf /= cdf[-1]
    edges = np.linspace(u_a, u_b, LINE_GRID + 1)
    order = np.argsort(u_np)
    model = np.interp(u_np[order], edges, cdf)
    cw = np.cumsum(w_np[order]) / n_eff
    distance = max(np.abs(cw - model).max(), np.abs(cw - w_np[order] / n_eff - model).max())
    p_value = float(kstwobign.sf(distance * math.sqrt(n_eff)))
    if p_value < LINE_FIT_P:
        return None
    # the column's CDF: the fitted one inside the window, the sample's weighted quantiles beyond it
    levels = fine.numpy()
    window = (levels >= share_below) & (levels <= share_below + share_in)
    knots = np.empty_like(levels)
    knots[window] = np.interp((levels[window] - share_below) / share_in, cdf, edges)
    if (~window).any():
        beyond = _weighted_quantiles(u.contiguous(), w, torch.from_numpy(levels[~window]).to(u.device))
        knots[~window] = beyond.double().cpu().numpy()
    knots = np.where(levels < share_below, np.minimum(knots, u_a), knots)
    knots = np.where(levels > share_below + share_in, np.maximum(knots, u_b), knots)
    knots[0], knots[-1] = 0.0, 1.0
    knots_t = torch.from_numpy(np.maximum.accumulate(knots))
    widths = torch.diff(knots_t).clamp(min=1e-9)
    return torch.nn.functional.pad(torch.cumsum(widths / widths.sum(), 0), (1, 0)), {
        "degree": degree,
        "ks_p": p_value,
        "window": (m_a, m_b),
        "share_in_window": share_in,
    }


def _knots(u: Tensor, w: Tensor, k: int, tails: bool, fine: Tensor) -> Tensor:
    """``(K + 1,)`` knots of one column's smoothed CDF from its affine coordinates ``u`` (weights ``w``):
    its ``k`` quantiles (and tail levels), the piecewise-linear CDF read at the common ``fine`` levels."""
    levels = _levels(k, tails)
    inner = _weighted_quantiles(u.contiguous(), w, levels[1:-1].to(u.device))
    edges = torch.cat([levels[:1], inner.cpu(), levels[-1:]])
    edges = torch.from_numpy(np.interp(fine.numpy(), levels.numpy(), edges.numpy()))
    widths = torch.diff(edges).clamp(min=1e-9)
    return torch.nn.functional.pad(torch.cumsum(widths / widths.sum(), 0), (1, 0))


def _derivs(knots: Tensor, levels: Tensor) -> Tensor:
    """The CDF's slopes at ``knots (..., K + 1)``: harmonic means of the neighbouring secants, which keep
    the spline monotone and C1."""
    slope = torch.diff(levels.to(knots.device)) / torch.diff(knots, dim=-1)
    mid = 2 / (1 / slope[..., :-1] + 1 / slope[..., 1:])
    return torch.cat([slope[..., :1], mid, slope[..., -1:]], -1)


#: Quantile levels added near either end of a feature's range (``tails=True``).
TAIL_LEVELS = (0.002, 0.005, 0.01, 0.02)


def _levels(k: int, tails: bool) -> Tensor:
    """``k`` equal steps of the CDF from 0 to 1, plus the tail levels inside the first and last."""
    levels = np.linspace(0, 1, k + 1)
    if tails:
        extra = [t for t in TAIL_LEVELS if t < 0.5 / k]
        levels = np.unique(np.concatenate([levels, extra, [1 - t for t in extra]]))
    return torch.from_numpy(levels)


#: The map's tensors, in the order of :class:`FeatureMap`'s arguments.
_STATE = ("lo", "hi", "knots", "derivs", "free", "value", "levels", "line")


class FeatureMap:
    """A per-feature bijection between feature space and ``[0, 1]^d``.

    Arguments:
        lo, hi: ``(d,)`` the affine range.
        knots: ``(d, K + 1)`` the quantile knots in the affine coordinate (0 to 1).
        derivs: ``(d, K + 1)`` the CDF's slopes there.
        levels: ``(K + 1,)`` the CDF's values at the knots: the unit coordinate.
        free: ``(d,)`` the columns that vary (the others are held at ``value``).
        value: ``(d,)`` a constant column's value.
        line: ``(dim, 2)`` pole and width of a column's Breit-Wigner step, NaN for an affine one.
        given: ``{column: (parent column, (B, K + 1) knots per bin of the parent)}``, in the unit
            cube's columns.
    """

    def __init__(
        self,
        lo: Tensor,
        hi: Tensor,
        knots: Tensor,
        derivs: Tensor,
        free: Tensor,
        value: Tensor,
        levels: Tensor,
        line: Tensor | None = None,
        given: dict[int, tuple[int, Tensor]] | None = None,
    ) -> None:
        self.given = given or {}
        #: ``{feature column: {"pole", "width", "degree", "ks_p"}}`` of the line shapes :meth:`fit` fitted
        #: (``degree`` None: the residual fell back to quantile knots).
        self.line_fits: dict[int, dict] = {}
        self.lo, self.hi, self.knots, self.derivs = lo, hi, knots, derivs
        self.free, self.value, self.levels = free, value, levels
        self.line = (
            torch.full((len(lo), 2), math.nan, dtype=lo.dtype, device=lo.device) if line is None else line
        )

    @property
    def dim(self) -> int:
        """The unit cube's dimension: the number of columns that vary."""
        return int(self.free.sum())

    def unit_columns(self, columns: list[int]) -> list[int]:
        """The unit cube's columns of feature ``columns`` (each must vary)."""
        position = torch.cumsum(self.free.long(), 0) - 1
        return [int(position[j]) for j in columns if bool(self.free[j])]

    def state(self) -> dict[str, object]:
        """Everything the map is, as CPU tensors (:meth:`from_state` rebuilds it)."""
        tensors = {k: getattr(self, k).cpu() for k in _STATE}
        return tensors | {
            "given": [(j, parent, per_bin.cpu()) for j, (parent, per_bin) in self.given.items()]
        }

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str = "cpu") -> FeatureMap:
        given = {int(j): (int(parent), per_bin.to(device)) for j, parent, per_bin in state["given"]}
        lo, hi, knots, derivs, free, value, levels, line = (state[k].to(device) for k in _STATE)
        return cls(lo, hi, knots, derivs, free, value, levels, line, given)

    @classmethod
    def fit(
        cls,
        x: Tensor,
        weight: Tensor | None = None,
        *,
        bounds: list[tuple[float | None, float | None] | None] | None = None,
        n_knots: int | list[int] = 24,
        pad: float = 0.02,
        tails: bool = True,
        lines: list[tuple[float, float] | None] | None = None,
        given: dict[int, int] | None = None,
        given_bins: int = 4,
        residuals: set[int] | None = None,
    ) -> FeatureMap:
        """Fit to ``x (N, d)``; ``bounds[j] = (lo, hi)`` fixes column ``j``'s range (no padding), either
        end may be ``None`` (the data's, padded).

        ``n_knots`` may differ per column (more for a narrow peak): a column with fewer has its
        piecewise-linear CDF read at the common knots, so it follows only its own quantiles.
        ``tails`` adds knots at the 0.2, 0.5, 1 and 2 per cent quantiles from either end, so the
        map resolves the falling edges of a distribution, not only its bulk.
        ``lines[j] = (pole, width)`` (GeV) gives column ``j`` a Breit-Wigner step and, if ``j`` is in
        ``residuals`` (default: every line column), a fitted residual (see the module; the fits are in
        :attr:`line_fits`), else quantile knots.
        ``given[j] = p`` fits column ``j``'s knots in ``given_bins`` bins of column ``p`` (see the module;
        ``p`` has no parent of its own).
        """
        x = x.double()
        w = torch.ones(len(x), dtype=x.dtype, device=x.device) if weight is None else weight.double()
        lo, hi = x.min(0).values, x.max(0).values
        free = (hi - lo) > 1e-9 * torch.maximum(torch.maximum(lo.abs(), hi.abs()), torch.ones_like(lo))
        for j, b in enumerate(bounds or []):
            free[j] |= b is not None
        value = (w[:, None] * x).sum(0) / w.sum()
        span = (hi - lo).clamp(min=1e-9)
        lo, hi = lo - pad * span, hi + pad * span
        for j, b in enumerate(bounds or []):
            for end, fixed in zip((lo, hi), b or (None, None)):
                if fixed is not None:
                    end[j] = fixed
        line = torch.full((x.shape[1], 2), math.nan, dtype=x.dtype, device=x.device)
        for j, shape in enumerate(lines or []):
            if shape is not None:
                line[j] = torch.tensor(shape, dtype=x.dtype)
                lo[j] = lo[j].clamp(min=0)
        u = _to_affine(x, lo, hi, line).clamp(0, 1)
        per_column = [n_knots] * x.shape[1] if isinstance(n_knots, int) else list(n_knots)
        fine = _levels(max(per_column), tails)
        columns, line_fits = [], {}
        for j, k in enumerate(per_column):
            fitted = None
            if not torch.isnan(line[j, 0]) and free[j] and (residuals is None or j in residuals):
                fitted = _line_knots(u[:, j], w, fine, float(lo[j]), float(hi[j]), line[j])
                line_fits[j] = {"pole": float(line[j, 0]), "width": float(line[j, 1])} | (
                    fitted[1] if fitted else {"degree": None}
                )
            columns.append(fitted[0] if fitted else _knots(u[:, j], w, k, tails, fine))
        knots = torch.stack(columns)
        knots = knots.to(x.device)
        free = free.to(x.device)
        fmap = cls(
            lo[free],
            hi[free],
            knots[free],
            _derivs(knots, fine)[free],
            free,
            value,
            fine.to(x.device),
            line[free],
        )
        position = torch.cumsum(free.long(), 0) - 1  # a free column's place in the unit cube
        conditional = {}
        for j, parent in (given or {}).items():
            if parent in (given or {}):
                raise ValueError(f"given: column {parent}, the parent of {j}, has a parent itself")
            if not (free[j] and free[parent]):
                continue
            u_parent = fmap.to_unit(x)[:, int(position[parent])]
            which = (u_parent * given_bins).long().clamp(0, given_bins - 1)
            if int(torch.bincount(which, minlength=given_bins).min()) < 2 * len(fine):
                continue  # too few events in a bin for its quantiles: the column keeps its marginal map
            per_bin = [
                _knots(u[which == b, j], w[which == b], per_column[j], tails, fine) for b in range(given_bins)
            ]
            conditional[int(position[j])] = (int(position[parent]), torch.stack(per_bin).to(x.device))
        fmap.given = conditional
        fmap.line_fits = line_fits
        return fmap

    def _spline(self, v: Tensor, inverse: bool, u_parents: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The knots' spline; a column with a parent takes its knots at the parent's unit coordinate in
        ``u_parents`` (``(N, dim)``)."""
        xk = self.knots.to(v.dtype).expand(len(v), -1, -1)
        yk = self.levels.to(v.dtype).to(v.device).expand_as(xk)
        derivs = self.derivs.to(v.dtype).expand_as(xk)
        if self.given and u_parents is not None:
            xk, derivs = xk.clone(), derivs.clone()
            for j, (parent, per_bin) in self.given.items():
                per_bin = per_bin.to(v.dtype)
                t = u_parents[:, parent] * len(per_bin) - 0.5  # 0 at the first bin's centre
                low = t.floor().clamp(0, len(per_bin) - 2).long()
                frac = (t - low).clamp(0, 1)[:, None]
                xk[:, j] = (1 - frac) * per_bin[low] + frac * per_bin[low + 1]
                derivs[:, j] = _derivs(xk[:, j], self.levels.to(v.dtype))
        return rq_spline_knots(v, xk, yk, derivs, inverse=inverse)

    def to_unit(self, x: Tensor) -> Tensor:
        """Features ``(N, d)`` to ``[0, 1]^dim`` (values outside the range are clamped)."""
        lo, hi, line = self.lo.to(x.dtype), self.hi.to(x.dtype), self.line.to(x.dtype)
        affine = _to_affine(x[:, self.free], lo, hi, line).clamp(0, 1)
        u = self._spline(affine, inverse=False)[0]
        # a parent has no parent: its unconditional coordinate is its coordinate
        return self._spline(affine, inverse=False, u_parents=u)[0] if self.given else u

    def from_unit(self, u: Tensor) -> Tensor:
        """``[0, 1]^dim`` back to features ``(N, d)`` (differentiable), constant columns filled in."""
        lo, hi, line = self.lo.to(u.dtype), self.hi.to(u.dtype), self.line.to(u.dtype)
        varying = _from_affine(self._spline(u, inverse=True, u_parents=u)[0], lo, hi, line)
        out = self.value.to(u.dtype).expand(len(u), -1).clone()
        out[:, self.free] = varying
        return out
