"""Mode discovery on the unit cube: hill climbs from many starts, a Gaussian around each mode found.

A VEGAS grid is a product of one-dimensional densities: two narrow peaks on the
diagonal of a 16-d cube become ``2^16`` cells of which two hold the integrand, and
a flow trained from uniform points may find one peak and never the other. A local
climb does not care about dimensions the way a grid does: from any start, ``log f``
rises towards the nearest mode. :func:`find_modes` runs ``n_starts`` batched
(1+1) evolution strategies (a Gaussian step, kept when ``f`` does not fall, the
step size tuned by the 1/5 success rule: I. Rechenberg 1973; N. Hansen,
arXiv:1604.00772, sec. 1), merges the end points that lie within a few widths of
each other, and measures each mode's width per axis from the curvature of
``log f`` (three-point differences). Each mode's mass is its Laplace estimate
``f(mu) prod_i sqrt(2 pi) sigma_i``.

:class:`ModeMixture` is a normalised density built from them: truncated
Gaussians at the modes (weighted by mass) plus a uniform share, so it is positive
everywhere and an importance-sampling estimate with it is unbiased. It serves as
a second probe of the coverage check, independent of the VEGAS grid and of the
trained sampler, and its points can seed a flow's training.
"""

from __future__ import annotations

__all__ = ["Mode", "ModeMixture", "find_modes", "mode_probe_density"]

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mlgen.integrate.base import Integrand

_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class Mode:
    """A local maximum of ``f``: position ``centre (d,)``, widths ``width (d,)`` and ``log`` of its
    Laplace mass (all float64)."""

    centre: Tensor
    width: Tensor
    log_mass: float


def _log_f(f: Integrand, u: Tensor) -> Tensor:
    with torch.no_grad():
        value = f(u).abs()
    return torch.where(torch.isfinite(value), torch.log(value), torch.full_like(value, -math.inf))


def _newton(
    f: Integrand, centre: Tensor, log_f0: Tensor, step: float, max_width: float
) -> tuple[Tensor, Tensor, int]:
    """One Newton step per axis on ``log f`` from three-point differences, and the widths there.

    At each ``centre (M, d)``: gradient and curvature of ``log f`` per axis, the step
    ``g / c`` (kept within one width; exact for a Gaussian), then the widths
    ``1 / sqrt(-d^2 log f / du_i^2)`` at the new centre. Returns centres, widths and calls.
    """

    def differences(x: Tensor, log_fx: Tensor) -> tuple[Tensor, Tensor]:
        m, d = x.shape
        eye = torch.eye(d, dtype=x.dtype, device=x.device) * step
        lp = _log_f(f, (x[:, None, :] + eye).clamp(0.0, 1.0).reshape(-1, d)).reshape(m, d)
        lm = _log_f(f, (x[:, None, :] - eye).clamp(0.0, 1.0).reshape(-1, d)).reshape(m, d)
        grad = torch.nan_to_num((lp - lm) / (2 * step), nan=0.0, posinf=0.0, neginf=0.0)
        curv = -(lp + lm - 2.0 * log_fx[:, None]) / step**2
        return grad, torch.nan_to_num(curv, nan=0.0, posinf=1.0 / step**2, neginf=0.0)

    def widths(curv: Tensor) -> Tensor:
        flat = torch.full_like(curv, max_width)
        return torch.where(curv > 0, curv.clamp(min=1e-30) ** -0.5, flat).clamp(min=step, max=max_width)

    grad, curv = differences(centre, log_f0)
    width = widths(curv)
    move = torch.where(curv > 0, grad / curv.clamp(min=1e-30), torch.zeros_like(grad))
    moved = (centre + torch.maximum(torch.minimum(move, width), -width)).clamp(0.0, 1.0)
    log_moved = _log_f(f, moved)
    better = log_moved > log_f0
    centre = torch.where(better[:, None], moved, centre)
    log_f0 = torch.where(better, log_moved, log_f0)
    _, curv = differences(centre, log_f0)
    calls = 4 * centre.shape[0] * centre.shape[1] + centre.shape[0]
    return centre, widths(curv), calls


def find_modes(
    f: Integrand,
    dim: int,
    generator: torch.Generator,
    *,
    n_starts: int = 64,
    n_steps: int = 200,
    max_modes: int = 8,
    max_width: float = 0.5,
    starts: Tensor | None = None,
) -> tuple[list[Mode], int]:
    """Climb ``log |f|`` from ``n_starts`` points; returns the distinct modes (heaviest first), calls spent.

    Arguments:
        f: the integrand on ``[0, 1]^dim``.
        generator: the random stream of the starts and the steps.
        n_starts: climbs run side by side (uniform starts unless ``starts`` gives them).
        n_steps: steps of each climb (one call per climb each).
        max_modes: the most modes returned.
        max_width: the widest a mode may be on an axis (flat directions get this).
        starts: ``(n_starts, dim)`` starting points instead of uniform ones.
    """
    device = generator.device
    if starts is None:
        x = torch.rand(n_starts, dim, generator=generator, dtype=torch.float64, device=device)
    else:
        x = starts.to(device=device, dtype=torch.float64).clone()
        n_starts = x.shape[0]
    log_fx = _log_f(f, x)
    calls = n_starts
    sigma = torch.full((n_starts, 1), 0.1, dtype=torch.float64, device=device)
    up, down = math.exp(1.0 / 3.0), math.exp(-1.0 / 12.0)  # stationary at a 1/5 success rate
    for _ in range(n_steps):
        z = torch.randn(n_starts, dim, generator=generator, dtype=torch.float64, device=device)
        y = x + sigma * z
        y = torch.where(y < 0, -y, y)
        y = torch.where(y > 1, 2.0 - y, y).clamp(0.0, 1.0)  # reflected into the cube
        log_fy = _log_f(f, y)
        calls += n_starts
        better = (log_fy > log_fx) | ((log_fy == log_fx) & torch.isinf(log_fx))
        x = torch.where(better[:, None], y, x)
        log_fx = torch.where(better, log_fy, log_fx)
        sigma = torch.where(better[:, None], sigma * up, sigma * down).clamp(1e-6, 0.5)
    found = torch.isfinite(log_fx)
    if not bool(found.any()):
        return [], calls
    x, log_fx = x[found], log_fx[found]
    order = torch.argsort(log_fx, descending=True)
    x, log_fx = x[order], log_fx[order]
    x, width, newton_calls = _newton(f, x, log_fx, 1e-3, max_width)
    log_fx = _log_f(f, x)
    calls += newton_calls + x.shape[0]
    modes: list[Mode] = []
    for i in range(x.shape[0]):
        # an end point within three widths (on every axis) of a mode already kept is that mode
        if any(bool((((x[i] - m.centre) / m.width).abs() < 3.0).all()) for m in modes):
            continue
        log_mass = float(log_fx[i] + torch.log(width[i] * math.sqrt(2 * math.pi)).sum())
        modes.append(Mode(x[i].clone(), width[i].clone(), log_mass))
    modes.sort(key=lambda m: -m.log_mass)
    return modes[:max_modes], calls


