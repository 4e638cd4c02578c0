"""Read LHE files (LHEF 1 and 3, plain or gzip) into :class:`~mlgen.events.EventBatch`.

Handles what real generators write: MadGraph's header cards and ``<mgrwt>``
blocks, POWHEG's ``#`` comment lines, LHEF 3 ``<rwgt>`` and ``<weights>``
weights and ``<scales>``, a varying number of particles per event (padded,
``pdg == 0``).

Strict: a file that is not exactly what it says raises :class:`LHEError` naming the file, the
line, the event (1-based, in file order) and what was expected; nothing is skipped or guessed.
NUP must match the particle lines present, tags must balance (a lost ``</event>`` cannot merge
two events), integer fields must be integers, every number finite, an event line 6 and a particle
line 13 fields, mothers within the event, no weight of a sign IDWTUP forbids, every weight the
header declares present once. The file streams in bounded chunks (:mod:`mlgen.lhe.source`), so
time is linear and memory bounded by the batch size, whatever the input.

Speed: the per-event work is a few C-level splits; the numbers of a whole chunk are converted in
one pass (``benchmarks/lhe_io.py`` against pylhe).
"""

from __future__ import annotations

__all__ = ["DEFAULT_LIMITS", "LHEError", "LHEWarning", "Limits", "iter_lhe", "read_lhe"]

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from mlgen.events import EventBatch, RunInfo
from mlgen.lhe.events import Parsed, cut_block, parse_events
from mlgen.lhe.header import parse_run_info
from mlgen.lhe.markup import blank_literals
from mlgen.lhe.source import LHEError, LHEWarning, Limits, read_chunks

_INIT = re.compile(rb"<init[\s>]")
#: the bounds a file is read under unless the caller gives others
DEFAULT_LIMITS = Limits()


def _init_end(buf: bytes) -> int:
    """The offset just past ``</init>`` (not one inside ``<header>``, a CDATA section or a comment), or -1
    if not in ``buf`` yet."""
    buf = blank_literals(buf)
    frm = 0
    h0 = buf.find(b"<header>")
    if h0 >= 0:
        frm = buf.find(b"</header>", h0)
        if frm < 0:
            return -1
    found = _INIT.search(buf, frm)
    if found is None:
        return -1
    end = buf.find(b"</init>", found.start())
    return -1 if end < 0 else end + len(b"</init>")


class _Pending:
    """Parsed events waiting to fill a batch."""

    def __init__(self) -> None:
        self.parts: list[Parsed] = []
        self.count = 0

    def add(self, parsed: Parsed) -> None:
        if len(parsed.nup):
            self.parts.append(parsed)
            self.count += len(parsed.nup)

    def take(self, n: int) -> Parsed:
        merged = Parsed.concat(self.parts)
        first, rest = merged.split(n)
        self.parts = [rest] if len(rest.nup) else []
        self.count = len(rest.nup)
        return first


def _without_scales(tail: bytes) -> bytes:
    """``tail`` without its ``<scales .../>`` (or ``<scales ...></scales>``) tag's line."""
    gt = tail.find(b">", tail.find(b"<scales"))
    close = tail.find(b"</scales>", gt)
    if close >= 0 and not tail[gt + 1 : close].strip():
        return cut_block(tail, b"<scales", b"</scales>")
    return cut_block(tail, b"<scales", b">")


