"""The writer's vectorised number formatting against Python's own ``%``, number for number."""

from __future__ import annotations

import numpy as np

from mlgen.lhe.numbers import e17_words, int_words, literal_words, python_words


def _texts(field: np.ndarray) -> list[str]:
    """A ``(w, m)`` field's ``m`` texts."""
    return [row.tobytes().decode() for row in np.ascontiguousarray(field.T)]


def _hard_doubles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Doubles where formatting goes wrong if anywhere: every binary exponent, powers of ten and their
    neighbours, exact decimal ties, integers beyond 2**53, zeros of both signs, the far ranges."""
    mantissa = rng.integers(2**52, 2**53, n).astype(np.float64)
    spread = np.ldexp(mantissa, rng.integers(-1074, 971 - 52, n)) * rng.choice([-1.0, 1.0], n)
    powers = 10.0 ** np.arange(-300, 301).astype(np.float64)
    near = np.concatenate([powers, np.nextafter(powers, 0), np.nextafter(powers, np.inf)])
    ties = np.array([2.0**60, 123456789012345675.0, 0.5, 1.5, 2.5e16, 0.125, 9.5, 1e23, 5e-324])
    moderate = rng.normal(size=n) * 10.0 ** rng.integers(-12, 8, n)
    special = np.array([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e-200, 1e200, 9.999999999999999e99])
    return np.concatenate([spread, near, -near, ties, moderate, np.round(moderate, 3), special])


def _python_e17(value: float, three_digit_exponent: bool) -> str:
    text = "%.16e" % value
    if three_digit_exponent and "e" in text and len(text.split("e")[1]) == 3:
        text = text.replace("e+", "e+0").replace("e-", "e-0")
    return text


def test_e17_is_python_percent_16e_for_every_kind_of_double() -> None:
    values = _hard_doubles(np.random.default_rng(7), 20_000)
    moderate = values[((np.abs(values) < 1e90) & (np.abs(values) > 1e-90)) | (values == 0)]
    # a column of everything (three exponent digits) beside one of moderate values (two), then alone
    both = np.stack([values, np.resize(moderate, len(values))], axis=1)
    wide, narrow = e17_words(both)
    (alone,) = e17_words(moderate[:, None])
    assert wide.shape[0] == 7 and narrow.shape[0] == 6 and alone.shape[0] == 6
    cases = ((both[:, 0], wide, True), (both[:, 1], narrow, False), (moderate, alone, False))
    for column, field, three in cases:
        for value, text in zip(column.tolist(), _texts(field), strict=True):
            assert text[0] == " " and text.strip() == _python_e17(value, three), (value, text)
            assert np.isnan(value) or (float(text) == value and np.signbit(float(text)) == np.signbit(value))


def test_e17_constant_columns_and_signs() -> None:
    x = np.array([[1.5, 0.0, -0.0], [-2.0, 0.0, -0.0]])
    varying, zero, negative_zero = e17_words(x)
    assert _texts(varying) == ["  1.5000000000000000e+00", " -2.0000000000000000e+00"]
    assert _texts(zero) == ["  0.0000000000000000e+00"] * 2
    assert _texts(negative_zero) == [" -0.0000000000000000e+00"] * 2


def test_int_is_python_percent_d() -> None:
    rng = np.random.default_rng(3)
    column = np.concatenate(
        [
            rng.integers(-(10**7), 10**7, 5000),
            [0, -1, 1, 9, 10, -10, 99, -99, 100, 999, 1000, 2**62, -(2**63)],
        ]
    )
    small = rng.integers(-5, 600, (300, 3))
    mixed = np.stack([small[:, 0], small[:, 1] * 10000, -small[:, 2]], axis=1)
    for x in (np.stack([column, column[::-1]], axis=1), small, mixed):
        for values, field in zip(x.T.tolist(), int_words(x), strict=True):
            texts = _texts(field)
            assert [t.strip() for t in texts] == ["%d" % v for v in values]
            assert all(t[0] == " " for t in texts) and len({len(t) for t in texts}) == 1


def test_python_words_and_literals() -> None:
    x = np.array([[9.0, -0.0], [1.0, 0.0], [-1.0, 0.0]])
    spins, lifetimes = python_words(x, "%.1f")
    assert [t.strip() for t in _texts(spins)] == ["9.0", "1.0", "-1.0"]
    assert [t.strip() for t in _texts(lifetimes)] == ["-0.0", "0.0", "0.0"]
    assert literal_words("<rwgt>\n").tobytes() == b"<rwgt> \n"
    assert literal_words("<scales\x00 muf='").tobytes() == b"<scales    muf='"
    assert literal_words("<event>").tobytes() == b"<event> "
