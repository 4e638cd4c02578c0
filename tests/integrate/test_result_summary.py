"""The integration summary says how well its error is known in words a reader can trust."""

from __future__ import annotations

import math
import re

import torch

from mlgen.integrate.result import IntegrationResult, Iteration


def _summary(w: torch.Tensor) -> str:
    mean, sdev = float(w.mean()), float(w.std()) / len(w) ** 0.5
    result = IntegrationResult([Iteration(mean, sdev, len(w))], len(w))
    result.add_weight_stats(w)
    return result.summary()


def test_a_well_known_error_is_quoted_to_two_digits_not_rounded_to_0_percent() -> None:
    # Gaussian weights: the sample variance's relative spread is sqrt(2 / N) = 0.32% at N = 2e5
    n = 200_000
    w = 1 + 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    text = _summary(w)
    found = re.search(r"error known to ([0-9.]+)%", text)
    assert found, text
    assert abs(float(found.group(1)) / 100 - math.sqrt(2 / n)) < 0.05 * math.sqrt(2 / n), text
    assert "+- 0 " not in text and "0%" not in text.replace(found.group(0), ""), text


def test_constant_weights_say_the_error_is_exact_and_print_no_plus_minus_0() -> None:
    text = _summary(torch.full((1000,), 2.5, dtype=torch.float64))
    assert "error exact (constant weights)" in text, text
    assert "error known to" not in text and "+- 0" not in text, text
    assert "sigma = 2.5 (no spread) pb" in text, text
