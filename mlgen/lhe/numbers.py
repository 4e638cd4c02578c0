"""Numbers as fixed-width text, a whole column at a time: the fields of the LHE writer.

A column of ``m`` numbers becomes a ``(w, m)`` array of ``uint32`` words, word-major (word ``j``
of every number side by side, so that every copy is contiguous), each word four ASCII bytes (in
memory order, whatever the machine's byte order), every field starting with a space: fields and
literal text stacked in one ``(W, m)`` array are, transposed, the event text, so no Python code
runs per number. Widths are fixed within a column (right-aligned, as MadGraph5 and pylhe write
theirs), so a column takes one more space than ``%`` would where it has no minus sign.

- :func:`e17_words` writes ``"%.16e"`` (17 significant digits: every double reads back exactly),
  character for character as Python's ``%`` does. The digits are the correctly rounded value of
  ``|x| * 10**(16 - k)``, computed in double-double arithmetic (Dekker's exact product against a
  double-double table of powers of ten): its error is below 1e-13 of a unit in the 17th digit,
  so the rounding is decided exactly unless a value lies within 1e-7 of a tie; those few, and
  numbers outside ``[1e-200, 1e200]``, NaN and infinities, are written by Python's own ``%``.
  A column holding a number beyond ``1e±100`` writes three exponent digits throughout
  (``e+005``: a valid number for every reader), to keep its width.
- :func:`int_words` writes ``"%d"``.
- :func:`python_words` writes any ``%`` spec, once per distinct value (lifetimes, spins).
- :func:`literal_words` pads literal text to whole words.
"""

from __future__ import annotations

__all__ = ["PAD_AT", "e17_words", "int_words", "literal_words", "python_words"]

import re
from fractions import Fraction

import numpy as np

SPACE = ord(" ")
#: where :func:`literal_words` puts the spaces that fill its last word (default: before a final
#: line end, else at the end)
PAD_AT = "\x00"
_SMALLEST, _LARGEST = 1e-200, 1e200  # the fast path's range; outside it Python's %
_P_LOW, _P_HIGH = -190, 220  # the powers of ten 10**(16 - k) the fast path uses, with margin


def _words(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint32).copy()


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's split: ``x == h + l`` exactly, each with at most 26 significant bits."""
    c = 134217729.0 * x  # 2**27 + 1
    h = c - (c - x)
    return h, x - h


def _power_table() -> list[np.ndarray]:
    """10**p for p in [_P_LOW, _P_HIGH] as double-doubles: arrays hi, lo, hi's two halves."""
    rows = []
    for p in range(_P_LOW, _P_HIGH + 1):
        exact = Fraction(10) ** p
        hi = float(exact)
        rows.append((hi, float(exact - Fraction(hi))))
    table = np.array(rows)
    h, l_ = _split(table[:, 0])
    return [np.ascontiguousarray(c) for c in (table[:, 0], table[:, 1], h, l_)]


_POWERS = _power_table()
_DIGITS4 = _words(b"".join(b"%04d" % i for i in range(10000)))
# " d." with the sign: index 10 * negative + leading digit
_LEAD = _words(b"".join(b" " + sign + b"%d." % d for sign in (b" ", b"-") for d in range(10)))
_SMALL_INTS = _words(b"".join(b"%4d" % i for i in range(-99, 1000)))  # " -99" ... " 999"
_EXP2 = _words(b"".join(b"e%+03d" % k for k in range(-99, 100)))  # "e+05"
_EXP3 = _words(b"".join(b"e%+04d   " % k for k in range(-300, 301))).reshape(-1, 2)  # "e+005   "
_EXP3_FIRST, _EXP3_SECOND = np.ascontiguousarray(_EXP3[:, 0]), np.ascontiguousarray(_EXP3[:, 1])


