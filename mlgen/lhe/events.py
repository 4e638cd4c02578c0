"""The ``<event>`` blocks of an LHE file to arrays, strictly.

One pass of C-level splits per event finds its lines; the numbers of all the events of a chunk
are then checked and converted together (one ``map(float, ...)`` over every field), so the
Python work per particle line is a split and a float conversion per field.
"""

from __future__ import annotations

__all__ = ["Parsed", "parse_events"]

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from mlgen.events import RunInfo
from mlgen.lhe.header import strict_float, strict_int
from mlgen.lhe.markup import attribute_value
from mlgen.lhe.source import LHEError

_WGT = re.compile(rb"<wgt\s+id\s*=\s*['\"]([^'\"]+)['\"]\s*>\s*([^<\s]+)\s*</wgt>")
_WEIGHTS = re.compile(rb"<weights\b[^>]*>(.*?)</weights>", re.S)
_SCALES = re.compile(rb"<scales\b([^>]*?)/?>")
_ATTR = re.compile(rb"(\w+)\s*=\s*['\"]([^'\"]*)['\"]")
#: the weights each unsigned IDWTUP allows (the Les Houches accord; the negative IDWTUP allow
#: signs): +3 unweighted events carry one positive weight, +1, +2 and +4 weighted ones may weigh 0
#: (an event that contributes nothing) but never less
_SMALLEST_WEIGHT = {1: "non-negative", 2: "non-negative", 3: "positive", 4: "non-negative"}
_INT_LIMIT = 2**31
_PARTICLE_LINE = "particle line (IDUP ISTUP MOTHUP(2) ICOLUP(2) P(5) VTIMUP SPINUP)"
#: ``locate(t)``: the event (index in the chunk) and the line below its event line of token ``t``
Locate = Callable[[int], tuple[int, int]]


@dataclass
class Parsed:
    """Events as arrays: ``head (m, 6)`` event lines, ``nup (m,)``, ``particles (sum nup, 13)`` lines,
    ``extra (m, k)`` named weights (``None`` when the header declares none), ``mu (m, 2)``
    ``(mur, muf)`` from ``<scales>`` where ``has_mu``; ``attributes (m,)`` each ``<event ...>`` tag's
    attribute text (``str``) and ``trailer (m,)`` each event's lines after the particles (``bytes``),
    the named weights left out (empty for none); ``plain_scales (m,)`` the event's ``<scales>`` holds
    ``mur`` and ``muf`` alone."""

    head: np.ndarray
    nup: np.ndarray
    particles: np.ndarray
    extra: np.ndarray | None
    mu: np.ndarray
    has_mu: np.ndarray
    attributes: np.ndarray
    trailer: np.ndarray
    plain_scales: np.ndarray

    @staticmethod
    def empty(n_weights: int) -> Parsed:
        return Parsed(
            np.zeros((0, 6)),
            np.zeros(0, np.int64),
            np.zeros((0, 13)),
            np.zeros((0, n_weights)) if n_weights else None,
            np.zeros((0, 2)),
            np.zeros(0, bool),
            np.zeros(0, object),
            np.zeros(0, object),
            np.zeros(0, bool),
        )

    @staticmethod
    def concat(parts: list[Parsed]) -> Parsed:
        if len(parts) == 1:
            return parts[0]
        extra = [p.extra for p in parts]
        return Parsed(
            np.concatenate([p.head for p in parts]),
            np.concatenate([p.nup for p in parts]),
            np.concatenate([p.particles for p in parts]),
            None if extra[0] is None else np.concatenate(extra),  # type: ignore[arg-type]
            np.concatenate([p.mu for p in parts]),
            np.concatenate([p.has_mu for p in parts]),
            np.concatenate([p.attributes for p in parts]),
            np.concatenate([p.trailer for p in parts]),
            np.concatenate([p.plain_scales for p in parts]),
        )

    def split(self, n: int) -> tuple[Parsed, Parsed]:
        """The first ``n`` events and the rest."""
        cut = int(self.nup[:n].sum())
        return (
            Parsed(
                self.head[:n],
                self.nup[:n],
                self.particles[:cut],
                None if self.extra is None else self.extra[:n],
                self.mu[:n],
                self.has_mu[:n],
                self.attributes[:n],
                self.trailer[:n],
                self.plain_scales[:n],
            ),
            Parsed(
                self.head[n:],
                self.nup[n:],
                self.particles[cut:],
                None if self.extra is None else self.extra[n:],
                self.mu[n:],
                self.has_mu[n:],
                self.attributes[n:],
                self.trailer[n:],
                self.plain_scales[n:],
            ),
        )


