"""Numbers as a physicist writes them: a measured value with its uncertainty, a share of a total.

``format_measured(441.637, 1.0812, "pb")`` gives ``441.6 +- 1.1 pb``: the uncertainty to two
significant digits, the value to the same decimal place (the PDG's convention, without its
354 rule), a common power of ten when the numbers are large or small. A zero or unknown
uncertainty is said in words, never written as ``+- 0``.
"""

from __future__ import annotations

__all__ = ["format_measured", "format_share"]

import math


def format_measured(value: float, error: float | None, unit: str = "") -> str:
    """``value +- error unit``, both rounded where the error's second significant digit ends.

    Arguments:
        value: the estimate.
        error: its standard uncertainty (>= 0), or ``None`` / ``nan`` when there is none.
        unit: appended after a space (``"pb"``), or nothing.

    Returns:
        e.g. ``"441.6 +- 1.1 pb"``, ``"(2.47 +- 0.13)e-05 pb"``, ``"0.0135 pb (no error estimate)"``.

    >>> format_measured(441.637, 1.0812, "pb")
    '441.6 +- 1.1 pb'
    >>> format_measured(2.4712e-05, 1.33e-06, "pb")
    '(2.47 +- 0.13)e-05 pb'
    >>> format_measured(12.5, 0.0, "pb")
    '12.5 pb (exact: no spread)'
    """
    suffix = f" {unit}" if unit else ""
    if not math.isfinite(value):
        return f"{value}{suffix}"
    if error is None or not math.isfinite(error) or error < 0:
        return f"{value:.6g}{suffix} (no error estimate)"
    if error == 0:
        return f"{value:.6g}{suffix} (exact: no spread)"
    err_exp = math.floor(math.log10(error))
    # a common power of ten outside [1e-3, 1e5): the numbers as (a +- b)eN
    big = max(abs(value), error)
    exp = math.floor(math.log10(big)) if big > 0 else 0
    if exp >= 5 or exp < -3:
        digits = max(exp - err_exp + 1, 1)
        scale = 10.0**exp
        return f"({value / scale:.{digits}f} +- {error / scale:.{digits}f})e{exp:+03d}{suffix}"
    decimals = max(1 - err_exp, 0)
    return f"{value:.{decimals}f} +- {error:.{decimals}f}{suffix}"


def format_share(share: float) -> str:
    """A share of a total (0.0032 -> ``0.32%``) with two significant digits; ``0`` only when it is 0.

    >>> format_share(0.00325), format_share(0.0), format_share(0.25)
    ('0.33%', '0', '25%')
    """
    if share == 0:
        return "0"
    percent = 100 * share
    return f"{percent:.2g}%" if abs(percent) < 10 else f"{percent:.0f}%"
