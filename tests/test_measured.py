"""Numbers with their uncertainty: the error to two significant digits, the value to its place."""

from __future__ import annotations

import doctest

import pytest

import mlgen.measured
from mlgen.measured import format_measured, format_share


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (441.637, 1.0812, "441.6 +- 1.1 pb"),
        (1464.1833, 5.33, "1464.2 +- 5.3 pb"),
        (99.96, 0.96, "99.96 +- 0.96 pb"),
        (7203.4, 15.3, "7203 +- 15 pb"),
        (2.4712e-05, 1.33e-06, "(2.47 +- 0.13)e-05 pb"),
        (1234567.0, 890.0, "(1.23457 +- 0.00089)e+06 pb"),
        (12.5, 0.0, "12.5 pb (exact: no spread)"),
        (12.5, None, "12.5 pb (no error estimate)"),
        (12.5, float("nan"), "12.5 pb (no error estimate)"),
    ],
)
def test_value_and_error(value: float, error: float | None, text: str) -> None:
    assert format_measured(value, error, "pb") == text
    assert "+- 0 " not in text and not text.endswith("+- 0")


def test_shares_never_round_a_nonzero_share_to_zero() -> None:
    assert [format_share(x) for x in (0.0, 3.25e-3, 4.6e-7, 0.031, 0.25)] == [
        "0",
        "0.33%",
        "4.6e-05%",
        "3.1%",
        "25%",
    ]


def test_docstring_examples() -> None:
    assert doctest.testmod(mlgen.measured).failed == 0
