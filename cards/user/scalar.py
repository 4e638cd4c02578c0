"""An example user matrix element: g g -> S -> gamma gamma through a 750 GeV scalar.

Effective couplings (dimension-five operators S G G and S F F) give a spin-averaged

    |M|^2 = C s^2 / ((s - M^2)^2 + M^2 Gamma^2),

isotropic in the S rest frame. ``C`` is dimensionless here; pick it from your model.
Only numpy or torch arithmetic on whole batches: mlgen calls it on (B, 4, 4) momenta.
"""

import torch

MASS, WIDTH = 750.0, 45.0
C = 1e-6


def amp2(p: torch.Tensor) -> torch.Tensor:
    q = p[:, 2] + p[:, 3]
    s = q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(-1)
    return C * s**2 / ((s - MASS**2) ** 2 + (MASS * WIDTH) ** 2)
