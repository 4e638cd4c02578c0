"""Parse LHAPDF6 ``lhagrid1`` member files and ``.info`` files into arrays.

This module knows files and nothing about interpolation. It reads real files
as they come: several Q subgrids (concatenated, the shared boundary knot kept
twice as LHAPDF does), repeated x knots (dropped: LHAPDF's derivative would be
0/0 there), numbers fused without a space (``0.00000000e+000.00000000e+00`` in
CT14qed: tokenised like ``strtod``), trailing spaces and ``#`` comments.
"""

from __future__ import annotations

__all__ = ["Grid", "PDFFormatError", "parse_info", "read_grid"]

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class PDFFormatError(ValueError):
    """A malformed PDF file; the message names the file and the line."""


@dataclass
class Grid:
    """One PDF member on its knots.

    Attributes:
        x: ``(nx,)`` increasing x knots (repeats dropped).
        q2: ``(nq,)`` Q^2 knots in GeV^2, subgrids concatenated (boundary knots repeated).
        pids: PDG ids of the flavour columns (21 gluon, 22 photon).
        values: ``(nx, nq, nf)`` ``x f(x, Q^2)``.
        meta: the member header's key-value pairs.
        source: the file it came from.
    """

    x: np.ndarray
    q2: np.ndarray
    pids: tuple[int, ...]
    values: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _tokens(line: str) -> list[float]:
    return [float(t) for t in _NUMBER.findall(line)]


def parse_info(text: str, source: str = "<info>") -> dict[str, Any]:
    """The flat YAML of LHAPDF ``.info`` files and member headers: ``Key: value`` lines,
    values being numbers, strings or ``[a, b, ...]`` lists (possibly over several lines)."""
    out: dict[str, Any] = {}
    pending_key, pending = None, ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("SetDesc") else raw.rstrip()
        if pending_key is not None:
            pending += " " + line.strip()
            if "]" in line:
                out[pending_key] = _value(pending)
                pending_key = None
            continue
        if not line.strip() or line.strip() == "---":
            continue
        if ":" not in line:
            raise PDFFormatError(f"{source}:{number}: expected 'Key: value', got {raw.strip()!r}")
        key, _, value = line.partition(":")
        value = value.strip()
        if value.startswith("[") and "]" not in value:
            pending_key, pending = key.strip(), value
            continue
        out[key.strip()] = _value(value)
    if pending_key is not None:
        raise PDFFormatError(f"{source}: unterminated list for key {pending_key!r}")
    return out


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        items = [t.strip() for t in text[1:-1].split(",") if t.strip()]
        return [_value(t) for t in items]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text.strip("\"'")


def read_grid(path: str | Path) -> Grid:
    """Read one ``lhagrid1`` member file."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise PDFFormatError(f"{path}: cannot read: {err.strerror}") from None
    # split into blocks at '---' lines, remembering where each block starts
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(lines, 1):
        if line.strip() == "---":
            blocks.append([])
        elif line.strip() and not line.lstrip().startswith("#"):
            blocks[-1].append((number, line))
    if len(blocks) < 3 or blocks[-1]:
        raise PDFFormatError(f"{path}:{len(lines)}: expected a header block and subgrids each ended by '---'")
    meta = parse_info("\n".join(line for _, line in blocks[0]), str(path))
    if str(meta.get("Format", "lhagrid1")) != "lhagrid1":
        raise PDFFormatError(f"{path}: Format {meta['Format']!r} is not lhagrid1")
    xs: np.ndarray | None = None
    pids: tuple[int, ...] | None = None
    q2_parts, value_parts = [], []
    for block in blocks[1:-1]:
        if len(block) < 4:
            where = block[0][0] if block else len(lines)
            raise PDFFormatError(f"{path}:{where}: subgrid needs x knots, Q knots, flavours and values")
        x = np.array(_tokens(block[0][1]))
        q = np.array(_tokens(block[1][1]))
        ids = tuple(int(v) for v in _tokens(block[2][1]))
        if xs is None:
            xs, pids = x, ids
        elif not (len(x) == len(xs) and np.array_equal(x, xs)) or ids != pids:
            raise PDFFormatError(
                f"{path}:{block[0][0]}: every subgrid must have the same x knots and flavours"
            )
        rows = []
        for number, line in block[3:]:
            row = _tokens(line)
            if len(row) != len(ids):
                raise PDFFormatError(
                    f"{path}:{number}: expected {len(ids)} values (one per flavour), got {len(row)}"
                )
            rows.append(row)
        if len(rows) != len(x) * len(q):
            raise PDFFormatError(
                f"{path}:{block[-1][0]}: expected {len(x)} x {len(q)} = {len(x) * len(q)} value lines, "
                f"got {len(rows)}"
            )
        value_parts.append(np.array(rows).reshape(len(x), len(q), len(ids)))
        q2_parts.append(q**2)
    assert xs is not None and pids is not None
    keep = np.concatenate([[True], np.diff(xs) > 0])
    if not np.all(np.diff(xs[keep]) > 0):
        raise PDFFormatError(f"{path}: x knots are not increasing")
    values = np.concatenate(value_parts, axis=1)[keep]
    q2 = np.concatenate(q2_parts)
    if not np.all(np.diff(q2) >= 0):
        raise PDFFormatError(f"{path}: Q knots are not increasing")
    return Grid(xs[keep], q2, pids, values, meta, str(path))
