"""A signed-weight sample with a known answer: e+ e- -> mu- mu+ with dsigma/dcos = (3/8)(1 + c^2) + B c.

Two pieces are generated with cos(theta) uniform, as an NLO or merged sample
is: the positive ``(3/8)(1 + c^2)`` and the signed forward-backward term
``B c`` (half of its events negative), concatenated with the merge factor 2 so
the mean weight is the total, sigma = 1 pb. The sum is positive everywhere for
``B < 0.61``, so a positive sample of it exists.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo

SQRT_S = 100.0
B = 0.3


def density(c: np.ndarray) -> np.ndarray:
    return 0.375 * (1 + c**2) + B * c


def bin_integrals(edges: np.ndarray) -> np.ndarray:
    """Exact cross section (pb) per bin of cos(theta)."""

    def primitive(c: np.ndarray) -> np.ndarray:
        return 0.375 * (c + c**3 / 3) + 0.5 * B * c**2

    return primitive(edges[1:]) - primitive(edges[:-1])


def dimuon(c: np.ndarray, phi: np.ndarray, weight: np.ndarray) -> EventBatch:
    n = len(c)
    e = SQRT_S / 2
    s = np.sqrt(1 - c**2)
    mu = np.stack([np.full(n, e), e * s * np.cos(phi), e * s * np.sin(phi), e * c], -1)
    anti = mu * np.array([1, -1, -1, -1])
    beam_a = np.tile([e, 0, 0, e], (n, 1))
    beam_b = np.tile([e, 0, 0, -e], (n, 1))
    mom = torch.tensor(np.stack([beam_a, beam_b, mu, anti], 1), dtype=torch.float64)
    zero = torch.zeros(n, dtype=torch.float64)
    return EventBatch(
        momenta=mom,
        pdg=torch.tensor([11, -11, 13, -13]).repeat(n, 1),
        status=torch.tensor([-1, -1, 1, 1]).repeat(n, 1),
        mothers=torch.tensor([[0, 0], [0, 0], [1, 2], [1, 2]]).repeat(n, 1, 1),
        colors=torch.zeros(n, 4, 2, dtype=torch.long),
        masses=torch.zeros(n, 4, dtype=torch.float64),
        weight=torch.tensor(weight, dtype=torch.float64),
        scale=zero + SQRT_S,
        alpha_qed=zero + 1 / 137.0,
        alpha_s=zero + 0.118,
        process_id=torch.ones(n, dtype=torch.long),
    )


def signed_sample(n: int, seed: int) -> tuple[RunInfo, EventBatch]:
    """``n`` events (half from each piece), weights in pb per event; sigma = 1 pb."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1, 1, n)
    phi = rng.uniform(-math.pi, math.pi, n)
    half = n // 2
    # uniform cos over [-1, 1]: a piece f(c) has weights 2 f(c); two pieces of N/2 merge with factor 2
    w = np.where(np.arange(n) < half, 2 * 0.375 * (1 + c**2), 2 * B * c) * 2
    info = RunInfo(
        beam_ids=(11, -11),
        beam_energies=(SQRT_S / 2, SQRT_S / 2),
        weight_strategy=-4,
        processes=(ProcessLine(1.0, 0.0, float(np.abs(w).max()), 1),),
    )
    return info, dimuon(c, phi, w)


def cos_theta(batch: EventBatch) -> np.ndarray:
    p = batch.momenta[:, 2].numpy()
    return p[:, 3] / np.linalg.norm(p[:, 1:], axis=1)


X_MIN = 0.01


#: Where the step of S in :func:`subtraction_toys` starts.
STEP_FROM = 0.6


def subtraction_toys(
    n_b: int, n_s: int, seed: int, flat: float = 0.1, step: float = 0.0
) -> tuple[tuple[RunInfo, EventBatch], tuple[RunInfo, EventBatch]]:
    """B with dsigma/dx = 1/x + flat and S with 1/x on [0.01, 1], as unweighted dimuon events with
    cos(theta) = 2x - 1 (weights sigma per event, the mean convention); B - S is flat.

    ``step`` adds ``step`` to S's density above ``STEP_FROM``: B - S is ``flat - step`` there, a real
    negative region for ``step > flat``."""
    rng = np.random.default_rng(seed)
    log_part = -math.log(X_MIN)
    sigma_s = log_part + step * (1 - STEP_FROM)
    sigma_b = log_part + flat * (1 - X_MIN)

    def log_uniform(n: int) -> np.ndarray:
        return X_MIN ** rng.random(n)

    uniform = rng.random(n_b) < flat * (1 - X_MIN) / sigma_b
    x_b = np.where(uniform, rng.uniform(X_MIN, 1, n_b), log_uniform(n_b))
    x_s = log_uniform(n_s)
    if step:
        stepped = rng.random(n_s) < step * (1 - STEP_FROM) / sigma_s
        x_s = np.where(stepped, rng.uniform(STEP_FROM, 1, n_s), x_s)
    out = []
    for x, sigma in ((x_b, sigma_b), (x_s, sigma_s)):
        info = RunInfo(
            beam_ids=(11, -11),
            beam_energies=(SQRT_S / 2, SQRT_S / 2),
            weight_strategy=4,
            processes=(ProcessLine(sigma, 0.0, sigma, 1),),
        )
        out.append((info, dimuon(2 * x - 1, rng.uniform(-math.pi, math.pi, len(x)), np.full(len(x), sigma))))
    return out[0], out[1]
