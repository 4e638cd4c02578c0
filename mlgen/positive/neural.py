"""Neural resampling: positive weights from the learnt local sign balance of the signed weights.

A classifier trained to tell positive- from negative-weight events, each
weighted by ``|w|``, learns ``D(x) = E[|w| 1(w > 0) | x] / E[|w| | x]``, so

    r(x) = 2 D(x) - 1 = E[w | x] / E[|w| | x]

is the local fraction of the cross section that survives the cancellation.
The weight ``|w| r(x)`` has the same conditional mean as ``w`` and is positive
wherever the net local cross section is (where ``r <= 0`` the events are
dropped; their share of the cross section is reported). A bounded target and a
cross-entropy loss keep the training well conditioned whatever the spread of
``|w|`` — regressing ``E[w | x]`` directly is dominated by the largest weights.

To keep the uncertainties too (Nachman and Thaler), each event is then kept
with probability ``r^2`` and given the weight ``|w| / r``: per event,
``E[w_new] = |w| r`` and ``E[w_new^2] = w^2``, so every histogram's
``sqrt(sum w^2)`` error is the input's and the file does not claim more
precision than the input had; the kept fraction is about ``N_eff / N``.
Without that step the smoothed weights ``|w| r`` are written (more events,
smaller quoted errors: a Rao-Blackwellised estimate, exact only as far as the
network is).

``r`` at an event comes from a network that did not see it (two-fold
cross-fitting), so a network that memorises its training labels cannot hand the
negative weights back. The out-of-fold probabilities are then calibrated by
Platt scaling, ``D -> sigmoid(s logit D + c)`` fitted by the ``|w|``-weighted
likelihood: two numbers, so nothing is memorised, and the intercept's score
equation ``sum |w| (1(w > 0) - D) = 0`` is the sum rule ``sum |w| r = sum w``.
The smoothed weights keep the input's total exactly; uncalibrated, a network
was off by 0.34% (3.9 sigma) on 10^6 Drell-Yan events.

References:
    B. Nachman, J. Thaler, Phys. Rev. D 102 (2020) 076004, arXiv:2007.11586;
    B. Nachman, R. Noll, arXiv:2505.03724 (a learnt phase-space dependent weight scaling).
"""

from __future__ import annotations

__all__ = ["NeuralConfig", "NeuralResult", "fit_sign_balance", "neural_resample", "platt_calibrate"]

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlgen.resample.classifier import ClassifierConfig, cross_fit


@dataclass(frozen=True)
class NeuralConfig(ClassifierConfig):
    """The sign classifier's settings (:class:`~mlgen.resample.ClassifierConfig`), and whether to thin.

    ``preserve_uncertainty`` thins the smoothed weights so that every bin keeps the input's error.
    """

    preserve_uncertainty: bool = True


@dataclass(frozen=True)
class NeuralResult:
    """The ``keep`` mask, new ``weights`` of the kept events, ``r`` at every event, what was dropped,
    and the Platt calibration ``(slope, intercept)`` of the classifier."""

    keep: np.ndarray
    weights: np.ndarray
    r: np.ndarray
    dropped_sigma_fraction: float
    dropped_sigma_pb: float
    epochs: tuple[int, ...]
    calibration: tuple[float, float] = (1.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kept_fraction": float(self.keep.mean()),
            "nonpositive_r_fraction": float((self.r <= 0).mean()),
            "nonpositive_r_sigma_fraction": self.dropped_sigma_fraction,
            "nonpositive_r_sigma_pb": self.dropped_sigma_pb,
            "epochs_per_fold": list(self.epochs),
            "calibration_slope_intercept": list(self.calibration),
        }


def fit_sign_balance(
    points: np.ndarray, weights: np.ndarray, config: NeuralConfig = NeuralConfig(), device: str = "cpu"
) -> tuple[np.ndarray, tuple[int, ...], tuple[float, float]]:
    """Cross-fitted, calibrated ``r(x) = E[w | x] / E[|w| | x]`` in ``[-1, 1]`` at every event, the epochs
    of each network and the calibration's ``(slope, intercept)`` (:func:`platt_calibrate`)."""
    w = np.asarray(weights, dtype=np.float64)
    d, epochs = cross_fit(points, w > 0, np.abs(w), config, device)
    d, calibration = platt_calibrate(d, w > 0, np.abs(w))
    return 2 * d - 1, epochs, calibration


def platt_calibrate(
    d: np.ndarray, y: np.ndarray, weights: np.ndarray, *, tol: float = 1e-12
) -> tuple[np.ndarray, tuple[float, float]]:
    """``sigmoid(s logit d + c)`` with ``(s, c)`` maximising the ``weights``-weighted likelihood of ``y``.

    Newton's method on the two parameters. At the optimum ``sum weights (y - p) = 0``.
    Returns the calibrated probabilities and ``(s, c)``.
    """
    eps = 1e-7
    d = np.clip(np.asarray(d, dtype=np.float64), eps, 1 - eps)
    x = np.stack([np.log(d) - np.log1p(-d), np.ones_like(d)], 1)
    a = np.asarray(weights, dtype=np.float64)
    a = a / a.sum()
    y = np.asarray(y, dtype=np.float64)
    theta = np.array([1.0, 0.0])
    for _ in range(100):
        p = 0.5 * (1 + np.tanh(0.5 * (x @ theta)))  # the logistic function, without overflow
        grad = x.T @ (a * (y - p))
        hess = (x * (a * p * (1 - p))[:, None]).T @ x
        step = np.linalg.solve(hess + 1e-15 * np.eye(2), grad)
        theta = theta + step
        if np.abs(step).max() < tol:
            break
    p = 0.5 * (1 + np.tanh(0.5 * (x @ theta)))
    return p, (float(theta[0]), float(theta[1]))


def neural_resample(
    points: np.ndarray,
    weights: np.ndarray,
    config: NeuralConfig = NeuralConfig(),
    *,
    device: str = "cpu",
    generator: np.random.Generator | None = None,
) -> NeuralResult:
    """Positive weights (and the events that keep them) with the local mean and errors of ``weights``."""
    rng = generator if generator is not None else np.random.default_rng(config.seed)
    w = np.asarray(weights, dtype=np.float64)
    r, epochs, calibration = fit_sign_balance(points, w, config, device)
    a = np.abs(w)
    positive = r > 0
    if config.preserve_uncertainty:
        keep = positive & (rng.random(len(w)) < r * r)
        new = a[keep] / r[keep]
    else:
        keep = positive
        new = a[keep] * r[keep]
    smoothed = a * r
    total = float(np.abs(smoothed).sum())
    dropped = float(-smoothed[~positive].sum())
    return NeuralResult(
        keep=keep,
        weights=new,
        r=r,
        dropped_sigma_fraction=dropped / total if total > 0 else 0.0,
        dropped_sigma_pb=dropped / len(w),
        epochs=epochs,
        calibration=calibration,
    )
