"""A streaming, vectorised LHEF 3 writer.

Events are formatted a chunk at a time (:data:`CHUNK_EVENTS`), the events of one multiplicity
together: every number of the chunk becomes fixed-width text in numpy (:mod:`mlgen.lhe.numbers`),
and the fields and the literal text between them, stacked, are the event text, so no Python code
runs per number (and per event only where events carry free text or differ in multiplicity).
Floats are written with 17 significant digits, as ``%.16e`` writes them, so every double reads
back exactly and a file read back and written again is byte-identical; weights in ``<rwgt>`` keep
full precision (pylhe writes 11 digits). Columns are right-aligned, as MadGraph5 writes them.
What the header copies from outside (card text, names, paths) is escaped
(:mod:`mlgen.lhe.markup`). The file is written to a temporary name in the same directory and
renamed on success; on error nothing appears under the final name.
"""

from __future__ import annotations

__all__ = ["LHEWriter", "write_lhe"]

import gzip
import io
import os
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from types import TracebackType

import numpy as np
import torch

from mlgen.atomic import publish, temporary_beside
from mlgen.events import EventBatch, RunInfo
from mlgen.lhe.markup import attribute, attribute_value, escape_text
from mlgen.lhe.numbers import PAD_AT, e17_words, int_words, literal_words, python_words

FLOAT = "%.16e"


def _header(info: RunInfo) -> str:
    out = ['<LesHouchesEvents version="3.0">\n<header>\n']
    if info.header:
        out.append(info.header.rstrip("\n") + "\n")
    if info.weights:
        out.append("<initrwgt>\n")
        groups: dict[str, list] = {}
        for w in info.weights:
            groups.setdefault(w.group or "mlgen", []).append(w)
        for name, weights in groups.items():
            out.append(f'<weightgroup name={attribute(name)} combine="envelope">\n')
            for w in weights:
                out.append(f"<weight id={attribute(w.id)}>{escape_text(w.description)}</weight>\n")
            out.append("</weightgroup>\n")
        out.append("</initrwgt>\n")
    out.append("</header>\n<init>\n")
    out.append(
        (" %d %d " + FLOAT + " " + FLOAT + " %d %d %d %d %d %d\n")
        % (
            *info.beam_ids,
            *info.beam_energies,
            *info.pdf_group,
            *info.pdf_set,
            info.weight_strategy,
            len(info.processes),
        )
    )
    for p in info.processes:
        out.append((" " + " ".join([FLOAT] * 3) + " %d\n") % (p.xsec_pb, p.error_pb, p.xmax_pb, p.id))
    name, version = info.generator
    out.append(
        f"<generator name={attribute(name)} version={attribute(version)}>mlgen LHEF 3 writer</generator>\n"
    )
    out.append("</init>\n")
    return "".join(out)


#: events formatted at a time (bounds the memory of a batch's text: ~3 kB an event)
CHUNK_EVENTS = 8192

def format_events(batch: EventBatch, weight_ids: tuple[str, ...] = ()) -> bytes:
    """The ``<event>`` blocks of a batch (on any device) as text, in the batch's order."""
    parts = event_text(batch, weight_ids)
    return b"".join(part if isinstance(part, bytes) else part.tobytes() for part in parts)


def event_text(batch: EventBatch, weight_ids: tuple[str, ...] = ()) -> Iterator[bytes | np.ndarray]:
    """The text of :func:`format_events` in pieces of up to ``CHUNK_EVENTS`` events, as ``bytes`` or
    as arrays whose memory is the text (to write without a copy)."""
    b = batch.to("cpu")
    if weight_ids and (b.extra_weights is None or b.extra_weights.shape[1] != len(weight_ids)):
        raise ValueError(
            f"the run declares {len(weight_ids)} weights but the batch carries "
            f"{0 if b.extra_weights is None else b.extra_weights.shape[1]}"
        )
    arrays: dict[str, np.ndarray] = {}
    for name in _FIELDS:
        value = getattr(b, name)
        if value is not None:
            is_tensor = isinstance(value, torch.Tensor)
            arrays[name] = value.numpy() if is_tensor else np.asarray(value, dtype=object)
    if "lifetime" not in arrays:
        arrays["lifetime"] = np.zeros(b.pdg.shape)
    if "spin" not in arrays:
        arrays["spin"] = np.full(b.pdg.shape, 9.0)
    if "mu_r" not in arrays or "mu_f" not in arrays:
        arrays.pop("mu_r", None), arrays.pop("mu_f", None)
    # a <scales> tag with more than mur and muf (MG5's pt_clust_i) travels verbatim in the trailer
    if "trailer" in arrays and any("<scales" in t for t in arrays["trailer"]):
        arrays.pop("mu_r", None), arrays.pop("mu_f", None)
    for start in range(0, len(b), CHUNK_EVENTS):
        yield _format_chunk({k: v[start : start + CHUNK_EVENTS] for k, v in arrays.items()}, weight_ids)