class _Events:
    """The events of a chunk, for error messages: which line of the file a problem is on."""

    def __init__(self, path: Path, buf: bytes, line: int, blocks: list[tuple[int, int, int]], first: int):
        self.path, self.buf, self.line, self.blocks, self.first = path, buf, line, blocks, first

    def error(self, j: int, message: str, line_in_block: int = 0) -> LHEError:
        """An error in the ``j``-th event of the chunk, ``line_in_block`` lines below its event line."""
        _, b0, close = self.blocks[j]
        lines = self.buf[b0:close].split(b"\n")
        k = _event_line(lines)
        at = self.line + self.buf.count(b"\n", 0, b0) + min(k, len(lines) - 1) + line_in_block
        return LHEError(f"{self.path}:{at}: {message} (event {self.first + j})")


def _event_line(lines: list[bytes]) -> int:
    """The index of the event line (NUP IDPRUP ...) among an event block's lines: the first that is
    neither blank nor a ``#`` comment, after the line of the ``<event>`` tag."""
    k = 1
    while k < len(lines) and (not lines[k].strip() or lines[k].lstrip().startswith(b"#")):
        k += 1
    return k


def parse_events(
    path: Path, info: RunInfo, buf: bytes, line: int, blocks: list[tuple[int, int, int]], first: int
) -> Parsed:
    """Parse the ``<event>`` blocks ``(start, body start, </event> offset)`` of ``buf``, whose first
    line is line ``line`` of the file; ``first`` is the 1-based index of the first event.

    Raises:
        LHEError: naming the file, line and event of the first problem found.
    """
    # as the ids are spelled in the events: escaped as in the header (mlgen's writer writes them so)
    ids = [attribute_value(w.id).encode() for w in info.weights]
    ev = _Events(path, buf, line, blocks, first)
    heads: list[list[bytes]] = []
    plines: list[bytes] = []
    nups: list[int] = []
    extras: list[list[float]] = []
    mus: dict[int, tuple[float, float]] = {}
    tails: dict[int, bytes] = {}  # the events with lines after their particles
    plain = np.zeros(len(blocks), bool)  # the events whose <scales> holds mur and muf alone
    for j, (_, b0, close) in enumerate(blocks):
        lines = buf[b0:close].split(b"\n")
        head = lines[1].split() if len(lines) > 2 else []
        k = 1
        if not head or head[0][:1] == b"#":  # comment or blank lines before the event line
            k = _event_line(lines)
            if k >= len(lines) - 1:
                raise ev.error(j, "empty <event>: expected NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP")
            head = lines[k].split()
        if len(head) != 6 or not head[0].isdigit():
            raise ev.error(
                j,
                f"event line (NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP): expected 6 numbers, NUP a "
                f"positive integer, got {lines[k].strip()[:80].decode(errors='replace')!r}",
            )
        nup = int(head[0])
        end = k + 1 + nup
        # the line of <event> and the line of </event> hold nothing else
        if (
            nup < 1
            or end >= len(lines)
            or lines[-1].strip()
            or lines[0].strip()
            or lines[end - 1].lstrip()[:1] in (b"<", b"#")  # NUP too large: a tag read as a particle
        ):
            if lines[0].strip() or lines[-1].strip():
                raise ev.error(j, "text on the line of the <event> or </event> tag")
            found = len(_particle_like(lines[k + 1 : -1]))
            raise ev.error(
                j, f"event declares NUP = {nup} particles, found {found} particle lines", 1 + found
            )
        if end < len(lines) - 1:
            rest = lines[end:-1]
            for n, text in enumerate(rest):
                stripped = text.lstrip()
                if stripped:
                    if stripped[:1] not in (b"<", b"#"):
                        raise ev.error(j, f"a particle line after the NUP = {nup} declared", 1 + nup + n)
                    break
            tail = tails[j] = b"\n".join(rest)
            wgt, listed, scales = _extras(ev, j, tail, 1 + nup)
            if scales:
                mur, muf = scales.get(b"mur"), scales.get(b"muf")
                if mur is not None and muf is not None:
                    mus[j] = (mur, muf)
                    plain[j] = len(scales) == 2
        else:
            wgt, listed = {}, None
        if ids:
            extras.append(_named_weights(ev, j, ids, wgt, listed))
        elif wgt or listed is not None:
            raise ev.error(j, "<rwgt> or <weights> in an event, but no <initrwgt> in the header names them")
        heads.append(head)
        nups.append(nup)
        plines += lines[k + 1 : end]
    nup_array = np.array(nups, dtype=np.int64)
    head_tokens = list(chain.from_iterable(heads))
    if b"_" in b"".join(head_tokens):
        j = next(j for j, h in enumerate(heads) if b"_" in b"".join(h))
        raise ev.error(j, f"event line: a field with '_': {b' '.join(heads[j]).decode(errors='replace')!r}")
    head_values = _columns(
        ev, "event line (NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP)", head_tokens, 6, 6, 2, lambda t: (t // 6, 0)
    )
    particle_values = _particles(ev, plines, nup_array)
    allowed = _SMALLEST_WEIGHT.get(info.weight_strategy)
    if allowed is not None:
        weights = head_values[:, 2]
        bad = np.flatnonzero(weights <= 0 if allowed == "positive" else weights < 0)
        if bad.size:
            j = int(bad[0])
            raise ev.error(
                j,
                f"weight XWGTUP = {float(weights[j])!r}: IDWTUP = {info.weight_strategy} "
                f"allows only {allowed} weights",
            )
    mu = np.zeros((len(blocks), 2))
    has_mu = np.zeros(len(blocks), bool)
    if mus:
        where = np.fromiter(mus, np.int64, len(mus))
        mu[where] = np.array(list(mus.values()))
        has_mu[where] = True
    attributes, trailer = _event_text(buf, blocks, tails, bool(ids))
    return Parsed(
        head_values,
        nup_array,
        particle_values,
        np.array(extras, dtype=np.float64).reshape(len(blocks), len(ids)) if ids else None,
        mu,
        has_mu,
        attributes,
        trailer,
        plain,
    )


def cut_block(text: bytes, start: bytes, end: bytes) -> bytes:
    """``text`` without its first block from ``start`` to ``end`` (both included), with the blanks
    before it on its line and after it up to its line end, as a whole line leaves; unchanged when
    ``text`` has none."""
    i = text.find(start)
    j = text.find(end, i + 1) if i >= 0 else -1
    if j < 0:
        return text
    first = len(text[:i].rstrip(b" \t"))
    stop = j + len(end)
    stop = len(text) - len(text[stop:].lstrip(b" \t"))
    if text[stop : stop + 1] == b"\n":
        stop += 1
    return text[:first] + text[stop:]


def _event_text(
    buf: bytes, blocks: list[tuple[int, int, int]], tails: dict[int, bytes], named_weights: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each event's tag attributes (``str``) and the text after its particles (``bytes``), as arrays;
    the ``<rwgt>``/``<weights>`` blocks left out where the named weights carry them."""
    attributes = np.array(
        [buf[s + 6 : b0 - 1].strip().decode(errors="replace") for s, b0, _ in blocks], dtype=object
    )
    trailer = np.full(len(blocks), b"", dtype=object)
    for j, tail in tails.items():
        if named_weights and b"<rwgt" in tail:
            tail = cut_block(tail, b"<rwgt", b"</rwgt>")
        if named_weights and b"<weights" in tail:
            tail = cut_block(tail, b"<weights", b"</weights>")
        trailer[j] = tail
    return attributes, trailer


def _particle_like(lines: list[bytes]) -> list[bytes]:
    out = []
    for text in lines:
        stripped = text.lstrip()
        if not stripped or stripped[:1] in (b"<", b"#"):
            break
        out.append(text)
    return out


def _extras(
    ev: _Events, j: int, rest: bytes, below: int
) -> tuple[dict[bytes, float], list[float] | None, dict[bytes, float]]:
    """The ``<rwgt>`` weights, the ``<weights>`` list and the ``<scales>`` of an event's tail."""
    if b"<" not in rest:
        return {}, None, {}
    opened = rest.count(b"<")
    # every tag closed: <a ...> ... </a> holds two "<" and one "</", <a ... /> one "<" and one "/>"
    if opened != rest.count(b">") or opened != 2 * rest.count(b"</") + rest.count(b"/>"):
        raise ev.error(j, "unbalanced tags after the particle lines (a lost line?)", below)
    if b"<wgt" not in rest and b"<weights" not in rest and b"<scales" not in rest:
        return {}, None, {}
    wgt: dict[bytes, float] = {}
    found = _WGT.findall(rest)
    if len(found) != rest.count(b"<wgt"):
        raise ev.error(j, "a malformed <wgt id='...'> value </wgt> line", below)
    try:
        if found:
            wgt = dict(zip([wid for wid, _ in found], _reals([value for _, value in found])))
            if len(wgt) != len(found):
                twice = next(wid for wid, _ in found if sum(1 for w, _ in found if w == wid) > 1)
                raise ValueError(f"weight id {twice.decode(errors='replace')!r} twice")
        block = _WEIGHTS.search(rest)
        listed = _reals(block.group(1).split()) if block else None
        sc = _SCALES.search(rest)
        scales = {}
        if sc:
            pairs = _ATTR.findall(sc.group(1))
            scales = dict(zip([k for k, _ in pairs], _reals([v.strip() for _, v in pairs])))
    except (ValueError, UnicodeDecodeError) as err:
        raise ev.error(j, f"weights or scales: {err}", below) from None
    return wgt, listed, scales


def _reals(tokens: list[bytes]) -> list[float]:
    """``tokens`` as finite floats (Fortran ``D`` exponents allowed), or ValueError naming the first
    that is not one."""
    try:
        if b"_" in b"".join(tokens):
            raise ValueError
        values = list(map(float, tokens))
        if all(map(math.isfinite, values)):
            return values
    except ValueError:
        pass
    return [strict_float(t.decode(errors="replace")) for t in tokens]


def _named_weights(
    ev: _Events, j: int, ids: list[bytes], wgt: dict[bytes, float], listed: list[float] | None
) -> list[float]:
    if wgt:
        missing = [i for i in ids if i not in wgt]
        unknown = [i for i in wgt if i not in set(ids)]
        if missing or unknown:
            raise ev.error(
                j,
                f"<rwgt> weights do not match <initrwgt>: missing {[m.decode() for m in missing[:3]]}, "
                f"undeclared {[u.decode(errors='replace') for u in unknown[:3]]}",
            )
        return [wgt[i] for i in ids]
    if listed is not None:
        if len(listed) != len(ids):
            raise ev.error(j, f"<weights> holds {len(listed)} values, <initrwgt> declares {len(ids)}")
        return listed
    raise ev.error(j, f"no <rwgt> or <weights>: the header declares {len(ids)} weights per event")


def _columns(
    ev: _Events, what: str, tokens: list[bytes], width: int, stride: int, n_int: int, locate: Locate
) -> np.ndarray:
    """``tokens``, ``stride`` per row of which the first ``width`` are fields (the first ``n_int``
    integers, the rest finite reals), as a ``(rows, width)`` array; a bad field is an error naming
    its line."""
    rows = (len(tokens) + stride - 1) // stride
    values = np.empty((rows, width))
    for c in range(width):
        column = tokens[c::stride]
        convert = int if c < n_int else float
        try:
            if len(set(column[:256])) * 4 < min(len(column), 256):
                # a column of few distinct values (masses, spins, status, lifetimes): each converted once
                table = dict(zip(distinct := dict.fromkeys(column), map(convert, distinct)))
                values[:, c] = list(map(table.__getitem__, column))
            else:
                values[:, c] = list(map(convert, column))
        except (ValueError, OverflowError):
            values[:, c] = _column_slowly(
                ev,
                what,
                column,
                c < n_int,
                lambda i, c=c: locate(i * stride + c),  # type: ignore[misc]
            )
    bad = np.flatnonzero(~np.isfinite(values).all(1))
    if bad.size:
        j, below = locate(int(bad[0]) * stride)
        raise ev.error(j, f"{what}: a field that is NaN or infinite", below)
    return values


def _column_slowly(ev: _Events, what: str, column: list[bytes], integer: bool, locate: Locate) -> list[float]:
    """One column field by field: Fortran ``D`` exponents allowed, the first bad field named."""
    out = []
    for i, token in enumerate(column):
        try:
            text = token.decode()
            out.append(float(strict_int(text)) if integer else strict_float(text))
        except (ValueError, UnicodeDecodeError):
            j, below = locate(i)
            kind = "an integer" if integer else "a finite number"
            got = token.decode(errors="replace")
            raise ev.error(j, f"{what}: non-numeric field {got!r} (expected {kind})", below) from None
    return out


def _particles(ev: _Events, plines: list[bytes], nup: np.ndarray) -> np.ndarray:
    """The particle lines as a ``(P, 13)`` array, each field checked."""
    starts = np.cumsum(nup) - nup

    def locate(t: int) -> tuple[int, int]:
        i = t // 14
        j = int(np.searchsorted(starts, i, side="right") - 1)
        return j, 1 + i - int(starts[j])

    n = len(plines)
    if n == 0:
        return np.zeros((0, 13))
    # a "|" token ends every line, so one split of the whole chunk yields every line's fields, and a
    # line with a field too many or too few moves the next "|" off its place
    joined = b" |\n".join(plines)
    tokens = joined.split()
    if len(tokens) != 14 * n - 1 or tokens[13::14] != [b"|"] * (n - 1) or b"_" in joined:
        for i, text in enumerate(plines):
            fields = text.split()
            if len(fields) != 13 or b"_" in text or b"|" in text:
                j, below = locate(14 * i)
                raise ev.error(
                    j,
                    f"{_PARTICLE_LINE}: expected 13 "
                    f"numbers, got {text.strip()[:100].decode(errors='replace')!r}",
                    below,
                )
    values = _columns(ev, _PARTICLE_LINE, tokens, 13, 14, 6, locate)
    ints = values[:, :6]
    checks = (
        (np.abs(ints) >= _INT_LIMIT).any(1),
        "an integer field beyond 32 bits",
        values[:, 0] == 0,
        "PDG id 0 (not a particle)",
        ((ints[:, 2:4] < 0) | (ints[:, 2:4] > np.repeat(nup, nup)[:, None])).any(1),
        "mother index (MOTHUP) outside 0..NUP",
    )
    for k in range(0, len(checks), 2):
        bad = np.flatnonzero(checks[k])
        if bad.size:
            j, below = locate(14 * int(bad[0]))
            raise ev.error(j, f"particle line: {checks[k + 1]}", below)
    return values
