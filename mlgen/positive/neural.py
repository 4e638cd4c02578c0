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
negative weights back.

References:
    B. Nachman, J. Thaler, Phys. Rev. D 102 (2020) 076004, arXiv:2007.11586;
    B. Nachman, R. Noll, arXiv:2505.03724 (a learnt phase-space dependent weight scaling).
"""

from __future__ import annotations

__all__ = ["NeuralConfig", "NeuralResult", "fit_sign_balance", "neural_resample"]

from dataclasses import dataclass

import numpy as np

from mlgen.classifier import ClassifierConfig, cross_fit


@dataclass(frozen=True)
class NeuralConfig(ClassifierConfig):
    """The sign classifier's settings (:class:`~mlgen.classifier.ClassifierConfig`), and whether to thin.

    ``preserve_uncertainty`` thins the smoothed weights so that every bin keeps the input's error.
    """

    preserve_uncertainty: bool = True


@dataclass(frozen=True)
class NeuralResult:
    """The ``keep`` mask, new ``weights`` of the kept events, ``r`` at every event, what was dropped."""

    keep: np.ndarray
    weights: np.ndarray
    r: np.ndarray
    dropped_sigma_fraction: float
    dropped_sigma_pb: float
    epochs: tuple[int, int]

    def to_dict(self) -> dict[str, float | int | list[int]]:
        return {
            "kept_fraction": float(self.keep.mean()),
            "nonpositive_r_fraction": float((self.r <= 0).mean()),
            "nonpositive_r_sigma_fraction": self.dropped_sigma_fraction,
            "nonpositive_r_sigma_pb": self.dropped_sigma_pb,
            "epochs_per_fold": list(self.epochs),
        }


def fit_sign_balance(
    points: np.ndarray, weights: np.ndarray, config: NeuralConfig = NeuralConfig(), device: str = "cpu"
) -> tuple[np.ndarray, tuple[int, int]]:
    """Cross-fitted ``r(x) = E[w | x] / E[|w| | x]`` in ``[-1, 1]`` at every event."""
    w = np.asarray(weights, dtype=np.float64)
    d, epochs = cross_fit(points, w > 0, np.abs(w), config, device)
    return 2 * d - 1, epochs


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
    r, epochs = fit_sign_balance(points, w, config, device)
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
    )