def _text(parsed: Parsed) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The batch's tag attributes and trailers, ``None`` where no event has any. The ``<scales>`` tags
    leave the trailers when every event's holds ``mur`` and ``muf`` alone: ``mu_r``, ``mu_f`` carry
    them, and the writer writes them back; any other stays, verbatim."""
    tails = list(parsed.trailer)
    if tails and bool(parsed.plain_scales.all()):
        tails = [_without_scales(t) for t in tails]
    trailer = np.array([t.decode(errors="replace").strip("\n") for t in tails], dtype=object)
    attributes = parsed.attributes
    return (attributes if any(attributes) else None), (trailer if any(trailer) else None)


def _batch(parsed: Parsed, info: RunInfo, device: str) -> EventBatch:
    b, n = len(parsed.nup), int(parsed.nup.max())
    part = np.zeros((b, n, 13))
    part[:, :, 12] = 9.0
    event = np.repeat(np.arange(b), parsed.nup)
    starts = np.cumsum(parsed.nup) - parsed.nup
    slot = np.arange(len(event)) - np.repeat(starts, parsed.nup)
    part[event, slot] = parsed.particles
    head = parsed.head

    def ints(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64)).to(device)

    def flt(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)).to(device)

    momenta = np.stack([part[..., 9], part[..., 6], part[..., 7], part[..., 8]], -1)
    mu = parsed.mu if bool(parsed.has_mu.all()) else None
    attributes, trailer = _text(parsed)
    x = None
    if info.beam_energies[0] > 0 and info.beam_energies[1] > 0:
        x = (part[:, 0, 9] / info.beam_energies[0], part[:, 1, 9] / info.beam_energies[1])
    return EventBatch(
        momenta=flt(momenta),
        pdg=ints(part[..., 0]),
        status=ints(part[..., 1]),
        mothers=ints(part[..., 2:4]),
        colors=ints(part[..., 4:6]),
        masses=flt(part[..., 10]),
        weight=flt(head[:, 2]),
        scale=flt(head[:, 3]),
        alpha_qed=flt(head[:, 4]),
        alpha_s=flt(head[:, 5]),
        process_id=ints(head[:, 1]),
        lifetime=flt(part[..., 11]),
        spin=flt(part[..., 12]),
        x1=None if x is None else flt(x[0]),
        x2=None if x is None else flt(x[1]),
        mu_r=None if mu is None else flt(mu[:, 0]),
        mu_f=None if mu is None else flt(mu[:, 1]),
        extra_weights=None if parsed.extra is None else flt(parsed.extra),
        attributes=attributes,
        trailer=trailer,
    )


def _read(path: Path, batch_size: int, limits: Limits) -> Iterator[tuple[RunInfo, Parsed | None]]:
    """Yield the run info with ``None`` once, then ``(info, parsed)`` of up to ``batch_size`` events."""
    chunks = read_chunks(path, limits)
    buf, line = b"", 1
    for chunk, first in chunks:
        buf, line = (buf + chunk, line) if buf else (chunk, first)
        end = _init_end(buf)
        if end >= 0:
            break
        if len(buf) > limits.header_bytes:
            raise LHEError(
                f"{path}: no <init> ... </init> in the first {len(buf)} bytes (Limits.header_bytes)"
            )
    else:
        end = _init_end(buf)
    if end < 0:
        text = buf.decode("utf-8", errors="replace")
        parse_run_info(path, text)  # names what is missing
        raise LHEError(f"{path}: missing <init> ... </init> block")
    info = parse_run_info(path, buf[:end].decode("utf-8", errors="replace"))
    yield info, None
    line += buf.count(b"\n", 0, end)
    buf = buf[end:]
    state = _State(path, info, limits)
    pending = _Pending()
    done = False
    while not done:
        consumed = state.feed(buf, line)
        pending.add(state.take())
        line += buf.count(b"\n", 0, consumed)
        buf = buf[consumed:]
        while pending.count >= batch_size:
            yield info, pending.take(batch_size)
        nxt = next(chunks, None)
        if nxt is None:
            state.finish(buf, line)
            pending.add(state.take())
            done = True
        else:
            buf += nxt[0]
    if pending.count:
        yield info, pending.take(pending.count)


class _State:
    """Where the scan of the event section stands between chunks."""

    def __init__(self, path: Path, info: RunInfo, limits: Limits) -> None:
        self.path, self.info, self.limits = path, info, limits
        self.events = 0
        self.ended = False
        self.rows: list[Parsed] = []

    def error(self, buf: bytes, line: int, offset: int, message: str, event: int | None = None) -> LHEError:
        at = line + buf.count(b"\n", 0, offset)
        which = f" (event {event})" if event is not None else ""
        return LHEError(f"{self.path}:{at}: {message}{which}")

    def feed(self, buf: bytes, line: int) -> int:
        """Parse the complete events of ``buf``; return how many bytes were consumed."""
        pos = 0
        blocks: list[tuple[int, int, int]] = []  # (offset of <event, offset after its >, offset of </event>)
        while True:
            if self.ended:
                self._between(buf, line, pos, len(buf))
                pos = len(buf)
                break
            s = buf.find(b"<event", pos)
            if s < 0:  # the buffer ends at a line end: what follows the last event is whole lines
                self._between(buf, line, pos, len(buf))
                pos = len(buf)
                break
            after = buf[s + 6 : s + 7]
            if after not in (b" ", b"\t", b"\r", b"\n", b">"):
                gt = buf.find(b">", s, buf.find(b"\n", s))
                if not buf.startswith(b"<eventgroup", s) or gt < 0:
                    tag = buf[s : buf.find(b"\n", s)][:40].decode(errors="replace")
                    raise self.error(
                        buf, line, s, f"a tag {tag!r} where <event> or </LesHouchesEvents> belongs"
                    )
                # <eventgroup>: a wrapper, its events read one by one
                self._between(buf, line, pos, s)
                pos = gt + 1
                continue
            self._between(buf, line, pos, s)
            if self.ended:
                raise self.error(buf, line, s, "<event> after </LesHouchesEvents>")
            gt = buf.find(b">", s)
            close = buf.find(b"</event>", s)
            if close < 0 or gt < 0:
                nxt = buf.find(b"<event", s + 6)
                if nxt >= 0:
                    raise self._unclosed(buf, line, s, nxt)
                if len(buf) - s > self.limits.event_bytes:
                    raise self._too_long(buf, line, s)
                pos = s
                break
            if close - s > self.limits.event_bytes:
                raise self._too_long(buf, line, s)
            nxt = buf.find(b"<event", s + 6, close)
            if nxt >= 0:
                raise self._unclosed(buf, line, s, nxt)
            if gt > close or buf.find(b"\n", s, gt) >= 0:
                raise self.error(buf, line, s, "unterminated <event ...> tag", self.events + 1)
            self.events += 1
            blocks.append((s, gt + 1, close))
            pos = close + len(b"</event>")
        if blocks:
            self.rows.append(
                parse_events(self.path, self.info, buf, line, blocks, self.events - len(blocks) + 1)
            )
        return pos

    def _too_long(self, buf: bytes, line: int, start: int) -> LHEError:
        return self.error(
            buf,
            line,
            start,
            f"an event longer than {self.limits.event_bytes} bytes (Limits.event_bytes)",
            self.events + 1,
        )

    def _unclosed(self, buf: bytes, line: int, start: int, nxt: int) -> LHEError:
        at = line + buf.count(b"\n", 0, nxt)
        return self.error(
            buf, line, start, f"<event> without </event> before the next <event> (line {at})", self.events + 1
        )

    def _between(self, buf: bytes, line: int, start: int, stop: int) -> None:
        """Text between events: blank lines, ``#`` comments, ``</eventgroup>``, ``</LesHouchesEvents>``."""
        gap = buf[start:stop]
        if not gap.strip():
            return
        offset = start
        for text in gap.split(b"\n"):
            stripped = text.strip()
            if self.ended:
                if stripped and not stripped.startswith(b"#"):
                    raise self.error(buf, line, offset, f"text after </LesHouchesEvents>: {stripped[:60]!r}")
            elif stripped == b"</LesHouchesEvents>":
                self.ended = True
            elif stripped and not stripped.startswith((b"#", b"</eventgroup>", b"<!--")):
                raise self.error(
                    buf, line, offset, f"text outside any <event>: {stripped[:60]!r} (a lost <event> tag?)"
                )
            offset += len(text) + 1

    def finish(self, buf: bytes, line: int) -> None:
        """The end of the file: what is left must be the end of the event section."""
        s = buf.find(b"<event")
        if s >= 0 and not self.ended:
            raise self.error(buf, line, s, "unterminated <event> (truncated file?)", self.events + 1)
        self._between(buf, line, 0, len(buf))
        if not self.ended:
            raise self.error(buf, line, len(buf), "missing </LesHouchesEvents> (truncated file?)")

    def take(self) -> Parsed:
        rows, self.rows = self.rows, []
        return Parsed.concat(rows) if rows else Parsed.empty(len(self.info.weights))


