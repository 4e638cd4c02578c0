"""A streaming, vectorised LHEF 3 writer.

Each batch is formatted with one C-level ``%`` operation per group of events
with the same multiplicity: a template for one event is repeated and filled
from a flat tuple of all numbers, so no Python code runs per event or per
particle. Floats are written with 17 significant digits (``%.16e``), so a
file read back and written again is byte-identical, and weights in ``<rwgt>``
keep full precision (pylhe writes 5 digits). The file is written to a
temporary name in the same directory and renamed on success; on error nothing
appears under the final name.
"""

from __future__ import annotations

__all__ = ["LHEWriter", "write_lhe"]

import gzip
import io
import os
import re
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from mlgen.atomic import publish, temporary_beside
from mlgen.events import EventBatch, RunInfo

FLOAT = "%.16e"
PARTICLE = " %d %d %d %d %d %d " + " ".join([FLOAT] * 5) + " %.6e %.1f\n"
EVENT_HEAD = "<event%s>\n %d %d " + " ".join([FLOAT] * 4) + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
            out.append(f'<weightgroup name="{_escape(name)}" combine="envelope">\n')
            for w in weights:
                out.append(f'<weight id="{_escape(w.id)}">{_escape(w.description)}</weight>\n')
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
        f'<generator name="{_escape(name)}" version="{_escape(version)}">mlgen LHEF 3 writer</generator>\n'
    )
    out.append("</init>\n")
    return "".join(out)


def format_events(batch: EventBatch, weight_ids: tuple[str, ...] = ()) -> str:
    """The ``<event>`` blocks of a batch (on any device) as text."""
    b = batch.to("cpu")
    n_events = len(b)
    if n_events == 0:
        return ""
    pdg = b.pdg.numpy()
    real = pdg != 0
    counts = real.sum(1)
    spin = b.spin.numpy() if b.spin is not None else np.full(pdg.shape, 9.0)
    life = b.lifetime.numpy() if b.lifetime is not None else np.zeros(pdg.shape)
    p = b.momenta.numpy()
    # one row of 13 numbers per particle slot, in LHE's order: px py pz E m
    particle = np.stack(
        [
            pdg,
            b.status.numpy(),
            b.mothers.numpy()[..., 0],
            b.mothers.numpy()[..., 1],
            b.colors.numpy()[..., 0],
            b.colors.numpy()[..., 1],
            p[..., 1],
            p[..., 2],
            p[..., 3],
            p[..., 0],
            b.masses.numpy(),
            life,
            spin,
        ],
        axis=-1,
    ).astype(np.float64)
    head = np.stack(
        [
            counts,
            b.process_id.numpy(),
            b.weight.numpy(),
            b.scale.numpy(),
            b.alpha_qed.numpy(),
            b.alpha_s.numpy(),
        ],
        axis=-1,
    ).astype(np.float64)
    tail_parts = []
    tail_values: list[np.ndarray] = []
    if weight_ids:
        if b.extra_weights is None or b.extra_weights.shape[1] != len(weight_ids):
            raise ValueError(
                f"the run declares {len(weight_ids)} weights but the batch carries "
                f"{0 if b.extra_weights is None else b.extra_weights.shape[1]}"
            )
        tail_parts.append(
            "<rwgt>\n" + "".join(f"<wgt id='{i}'> {FLOAT} </wgt>\n" for i in weight_ids) + "</rwgt>\n"
        )
        tail_values.append(b.extra_weights.numpy())
    trailer = b.trailer
    # a <scales> tag with more than mur and muf (MG5's pt_clust_i) travels verbatim in the trailer
    verbatim_scales = trailer is not None and any("<scales" in t for t in trailer)
    if b.mu_r is not None and b.mu_f is not None and not verbatim_scales:
        tail_parts.append(f"<scales muf='{FLOAT}' mur='{FLOAT}'/>\n")
        tail_values.append(np.stack([b.mu_f.numpy(), b.mu_r.numpy()], -1))
    tail = "".join(tail_parts) + "%s</event>\n"
    attributes = np.full(n_events, "", dtype=object)
    if b.attributes is not None:
        attributes = np.array([f" {a}" if a else "" for a in b.attributes], dtype=object)
    trailing = np.full(n_events, "", dtype=object)
    if trailer is not None:
        trailing = np.array([f"{t}\n" if t else "" for t in trailer], dtype=object)
    out: list[tuple[int, str]] = []
    groups = np.unique(counts)
    for n in groups:
        rows = np.nonzero(counts == n)[0]
        slots = real[rows]
        parts = particle[rows][slots].reshape(len(rows), n * 13)
        values = np.concatenate([head[rows], parts, *(v[rows] for v in tail_values)], axis=1)
        template = EVENT_HEAD + PARTICLE * int(n) + tail
        # text columns only where some event has text: the numbers alone format much faster
        if attributes.any():
            values = np.concatenate([attributes[rows, None], values.astype(object)], axis=1)
        else:
            template = template.replace("<event%s>", "<event>", 1)
        if trailing.any():
            values = np.concatenate([values.astype(object), trailing[rows, None]], axis=1)
        else:
            template = template.replace("%s</event>", "</event>")
        text = _fill(template, values)
        if len(groups) == 1:
            return text
        # keep the batch's event order across multiplicity groups
        blocks = [block + "</event>\n" for block in text.split("</event>\n")[:-1]]
        out.extend(zip(rows.tolist(), blocks))
    out.sort()
    return "".join(block for _, block in out)


