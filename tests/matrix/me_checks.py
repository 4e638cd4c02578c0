"""Helpers for the matrix-element tests: 2 -> 2 kinematics, protocol and colour-flow checks."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mlgen.matrix.base import MatrixElement


def two_to_two(
    sqrt_s: Tensor | float, cos: Tensor, m3: float = 0.0, m4: float = 0.0, phi: float = 0.4
) -> Tensor:
    """``(B, 4, 4)`` centre-of-mass momenta: beams along +-z, particle 3 at polar ``cos``."""
    cos = torch.as_tensor(cos, dtype=torch.float64)
    s = torch.as_tensor(sqrt_s, dtype=torch.float64).expand_as(cos) ** 2
    e = torch.sqrt(s) / 2
    k = torch.sqrt((s - (m3 + m4) ** 2) * (s - (m3 - m4) ** 2)) / (2 * torch.sqrt(s))
    sin = torch.sqrt(1 - cos * cos)
    zero = torch.zeros_like(cos)
    p1 = torch.stack([e, zero, zero, e], -1)
    p2 = torch.stack([e, zero, zero, -e], -1)
    e3 = torch.sqrt(k * k + m3 * m3)
    e4 = torch.sqrt(k * k + m4 * m4)
    d = torch.stack([sin * math.cos(phi), sin * math.sin(phi), cos], -1)
    p3 = torch.cat([e3[:, None], k[:, None] * d], -1)
    p4 = torch.cat([e4[:, None], -k[:, None] * d], -1)
    return torch.stack([p1, p2, p3, p4], 1)


def parity(p: Tensor) -> Tensor:
    """Flip the three-momenta."""
    return p * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=p.dtype)


def check_protocol(me: MatrixElement, p: Tensor) -> Tensor:
    """Protocol attributes, shapes, finiteness, non-negativity and colour-flow validity; returns ``|M|^2``."""
    assert isinstance(me, MatrixElement)
    n = p.shape[1]
    assert len(me.masses) == n
    for sub in me.subprocesses:
        assert len(sub.pdg) == n
        assert sub.colour_flows, sub
        for flow in sub.colour_flows:
            check_flow(flow)
    for res in me.resonances:
        assert all(2 <= d < n for d in res.daughters)
        if res.pdg_by_subprocess is not None:
            assert len(res.pdg_by_subprocess) == len(me.subprocesses)
    out = me(p)
    assert out.shape == (p.shape[0], len(me.subprocesses))
    assert out.dtype == torch.float64
    assert bool(torch.isfinite(out).all())
    weights = me.colour_weights(p)
    if weights is not None:
        assert weights.shape[:2] == out.shape
        assert weights.shape[2] == max(len(s.colour_flows) for s in me.subprocesses)
        assert bool((weights >= 0).all())
        for k, sub in enumerate(me.subprocesses):
            assert bool((weights[:, k, len(sub.colour_flows) :] == 0).all())
    return out


def check_flow(flow: tuple[tuple[int, int], ...]) -> None:
    """Every tag joins one colour to one anticolour, with incoming particles crossed."""
    colours: list[int] = []
    anticolours: list[int] = []
    for i, (c, a) in enumerate(flow):
        if i < 2:
            c, a = a, c  # an incoming colour is an outgoing anticolour
        if c:
            colours.append(c)
        if a:
            anticolours.append(a)
    assert sorted(colours) == sorted(anticolours), flow
    assert len(set(colours)) == len(colours), flow