def _scaled(a: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a * 10**(16 - k)`` as an integer part (int64) and a fraction in [0, 1), to ~1e-14."""
    i = 16 - k - _P_LOW
    t_hi, t_lo, t_h, t_l = (np.take(column, i) for column in _POWERS)
    p = a * t_hi
    a_h, a_l = _split(a)
    err = ((a_h * t_h - p) + a_h * t_l + a_l * t_h) + a_l * t_l  # p + err == a * t_hi exactly
    whole = np.floor(p)
    rest = (p - whole) + (err + a * t_lo)
    below = np.floor(rest)
    return whole.astype(np.int64) + below.astype(np.int64), rest - below


#: numbers formatted at a time: the temporaries stay in the processor's cache
_BLOCK = 8192


def e17_words(x: np.ndarray) -> list[np.ndarray]:
    """``" " + "%.16e" % v`` for every ``v`` of the columns of ``x`` (``(m, c)``), a space for a plus
    sign: one ``(6, m)`` array of words per column, ``(7, m)`` where a column needs three exponent
    digits."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    m, n_columns = x.shape
    bits = x.view(np.int64)
    constant = (bits == bits[:1]).all(axis=0) if m > 1 else np.zeros(n_columns, dtype=bool)
    if constant.any():  # incoming px and py, masses, an unweighted sample's weight: formatted once
        fields = [np.empty((0, 0), dtype=np.uint32)] * n_columns
        varying = np.nonzero(~constant)[0]
        for c, f in zip(varying.tolist(), e17_words(x[:, varying]) if len(varying) else [], strict=True):
            fields[c] = f
        fixed = np.nonzero(constant)[0]
        for c, one in zip(fixed.tolist(), e17_words(x[:1, fixed]), strict=True):
            fields[c] = np.broadcast_to(one, (one.shape[0], m))
        return fields
    a = np.abs(x)
    # three exponent digits where a value is, or rounds to, 1e100 or more, or is below 1e-99
    wide = ((a >= 9.9e99) | ((a < 1e-99) & (a != 0))).any(axis=0)
    flat = np.ascontiguousarray(x.T).reshape(-1)  # column by column
    out = np.empty((7, m * n_columns), dtype=np.uint32)
    exact = np.empty(m * n_columns, dtype=bool)
    for start in range(0, len(flat), _BLOCK):
        block = slice(start, start + _BLOCK)
        exact[block] = _e17_block(flat[block], out[:, block], bool(wide.any()))
    fields = [out[: 7 if wide[c] else 6, c * m : (c + 1) * m] for c in range(n_columns)]
    for c in np.nonzero(wide)[0].tolist():
        fields[c] = fields[c].copy()
    for c in np.nonzero(~wide)[0].tolist() if wide.any() else []:  # "e+05" in place of "e+005   "
        tail = out[5:7, c * m : (c + 1) * m].T.copy().view(np.uint8)
        tail[:, 2:4] = tail[:, 3:5].copy()
        fields[c] = fields[c].copy()
        fields[c][5] = tail.view(np.uint32)[:, 0]
    for i in np.nonzero(~exact)[0].tolist():  # ties, the far ranges, NaN and inf
        c, row = divmod(i, m)
        field = fields[c]
        text = " %.16e" % flat[i]
        if field.shape[0] == 7 and re.search(r"e[-+]\d\d$", text):  # a column of three exponent digits
            text = text[:-2] + "0" + text[-2:]
        field[:, row] = np.frombuffer(text.encode().ljust(4 * field.shape[0]), dtype=np.uint32)
    return fields


def _e17_block(x: np.ndarray, out: np.ndarray, wide: bool) -> np.ndarray:
    """Fill ``out`` (``(7, n)`` words) with ``x``, three exponent digits if ``wide`` (else two, and the
    last word left unset); False where a number is left to Python (a tie within the error, outside
    the fast range, NaN or inf)."""
    a = np.abs(x)
    zero = a == 0
    fast = (a >= _SMALLEST) & (a <= _LARGEST)  # False for 0, NaN, inf too
    a = np.where(fast, a, 1.0)
    k = np.floor(np.log10(a)).astype(np.int64)
    whole, frac = _scaled(a, k)
    # log10 may be one off next to a power of ten: the integer part then has 16 or 18 digits
    for wrong, step in ((whole < 10**16, -1), (whole >= 10**17, 1)):
        idx = np.nonzero(wrong)[0]
        if len(idx):
            k[idx] += step
            whole[idx], frac[idx] = _scaled(a[idx], k[idx])
    fast &= (whole >= 10**16) & (whole < 10**17) & (np.abs(frac - 0.5) > 1e-7)
    digits = whole + (frac > 0.5)
    carried = np.nonzero(digits == 10**17)[0]
    digits[carried] = 10**16
    k[carried] += 1
    digits[zero] = 0
    k[zero] = 0
    lead = digits // 10**16
    rest = digits - lead * 10**16
    np.take(_LEAD, lead + 10 * np.signbit(x), out=out[0])
    high = rest // 10**8  # 8 digits each: int32 arithmetic from here
    low = (rest - high * 10**8).astype(np.int32)
    high = high.astype(np.int32)
    for word, half in ((1, high), (3, low)):
        upper = half // 10**4
        np.take(_DIGITS4, upper, out=out[word])
        np.take(_DIGITS4, half - upper * 10**4, out=out[word + 1])
    if wide:
        np.take(_EXP3_FIRST, k + 300, out=out[5])
        np.take(_EXP3_SECOND, k + 300, out=out[6])
    else:
        np.take(_EXP2, k + 99, out=out[5])
    return fast | zero


def int_words(x: np.ndarray) -> list[np.ndarray]:
    """``"%d" % v`` for every ``v`` of the columns of ``x`` (``(m, c)`` integers), right-aligned after
    at least one space: one ``(w, m)`` array of words per column."""
    x = np.ascontiguousarray(x, dtype=np.int64)
    m, n_columns = x.shape
    if m == 0:
        return [np.zeros((1, 0), dtype=np.uint32)] * n_columns
    small = (x.min(axis=0) >= -99) & (x.max(axis=0) <= 999)
    if small.all():  # status codes, mothers, colours, most PDG ids: one word from a table
        words = np.take(_SMALL_INTS, x.T + 99)
        return [words[c : c + 1] for c in range(n_columns)]
    if small.any():
        fields = [np.empty((0, 0), dtype=np.uint32)] * n_columns
        for group in (np.nonzero(small)[0], np.nonzero(~small)[0]):
            for c, f in zip(group.tolist(), int_words(x[:, group]), strict=True):
                fields[c] = f
        return fields
    x = np.ascontiguousarray(x.T)  # (c, m)
    negative = x < 0
    a = np.abs(x)
    if bool((a < 0).any()):  # the one int64 whose magnitude wraps: Python writes it
        return [_python_aligned([" %d" % v for v in row.tolist()]).T.copy() for row in x]
    largest = int(a.max(initial=0))
    length = np.ones(x.shape, dtype=np.int64)
    for j in range(1, len(str(largest))):
        length += a >= 10**j
    length += negative
    needed = -(-(length.max(axis=1, initial=1) + 1) // 4)  # words per column, a space included
    chunks = int(needed.max(initial=1))
    out = np.empty((n_columns, chunks, m), dtype=np.uint32)
    rest = a
    for c in range(chunks - 1, -1, -1):
        np.take(_DIGITS4, rest % 10000, out=out[:, c])
        rest = rest // 10000
    text = out.view(np.uint8).reshape(n_columns, chunks, m, 4)
    position = (4 * np.arange(chunks)[:, None, None] + np.arange(4)[None, None, :])[None]  # (1, chunks, 1, 4)
    width = 4 * chunks
    text[position < (width - length)[:, None, :, None]] = SPACE  # leading zeros
    columns, rows = np.nonzero(negative)
    at = width - length[columns, rows]
    text[columns, at // 4, rows, at % 4] = ord("-")
    return [out[c, chunks - needed[c] :] for c in range(n_columns)]


def python_words(x: np.ndarray, spec: str) -> list[np.ndarray]:
    """``spec % v`` for every ``v`` of the columns of ``x`` (``(m, c)``), right-aligned after at least
    one space: one ``(w, m)`` array of words per column. Python formats each distinct value once."""
    x = np.ascontiguousarray(x)
    m, n_columns = x.shape
    if x.dtype == np.float64:  # distinct bit patterns: -0.0 is not 0.0 to "%"
        bits, inverse = np.unique(x.view(np.int64), return_inverse=True)
        values = bits.view(np.float64)
    else:
        values, inverse = np.unique(x, return_inverse=True)
    texts = [" " + spec % v for v in values.tolist()]
    table = _python_aligned(texts).T.copy()  # (w, distinct values)
    lengths = np.array([-(-len(t) // 4) for t in texts])
    inverse = inverse.reshape(m, n_columns)
    needed = lengths[inverse].max(axis=0, initial=1)
    width = table.shape[0]
    return [np.take(table[width - needed[c] :], inverse[:, c], axis=1) for c in range(n_columns)]


def _python_aligned(texts: list[str]) -> np.ndarray:
    encoded = [t.encode("ascii") for t in texts]
    width = -(-max((len(t) for t in encoded), default=1) // 4) * 4
    return _words(b"".join(t.rjust(width) for t in encoded)).reshape(len(encoded), width // 4)


def literal_words(text: str) -> np.ndarray:
    """``text`` (ASCII) as whole words: spaces fill the last word, at ``PAD_AT`` if ``text`` has it,
    else before a final line end, else at the end."""
    raw = text.encode("ascii")
    fill = -len(raw.replace(PAD_AT.encode(), b"")) % 4
    if PAD_AT in text:
        raw = raw.replace(PAD_AT.encode(), b" " * fill, 1)
    elif raw.endswith(b"\n"):
        raw = raw[:-1] + b" " * fill + b"\n"
    else:
        raw += b" " * fill
    return _words(raw)