def iter_lhe(
    path: str | os.PathLike[str],
    batch_size: int = 100_000,
    *,
    device: str = "cpu",
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[tuple[RunInfo, EventBatch]]:
    """Yield ``(run_info, batch)`` with up to ``batch_size`` events each.

    Raises:
        LHEError: a malformed, truncated or hostile file, naming the file, line and event.
    """
    for info, parsed in _read(Path(path), batch_size, limits):
        if parsed is not None:
            yield info, _batch(parsed, info, device)


def read_lhe(
    path: str | os.PathLike[str],
    *,
    max_events: int | None = None,
    device: str = "cpu",
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[RunInfo, EventBatch | None]:
    """Read a whole LHE file: ``(run_info, events)`` (``None`` for a file without events).

    With ``max_events`` only the first events are read (and the rest of the file is not checked).
    """
    info: RunInfo | None = None
    batches = []
    count = 0
    for info, parsed in _read(Path(path), 100_000 if max_events is None else max(1, max_events), limits):
        if parsed is None:
            continue
        batches.append(_batch(parsed, info, device))
        count += len(batches[-1])
        if max_events is not None and count >= max_events:
            break
    assert info is not None
    if not batches:
        return info, None
    events = EventBatch.concat(batches) if len(batches) > 1 else batches[0]
    if max_events is not None:
        events = events[:max_events]
    return info, events