_FIELDS = (
    "pdg", "status", "mothers", "colors", "momenta", "masses", "lifetime", "spin", "weight", "scale",
    "alpha_qed", "alpha_s", "process_id", "extra_weights", "mu_r", "mu_f", "attributes", "trailer",
)  # fmt: skip


def _format_chunk(b: dict[str, np.ndarray], weight_ids: tuple[str, ...]) -> bytes | np.ndarray:
    real = b["pdg"] != 0
    counts = real.sum(1)
    groups = np.unique(counts)
    if len(groups) == 1:
        return _join_rows(_format_group(b, real, int(groups[0]), weight_ids), len(counts))
    # events of each multiplicity formatted together, then put back in the batch's order
    ordered: list[bytes] = [b""] * len(counts)
    for n in groups.tolist():
        rows = np.nonzero(counts == n)[0]
        group = {k: v[rows] for k, v in b.items()}
        texts = _rows(_format_group(group, real[rows], n, weight_ids), len(rows))
        for row, text in zip(rows.tolist(), texts, strict=True):
            ordered[row] = text
    return b"".join(ordered)


def _format_group(
    b: dict[str, np.ndarray], real: np.ndarray, n: int, weight_ids: tuple[str, ...]
) -> list[str | np.ndarray | list[bytes]]:
    """The pieces of the event text of ``b``, whose events all have ``n`` particles: literal text
    (``str``), fixed-width fields (``(m, w)`` words) and free text (one ``bytes`` per event)."""
    m = len(real)
    slots = np.nonzero(real)[1].reshape(m, n)  # each event's particle slots, in order
    leading = bool((slots == np.arange(n)).all())  # as usual: the first n slots

    def particles(values: np.ndarray) -> np.ndarray:
        return values[:, :n] if leading else np.take_along_axis(values, slots, axis=1)

    p = b["momenta"]
    # every integer of an event in one array, every real in another: each formatted in one go
    ints = int_words(
        np.concatenate(
            [
                np.stack([np.full(m, n), b["process_id"]], axis=1),
                *(particles(v) for v in (b["pdg"], b["status"], b["mothers"][..., 0], b["mothers"][..., 1])),
                *(particles(v) for v in (b["colors"][..., 0], b["colors"][..., 1])),
            ],
            axis=1,
        )
    )
    head = np.stack([b[k] for k in ("weight", "scale", "alpha_qed", "alpha_s")], axis=1)
    extra = b["extra_weights"] if weight_ids else np.zeros((m, 0))
    scales = np.stack([b["mu_f"], b["mu_r"]], axis=1) if "mu_r" in b else np.zeros((m, 0))
    moving = [particles(v) for v in (p[..., 1], p[..., 2], p[..., 3], p[..., 0], b["masses"])]
    reals = e17_words(np.concatenate([head, *moving, extra, scales], axis=1))
    life = python_words(particles(b["lifetime"]), "%.6e")
    spin = python_words(particles(b["spin"]), "%.1f")
    pieces: list[str | np.ndarray | list[bytes]] = []
    attributes = b.get("attributes")
    if attributes is not None and any(attributes):
        pieces += ["<event" + PAD_AT, _text([f" {a}" if a else "" for a in attributes]), ">"]
    else:
        pieces.append("<event>")
    pieces += [_line_start(ints[0]), ints[1], *reals[:4]]
    for j in range(n):
        pieces += [_line_start(ints[2 + j])] + [ints[2 + k * n + j] for k in range(1, 6)]
        pieces += [reals[4 + k * n + j] for k in range(5)] + [life[j], spin[j]]
    pieces.append("\n")
    if weight_ids:
        pieces.append("<rwgt>\n")
        for k, wid in enumerate(weight_ids):
            pieces += [f"<wgt id='{attribute_value(wid)}'>", reals[4 + 5 * n + k], " </wgt>\n"]
        pieces.append("</rwgt>\n")
    if "mu_r" in b:
        at = 4 + 5 * n + len(weight_ids)
        pieces += [f"<scales{PAD_AT} muf='", reals[at], f"'{PAD_AT} mur='", reals[at + 1], "'/>\n"]
    trailer = b.get("trailer")
    if trailer is not None and any(trailer):
        pieces.append(_text([f"{t}\n" if t else "" for t in trailer]))
    pieces.append("</event>\n")
    return pieces


def _line_start(field: np.ndarray) -> np.ndarray:
    """``field`` (``(w, m)`` words, starting with a space) starting a new line instead."""
    field = field.copy()
    field[0].view(np.uint8).reshape(-1, 4)[:, 0] = ord("\n")
    return field


