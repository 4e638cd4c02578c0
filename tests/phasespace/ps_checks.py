"""Shared checks for the phase-space tests (imported by the test modules)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mlgen.physics.vectors import mass2


def uniform(n: int, dim: int, seed: int, device: str = "cpu") -> Tensor:
    """``(n, dim)`` float64 uniforms from a seeded generator, kept away from the cube's faces by 1e-9."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, dim, generator=g, dtype=torch.float64)
    return (1e-9 + (1.0 - 2e-9) * u).to(device)


def assert_on_shell(p: Tensor, masses: tuple[float, ...] | list[float], rtol: float = 1e-10) -> None:
    """``|p_i^2 - m_i^2| <= rtol E_i^2`` for momenta ``(B, n, 4)``."""
    m = torch.tensor(masses, dtype=p.dtype, device=p.device)
    err = (mass2(p) - m * m).abs() / p[..., 0] ** 2
    assert float(err.max()) < rtol, float(err.max())
    assert bool((p[..., 0] > 0).all())


def assert_conserved(p_in: Tensor, p_out: Tensor, rtol: float = 1e-10) -> None:
    """Sum of ``p_out (B, n, 4)`` equals ``p_in (B, 4)`` to ``rtol`` of the total energy."""
    err = (p_out.sum(1) - p_in).abs().amax(-1) / p_in[:, 0]
    assert float(err.max()) < rtol, float(err.max())


def per_event_log_det(f, u: Tensor) -> Tensor:  # noqa: ANN001 (a callable on one event)
    """``log |det df/du|`` per event, by ``torch.autograd.functional.jacobian`` on each row."""
    out = []
    for row in u:
        jac = torch.autograd.functional.jacobian(f, row)
        out.append(torch.linalg.slogdet(jac).logabsdet)
    return torch.stack(out)


def massless_volume(n: int, s: float) -> float:
    """Closed form written out again (independent of ``mlgen.phasespace.rambo``)."""
    return (
        (math.pi / 2) ** (n - 1)
        * s ** (n - 2)
        / (math.factorial(n - 1) * math.factorial(n - 2))
        / (2 * math.pi) ** (3 * n - 4)
    )


def assert_mc(weights: Tensor, exact: float, max_rel_sdev: float) -> None:
    """``|mean - exact| < 4 sdev`` and ``sdev / exact < max_rel_sdev`` (so a huge error bar cannot pass)."""
    mean = float(weights.mean())
    sdev = float(weights.std()) / math.sqrt(weights.numel())
    assert abs(mean - exact) < 4 * sdev + 1e-13 * abs(exact), (mean, exact, sdev)
    assert sdev / abs(exact) < max_rel_sdev, sdev / abs(exact)
