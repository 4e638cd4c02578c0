"""The cross-fitted classifier's density ratio against an exact one."""

from __future__ import annotations

import numpy as np
import pytest

from mlgen.resample.classifier import ClassifierConfig, cross_fit


@pytest.mark.parametrize("folds,members", [(2, 1), (3, 2)])
def test_cross_fitted_ratio_of_two_gaussians(folds: int, members: int) -> None:
    """Class 0 ~ N(0, 1) with weight 1, class 1 ~ N(0.5, 1) with weight 2: the weight densities' ratio
    is ``D / (1 - D) = 2 exp(x / 2 - 1 / 8)``, in the bulk to 6% rms, with every fold x member trained."""
    rng = np.random.default_rng(3)
    n = 20000
    x = np.r_[rng.normal(0.0, 1.0, n), rng.normal(0.5, 1.0, n)][:, None]
    label = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    weight = np.r_[np.ones(n), 2 * np.ones(n)]
    config = ClassifierConfig(hidden=16, layers=2, epochs=30, patience=5, folds=folds, members=members)
    d, epochs = cross_fit(x, label, weight, config)
    assert len(epochs) == folds * members and all(1 <= e <= 30 for e in epochs)
    bulk = np.abs(x[:, 0] - 0.25) < 1.5
    log_ratio = np.log(d / (1 - d))[bulk]
    exact = (np.log(2.0) + x[:, 0] / 2 - 1 / 8)[bulk]
    assert abs(float(np.mean(log_ratio - exact))) < 0.03
    assert float(np.sqrt(np.mean((log_ratio - exact) ** 2))) < 0.06


def test_config_needs_two_folds() -> None:
    with pytest.raises(ValueError, match="folds >= 2"):
        ClassifierConfig(folds=1)
