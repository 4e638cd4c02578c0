"""Maps of one unit-cube number onto an invariant mass squared ``s`` in ``[s_min, s_max]``.

Each map has ``forward(u, s_min, s_max) -> (s, log ds/du)`` and
``inverse(s, s_min, s_max) -> (u, log du/ds)`` (the sign convention of
:mod:`mlgen.phasespace.base`). ``u`` and ``s`` have shape ``(B,)``; the bounds are
floats or tensors broadcasting against them (they vary per event inside decay
chains), in GeV^2. Each map flattens one propagator shape, so that a matrix
element with that propagator gives a nearly constant weight.
"""

from __future__ import annotations

__all__ = ["BreitWigner", "Flat", "Invariant", "PowerLaw"]

from typing import Protocol

import torch
from torch import Tensor


def _t(x: Tensor | float, like: Tensor) -> Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


class Invariant(Protocol):
    """An invertible map ``u in [0, 1] -> s in [s_min, s_max]``."""

    def forward(self, u: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]: ...

    def inverse(self, s: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]: ...


class Flat:
    """``s = s_min + (s_max - s_min) u``: for contact interactions and smooth integrands.

    >>> s, lj = Flat().forward(torch.tensor([0.5], dtype=torch.float64), 0.0, 4.0)
    >>> float(s), float(lj.exp())
    (2.0, 4.0)
    """

    def forward(self, u: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        width = _t(s_max, u) - s_min
        return s_min + width * u, torch.log(width).expand_as(u)

    def inverse(self, s: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        width = _t(s_max, s) - s_min
        return (s - s_min) / width, (-torch.log(width)).expand_as(s)


class BreitWigner:
    """Arctan map flattening ``1 / ((s - m^2)^2 + m^2 Gamma^2)`` on ``[s_min, s_max]``.

    ``s = m^2 + m Gamma tan(theta)``, ``theta`` uniform between
    ``atan((s_min - m^2)/(m Gamma))`` and ``atan((s_max - m^2)/(m Gamma))``, hence
    ``ds/du = (theta_max - theta_min) ((s - m^2)^2 + m^2 Gamma^2) / (m Gamma)``.

    Arguments:
        mass: pole mass in GeV (> 0).
        width: total width in GeV (> 0).
    """

    def __init__(self, mass: float, width: float) -> None:
        if mass <= 0.0 or width <= 0.0:
            raise ValueError(f"BreitWigner needs mass > 0 and width > 0, got mass={mass}, width={width}")
        self.mass = float(mass)
        self.width = float(width)
        self._m2 = self.mass**2
        self._mg = self.mass * self.width

    def _range(self, like: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        lo = torch.atan((_t(s_min, like) - self._m2) / self._mg)
        hi = torch.atan((_t(s_max, like) - self._m2) / self._mg)
        return lo, hi - lo

    def _log_ds_dtheta(self, s: Tensor) -> Tensor:
        return torch.log(((s - self._m2) ** 2 + self._mg**2) / self._mg)

    def forward(self, u: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        lo, span = self._range(u, s_min, s_max)
        s = self._m2 + self._mg * torch.tan(lo + span * u)
        return s, torch.log(span) + self._log_ds_dtheta(s)

    def inverse(self, s: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        lo, span = self._range(s, s_min, s_max)
        u = (torch.atan((s - self._m2) / self._mg) - lo) / span
        return u, -torch.log(span) - self._log_ds_dtheta(s)


class PowerLaw:
    """Flattens a massless propagator ``1 / (s + shift)^nu``; ``nu = 1`` is flat in ``log(s + shift)``.

    With ``t = s + shift`` and ``a = 1 - nu``:
    ``t = (t_min^a + u (t_max^a - t_min^a))^(1/a)``, ``ds/du = (t_max^a - t_min^a) t^nu / a``;
    for ``nu = 1``: ``t = t_min (t_max/t_min)^u``, ``ds/du = t log(t_max/t_min)``.

    Arguments:
        nu: the power (``nu >= 1`` needs ``s_min + shift > 0``).
        shift: ``m_0^2`` in GeV^2 regularising ``s -> 0`` (0 by default).

    References:
        the standard multi-channel maps, e.g. Ohl, arXiv:hep-ph/9806432 (sec. 2).
    """

    def __init__(self, nu: float = 1.0, shift: float = 0.0) -> None:
        self.nu = float(nu)
        self.shift = float(shift)
        self._log = abs(self.nu - 1.0) < 1e-9

    def _ends(self, like: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        t_min = _t(s_min, like) + self.shift
        t_max = _t(s_max, like) + self.shift
        if self.nu >= 1.0 and bool((t_min <= 0).any()):
            raise ValueError(f"PowerLaw(nu={self.nu}) needs s_min + shift > 0 (an m_min cut or a shift)")
        return t_min, t_max

    def forward(self, u: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        t_min, t_max = self._ends(u, s_min, s_max)
        if self._log:
            log_ratio = torch.log(t_max / t_min)
            t = t_min * torch.exp(u * log_ratio)
            return t - self.shift, torch.log(t * log_ratio)
        a = 1.0 - self.nu
        span = t_max**a - t_min**a
        t = (t_min**a + u * span) ** (1.0 / a)
        return t - self.shift, torch.log(span / a) + self.nu * torch.log(t)

    def inverse(self, s: Tensor, s_min: Tensor | float, s_max: Tensor | float) -> tuple[Tensor, Tensor]:
        t_min, t_max = self._ends(s, s_min, s_max)
        t = s + self.shift
        if self._log:
            log_ratio = torch.log(t_max / t_min)
            return torch.log(t / t_min) / log_ratio, -torch.log(t * log_ratio)
        a = 1.0 - self.nu
        span = t_max**a - t_min**a
        return (t**a - t_min**a) / span, -torch.log(span / a) - self.nu * torch.log(t)
