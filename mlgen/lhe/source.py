"""The bytes of an LHE file, plain or gzip, in bounded chunks of whole lines.

Everything a hostile or damaged file could use to exhaust the reader is bounded here: a line
longer than :attr:`Limits.line_bytes`, more than :attr:`Limits.total_bytes` decompressed, a gzip
member that expands more than :attr:`Limits.gzip_ratio` times (a "gzip bomb"), and corrupt or
truncated compressed data are each an :class:`LHEError` naming the file and the line.
"""

from __future__ import annotations

__all__ = ["LHEError", "LHEWarning", "Limits", "read_chunks"]

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: decompressed bytes read at a time (the reader's working memory is a few of these)
CHUNK_BYTES = 1 << 22


class LHEWarning(UserWarning):
    """A file that breaks the standard in a way mlgen can read around (said, never hidden)."""


class LHEError(ValueError):
    """A malformed LHE file; the message names the file, the line (and event) and what was expected."""


@dataclass(frozen=True)
class Limits:
    """What the reader accepts before it calls a file hostile.

    Attributes:
        line_bytes: the longest line (no generator writes a line near this).
        header_bytes: the most bytes before ``</init>`` (headers with whole cards are ~100 kB).
        event_bytes: the longest ``<event> ... </event>`` block.
        total_bytes: the most (decompressed) bytes of one file; ``None`` for no bound.
        gzip_ratio: the most a gzip file may expand (decompressed over compressed size), checked
            once the output passes 64 MiB; LHE text compresses 4-10 times.
    """

    line_bytes: int = 1 << 24
    header_bytes: int = 1 << 24
    event_bytes: int = 1 << 26
    total_bytes: int | None = None
    gzip_ratio: float = 200.0


_RATIO_FLOOR = 1 << 26


def _open(path: Path) -> tuple[io.BufferedIOBase, io.BufferedIOBase, int]:
    """``(stream of decompressed bytes, the file, its size)``."""
    try:
        raw = path.open("rb")
    except OSError as err:
        raise LHEError(f"{path}: cannot read: {err.strerror}") from None
    try:
        size = os.fstat(raw.fileno()).st_size
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
    except OSError as err:
        raw.close()
        raise LHEError(f"{path}: cannot read: {err.strerror}") from None
    stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    return stream, raw, size


def read_chunks(path: Path, limits: Limits) -> Iterator[tuple[bytes, int]]:
    """Yield ``(chunk, first_line)``: consecutive pieces of the decompressed file, each ending at a
    line end (the last may not), with the 1-based number of its first line.

    Raises:
        LHEError: unreadable or corrupt data, or a limit of ``limits`` passed.
    """
    stream, raw, compressed = _open(path)
    gzipped = isinstance(stream, gzip.GzipFile)
    carry = b""
    line = 1
    total = 0
    try:
        while True:
            try:
                block = stream.read(CHUNK_BYTES)
            except (OSError, EOFError, zlib.error) as err:
                at = line + carry.count(b"\n")
                raise LHEError(
                    f"{path}:{at}: corrupt or truncated gzip data after {total} decompressed bytes ({err})"
                ) from None
            total += len(block)
            if limits.total_bytes is not None and total > limits.total_bytes:
                raise LHEError(
                    f"{path}: more than {limits.total_bytes} bytes decompressed (Limits.total_bytes)"
                )
            if gzipped and total > _RATIO_FLOOR and total > limits.gzip_ratio * compressed:
                raise LHEError(
                    f"{path}: gzip data expands more than {limits.gzip_ratio:g} times its "
                    f"{compressed} bytes (a gzip bomb?; Limits.gzip_ratio)"
                )
            if not block:
                if carry:
                    _check_lines(path, carry, line, len(carry), limits)
                    yield carry, line
                return
            data = carry + block
            end = data.rfind(b"\n") + 1
            _check_lines(path, data, line, end, limits)
            if end == 0:
                carry = data
                continue
            yield data[:end], line
            line += data.count(b"\n", 0, end)
            carry = data[end:]
    finally:
        stream.close()
        raw.close()


def _check_lines(path: Path, data: bytes, line: int, end: int, limits: Limits) -> None:
    """Raise for a line of ``data`` longer than the limit (the piece after ``end`` counts too: it
    is the start of the next line)."""
    if len(data) <= limits.line_bytes:
        return
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(data)]])
    too_long = np.flatnonzero(stops - starts > limits.line_bytes)
    if too_long.size:
        raise LHEError(
            f"{path}:{line + int(too_long[0])}: a line longer than {limits.line_bytes} bytes "
            "(Limits.line_bytes)"
        )