class ModeMixture:
    """``q(u) = (1 - uniform) sum_m pi_m N_[0,1](u; mu_m, sigma_m) + uniform``: truncated Gaussians
    (independent axes) at the modes, weighted by their Laplace masses, and a uniform share.

    >>> m = Mode(torch.full((2,), 0.3, dtype=torch.float64), torch.full((2,), 0.1, dtype=torch.float64), 0.0)
    >>> q = ModeMixture([m])
    >>> u, log_q = q.sample(5, torch.Generator().manual_seed(1))
    >>> bool(torch.allclose(q.log_prob(u), log_q))
    True
    """

    def __init__(self, modes: list[Mode], uniform: float = 0.1, min_share: float = 0.01) -> None:
        if not modes:
            raise ValueError("ModeMixture needs at least one mode")
        if not 0 < uniform < 1:
            raise ValueError(f"uniform: expected a share in (0, 1), got {uniform}")
        self.dim = int(modes[0].centre.shape[0])
        self.centre = torch.stack([m.centre for m in modes])
        self.width = torch.stack([m.width for m in modes])
        log_mass = torch.tensor([m.log_mass for m in modes], dtype=torch.float64)
        share = torch.softmax(log_mass, 0)
        # every mode found keeps some share: a Laplace mass can be far off for a non-Gaussian peak
        share = share.clamp(min=min_share)
        self.share = share / share.sum()
        self.uniform = float(uniform)
        lo = self._cdf(torch.zeros_like(self.centre))
        hi = self._cdf(torch.ones_like(self.centre))
        self._lo, self._mass = lo, (hi - lo).clamp(min=1e-300)

    def _cdf(self, u: Tensor) -> Tensor:
        return 0.5 * (1.0 + torch.erf((u - self.centre) / (self.width * _SQRT2)))

    def log_prob(self, u: Tensor) -> Tensor:
        """``(N,)`` ``log q`` at ``u (N, d)``."""
        c, w = self.centre.to(u.device), self.width.to(u.device)
        z = (u[:, None, :] - c) / w
        log_comp = (
            -0.5 * z * z - torch.log(w * math.sqrt(2 * math.pi)) - torch.log(self._mass.to(u.device))
        ).sum(-1)
        terms = log_comp + torch.log(self.share.to(u.device) * (1.0 - self.uniform))
        uniform = torch.full((u.shape[0], 1), math.log(self.uniform), dtype=u.dtype, device=u.device)
        return torch.logsumexp(torch.cat([terms, uniform], 1), 1)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` points and their ``log q`` (float64)."""
        device = generator.device
        pick = torch.rand(n, generator=generator, dtype=torch.float64, device=device)
        r = torch.rand(n, self.dim, generator=generator, dtype=torch.float64, device=device)
        k = torch.multinomial(self.share.to(device), n, replacement=True, generator=generator)
        c, w = self.centre.to(device)[k], self.width.to(device)[k]
        p = self._lo.to(device)[k] + r * self._mass.to(device)[k]
        g = c + w * _SQRT2 * torch.erfinv((2.0 * p - 1.0).clamp(-1 + 1e-16, 1 - 1e-16))
        u = torch.where((pick < self.uniform)[:, None], r, g.clamp(0.0, 1.0))
        return u, self.log_prob(u)

    def state(self) -> dict[str, Any]:
        return {
            "centre": self.centre.cpu(),
            "width": self.width.cpu(),
            "share": self.share,
            "uniform": self.uniform,
        }

    def to(self, device: torch.device | str) -> ModeMixture:
        return self

    def describe(self) -> str:
        """The modes in a line: share and centre's first coordinates."""
        parts = []
        for s, c in zip(self.share.tolist(), self.centre, strict=True):
            shown = ", ".join(f"{v:.2f}" for v in c[:4].tolist())
            parts.append(f"{s:.2f} at ({shown}{', ...' if self.dim > 4 else ''})")
        return f"{len(parts)} modes: " + "; ".join(parts)


def mode_probe_density(
    f: Integrand, dim: int, generator: torch.Generator, **kwargs: Any
) -> tuple[ModeMixture | None, int]:
    """:func:`find_modes` then :class:`ModeMixture`; ``(None, calls)`` when no start saw ``f != 0``."""
    modes, calls = find_modes(f, dim, generator, **kwargs)
    return (ModeMixture(modes) if modes else None), calls