def _text(texts: list[str]) -> list[bytes]:
    return [t.encode() for t in texts]


def _segments(pieces: list[str | np.ndarray | list[bytes]], m: int) -> list[np.ndarray | list[bytes]]:
    """Literal text and fields stacked into ``(W, m)`` word arrays, free text between them."""
    out: list[np.ndarray | list[bytes]] = []
    run: list[np.ndarray] = []

    def close_run() -> None:
        if not run:
            return
        dest = np.empty((sum(r.shape[0] for r in run), m), dtype=np.uint32)
        at = 0
        for r in run:
            dest[at : at + r.shape[0]] = r
            at += r.shape[0]
        out.append(dest)
        run.clear()

    literal = ""
    for piece in pieces:
        if isinstance(piece, str):
            literal += piece
            continue
        if literal:
            run.append(literal_words(literal)[:, None])
            literal = ""
        if isinstance(piece, np.ndarray):
            run.append(piece)
        else:
            close_run()
            out.append(piece)
    if literal:
        run.append(literal_words(literal)[:, None])
    close_run()
    return out


def _event_major(segment: np.ndarray) -> np.ndarray:
    """A ``(W, m)`` segment as ``(m, W)``: each event's text in one row (transposed in blocks of
    events, which stay in the processor's cache)."""
    words, m = segment.shape
    out = np.empty((m, words), dtype=np.uint32)
    for start in range(0, m, 256):
        out[start : start + 256] = segment[:, start : start + 256].T
    return out


def _join_rows(pieces: list[str | np.ndarray | list[bytes]], m: int) -> bytes | np.ndarray:
    segments = _segments(pieces, m)
    if len(segments) == 1 and isinstance(segments[0], np.ndarray):
        return _event_major(segments[0])  # the rows are the text
    return b"".join(chain.from_iterable(zip(*_columns(segments, m))))


def _rows(pieces: list[str | np.ndarray | list[bytes]], m: int) -> list[bytes]:
    """The text of each of the ``m`` events."""
    columns = _columns(_segments(pieces, m), m)
    if len(columns) == 1:
        return columns[0]
    return [b"".join(parts) for parts in zip(*columns)]


def _columns(segments: list[np.ndarray | list[bytes]], m: int) -> list[list[bytes]]:
    """Each segment as one ``bytes`` per event."""
    return [
        _event_major(s).view(f"S{4 * s.shape[0]}").reshape(m).tolist() if isinstance(s, np.ndarray) else s
        for s in segments
    ]


class LHEWriter:
    """Stream event batches into an LHEF 3 file (``.lhe`` or ``.lhe.gz``).

    Arguments:
        path: final file name; ``.gz`` compresses.
        run_info: beams, ``<init>`` lines, named weights, header text.
        compresslevel: gzip level (6 balances speed and size).

    Use as a context manager; the file appears under ``path`` only when the
    block exits without an exception.
    """

    def __init__(self, path: str | os.PathLike[str], run_info: RunInfo, compresslevel: int = 6) -> None:
        self.path = Path(path)
        self.run_info = run_info
        self.compresslevel = compresslevel
        self.n_written = 0
        self._tmp: Path | None = None
        self._handle: gzip.GzipFile | io.BufferedWriter | None = None
        # the file under a gzip stream, closed after it (GzipFile does not close a fileobj it was given)
        self._raw: io.BufferedWriter | None = None

    def __enter__(self) -> LHEWriter:
        self._tmp = temporary_beside(self.path)
        raw = open(self._tmp, "wb")  # closed in __exit__
        if self.path.suffix == ".gz":
            level = self.compresslevel
            self._handle = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0)
            self._raw = raw
        else:
            self._handle = raw
            self._raw = None
        self._handle.write(_header(self.run_info).encode())
        return self

    def write(self, batch: EventBatch) -> None:
        """Append a batch of events."""
        if self._handle is None:
            raise RuntimeError("LHEWriter.write outside its with-block")
        for text in event_text(batch, tuple(w.id for w in self.run_info.weights)):
            self._handle.write(text if isinstance(text, bytes) else text.data)
        self.n_written += len(batch)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._handle is not None and self._tmp is not None
        try:
            if kind is None:
                self._handle.write(b"</LesHouchesEvents>\n")
            self._handle.close()
            if self._raw is not None:
                self._raw.close()
        finally:
            if kind is None:
                publish(self._tmp, self.path)
            else:
                self._tmp.unlink(missing_ok=True)
            self._handle = None


def write_lhe(path: str | os.PathLike[str], run_info: RunInfo, batch: EventBatch) -> Path:
    """Write one batch to ``path``; returns the path."""
    with LHEWriter(path, run_info) as writer:
        writer.write(batch)
    return Path(path)