_SPEC = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?[a-zA-Z]")


def _fill(template: str, values: np.ndarray) -> str:
    """``template`` (one event) repeated for every row of ``values`` and filled in.

    Columns that are the same in every row (incoming transverse momenta, masses,
    lifetimes, spins, status codes, ...) are formatted once into the template, so
    CPython formats only the numbers that vary; the text is identical either way.
    """
    specs = list(_SPEC.finditer(template))
    assert len(specs) == values.shape[1], (len(specs), values.shape)
    constant = np.all(values == values[:1], axis=0)
    pieces, last = [], 0
    for column, match in enumerate(specs):
        pieces.append(template[last : match.start()].replace("%", "%%"))
        if constant[column]:
            pieces.append((match.group() % values[0, column]).replace("%", "%%"))
        else:
            pieces.append(match.group())
        last = match.end()
    pieces.append(template[last:].replace("%", "%%"))
    compact = "".join(pieces)
    varying = values[:, ~constant]
    return (compact * len(values)) % tuple(varying.ravel().tolist())


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
        self._handle: IO[str] | None = None
        # the file under a gzip stream, closed after it (GzipFile does not close a fileobj it was given)
        self._raw: io.BufferedWriter | None = None

    def __enter__(self) -> LHEWriter:
        self._tmp = temporary_beside(self.path)
        raw = open(self._tmp, "wb")  # closed in __exit__
        if self.path.suffix == ".gz":
            binary: gzip.GzipFile | io.BufferedWriter = gzip.GzipFile(
                filename="", fileobj=raw, mode="wb", compresslevel=self.compresslevel, mtime=0
            )
            self._raw = raw
        else:
            binary = raw
            self._raw = None
        self._handle = io.TextIOWrapper(binary, encoding="ascii", newline="\n")
        self._handle.write(_header(self.run_info))
        return self

    def write(self, batch: EventBatch) -> None:
        """Append a batch of events."""
        if self._handle is None:
            raise RuntimeError("LHEWriter.write outside its with-block")
        self._handle.write(format_events(batch, tuple(w.id for w in self.run_info.weights)))
        self.n_written += len(batch)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._handle is not None and self._tmp is not None
        try:
            if kind is None:
                self._handle.write("</LesHouchesEvents>\n")
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
