"""Integrands with exact integrals, for tests and benchmarks: i-flow's camel, Gaussian; a BW ridge.

Definitions as in i-flow (arXiv:2001.05486) and ``../shared/research/nis_anchors.md``.
"""

from __future__ import annotations

import math

import torch
from scipy.special import erf
from torch import Tensor

__all__ = ["bw_ridge", "camel", "gauss", "zunis_camel"]


def camel(dim: int, alpha: float = 0.2):
    """Two Gaussians of width alpha/sqrt(2) at (1/3, ...) and (2/3, ...), each carrying half."""
    norm = 0.5 * (alpha * math.sqrt(math.pi)) ** (-dim)

    def f(u: Tensor) -> Tensor:
        a = ((u - 1 / 3) ** 2).sum(-1)
        b = ((u - 2 / 3) ** 2).sum(-1)
        return norm * (torch.exp(-a / alpha**2) + torch.exp(-b / alpha**2))

    one = 0.5 * (erf(1 / (3 * alpha)) + erf(2 / (3 * alpha)))
    return f, one**dim


def zunis_camel(dim: int, s: float = 0.1):
    """ZueNIS' camel (PyPI ``zunis``, its benchmarks): ``exp(-|u - 1/4|^2 / s^2) + exp(-|u - 3/4|^2 / s^2)``,
    not normalised (``s = 0.1``, ``d = 8``: 1.94501e-6)."""

    def f(u: Tensor) -> Tensor:
        return torch.exp(-((u - 0.25) ** 2).sum(-1) / s**2) + torch.exp(-((u - 0.75) ** 2).sum(-1) / s**2)

    one = 0.5 * s * math.sqrt(math.pi) * (erf(0.75 / s) + erf(0.25 / s))
    return f, 2 * one**dim


def gauss(dim: int, alpha: float = 0.2):
    norm = (alpha * math.sqrt(math.pi)) ** (-dim)

    def f(u: Tensor) -> Tensor:
        return norm * torch.exp(-((u - 0.5) ** 2).sum(-1) / alpha**2)

    return f, erf(1 / (2 * alpha)) ** dim


def bw_ridge(dim: int = 8, width: float = 0.02):
    """prod over pairs of a Cauchy density in x_{2k-1} - x_{2k} centred at 0 (half width width/2)."""
    if dim % 2:
        raise ValueError("bw_ridge needs an even dimension")
    g = width / 2

    def f(u: Tensor) -> Tensor:
        t = u[:, 0::2] - u[:, 1::2]
        return (g / math.pi / (t**2 + g**2)).prod(-1)

    # int_0^1 int_0^1 Cauchy(x - y) dx dy = (2/pi)(atan(1/g) - (g/2) log(1 + 1/g^2))
    pair = 2 / math.pi * (math.atan(1 / g) - g / 2 * math.log1p(1 / g**2))
    return f, pair ** (dim // 2)
