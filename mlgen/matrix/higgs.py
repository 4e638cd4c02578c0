"""``g g -> H`` in the heavy-top limit: a 2 -> 1 matrix element with a narrow-width resonance.

The effective ``H G G`` vertex of the ``m_t -> infinity`` limit gives the spin- and
colour-averaged

    |M|^2(g g -> H) = alpha_s^2 s^2 / (576 pi^2 v^2) = G_F alpha_s^2 s^2 / (288 sqrt(2) pi^2),

``s = (p_a + p_b)^2`` (``= m_H^4`` on shell), ``v = (sqrt(2) G_F)^(-1/2)``.

How a process integrand uses it. With flux ``1/(2 s)`` and one-body phase space
``dPhi_1 = 2 pi delta(s - m_H^2)``,

    sigma-hat(s) = (pi / s) |M|^2 delta(s - m_H^2) = sigma_0 m_H^2 delta(s - m_H^2),
    sigma_0 = G_F alpha_s^2 / (288 sqrt(2) pi)      (:meth:`GGH.sigma0`, GeV^-2).

Two options:

1. narrow width (exact): the delta fixes ``tau = m_H^2/S``; then
   ``sigma = sigma_0 tau int dy f_g(sqrt(tau) e^y) f_g(sqrt(tau) e^-y)``, with ``y``
   between ``ln sqrt(tau)`` and ``-ln sqrt(tau)``;
2. Breit-Wigner: replace the delta by
   ``rho(s) = (1/pi) m_H G_H / ((s - m_H^2)^2 + m_H^2 G_H^2)`` (:meth:`GGH.line_shape`),
   sample ``s`` (e.g. with the ``tau`` map of the propagator in :attr:`GGH.narrow_width_resonance`)
   and weight by ``pi |M|^2 rho(s) / s``. The momenta passed in are then the two
   gluons and the (off-shell) Higgs ``p_a + p_b``.

External order: ``g, g, H``; subprocess ``(21, 21, 25)``, one colour flow
``g (1, 2), g (2, 1)``.

References:
    S. Dawson, Nucl. Phys. B359 (1991) 283; M. Spira, "QCD effects in Higgs physics",
    arXiv:hep-ph/9705337, sec. 3.1.
"""

from __future__ import annotations

__all__ = ["GGH"]

import math

import torch
from torch import Tensor

from mlgen.matrix.base import Subprocess
from mlgen.physics.sm import SMParameters, scheme
from mlgen.physics.vectors import mass2


class GGH:
    """``g g -> H`` (heavy-top effective coupling, LO).

    Arguments:
        parameters: SM parameters (``mh``, ``wh``, ``gf``, ``alpha_s_mz``); default ``gmu``.

    Attributes:
        narrow_width_resonance: ``(m_H, G_H)`` in GeV; the delta function of the
            one-body phase space is the integrand's to handle (module docstring).

    Example:
        >>> GGH().subprocesses[0].pdg
        (21, 21, 25)
    """

    def __init__(self, *, parameters: SMParameters | None = None) -> None:
        self.parameters = parameters if parameters is not None else scheme("gmu")
        par = self.parameters
        self.name = "g g -> H"
        self.subprocesses = (Subprocess((21, 21, 25), (((1, 2), (2, 1), (0, 0)),)),)
        self.masses = (0.0, 0.0, par.mh)
        self.resonances = ()
        self.propagators = ()
        self.narrow_width_resonance = (par.mh, par.wh)

    def _alpha_s(self, alpha_s: Tensor | None, like: Tensor) -> Tensor:
        if alpha_s is None:
            return torch.full(
                like.shape[:1], self.parameters.alpha_s_mz, dtype=like.dtype, device=like.device
            )
        return alpha_s

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, 1)`` averaged ``|M|^2`` in GeV^2 at ``(B, 3, 4)`` (or ``(B, 2, 4)``) momenta."""
        s = mass2(p[:, 0] + p[:, 1])
        a = self._alpha_s(alpha_s, p)
        coupling = self.parameters.gf * a * a / (288.0 * math.sqrt(2.0) * math.pi**2)
        return (coupling * s * s)[:, None]

    def sigma0(self, alpha_s: Tensor) -> Tensor:
        """``sigma_0 = G_F alpha_s^2 / (288 sqrt(2) pi)`` in GeV^-2, shape of ``alpha_s``;
        ``sigma-hat = sigma_0 m_H^2 delta(s - m_H^2)``."""
        return self.parameters.gf * alpha_s * alpha_s / (288.0 * math.sqrt(2.0) * math.pi)

    def line_shape(self, s: Tensor) -> Tensor:
        """Normalised Breit-Wigner ``rho(s)`` in GeV^-2 replacing ``delta(s - m_H^2)``; shape of ``s``."""
        m, w = self.narrow_width_resonance
        return (m * w / math.pi) / ((s - m * m) ** 2 + (m * w) ** 2)

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """One colour flow."""
        return None
