"""The parts of each ``<event>`` that mlgen carries without interpreting them.

The ``<event ...>`` tag's attributes (``npLO``/``npNLO`` of MG5_aMC's FxFx
samples, which Pythia's matching reads; Sherpa's ``trials``, ``mur2``, ``muf2``)
and the lines after the particles that are not the weights or scales mlgen
reads itself (``<mgrwt>``, ``<clustering>``, POWHEG's ``#rwgt`` and ``#pdf``
lines, Whizard's ``<weight>``) are kept as text, event by event, so that a tool
that keeps the input's events writes them back exactly
(:attr:`mlgen.events.EventBatch.attributes` and ``trailer``).

:func:`attach_event_text` fills them in for a batch that the reader returned
without them, from the same file, in the same event order.
"""

from __future__ import annotations

__all__ = ["account_for_dropped", "attach_event_text", "event_text", "read_events"]

import gzip
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from mlgen.events import EventBatch, RunInfo
from mlgen.lhe.reader import read_lhe

_EVENT = re.compile(r"<event\b([^>]*)>(.*?)</event>", re.S)
_RWGT = re.compile(r"[ \t]*<rwgt\b.*?</rwgt>[ \t]*\n?", re.S)
_WEIGHTS = re.compile(r"[ \t]*<weights\b.*?</weights>[ \t]*\n?", re.S)
_SCALES = re.compile(r"[ \t]*<scales\b([^>]*?)/?>(?:\s*</scales>)?[ \t]*\n?", re.S)
_KEY = re.compile(r"(\w+)\s*=")


def _read(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def _split(body: str) -> tuple[str, str]:
    """The particle block of one event and the text after it."""
    lines = body.split("\n")
    k = 0
    while k < len(lines) and (not lines[k].strip() or lines[k].lstrip().startswith("#")):
        k += 1
    if k == len(lines):
        return body, ""
    nup = int(lines[k].split()[0])
    return "\n".join(lines[: k + nup + 1]), "\n".join(lines[k + nup + 1 :])


def event_text(path: str | os.PathLike[str], *, named_weights: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(attributes, trailer)`` of every event of the file at ``path``, in file order.

    Arguments:
        path: an LHE file (plain or gzip) that :func:`mlgen.lhe.read_lhe` has read.
        named_weights: the reader carried the events' ``<rwgt>``/``<weights>`` values as named
            weights (the header declares them): they are left out of the trailer, else kept in it.

    Returns:
        Two ``(N,)`` object arrays of ``str``: each ``<event>`` tag's attribute text (stripped) and
        each event's uninterpreted lines (``""`` for none). ``<scales>`` tags stay in the trailer
        unless every event has one with ``mur`` and ``muf`` alone (then the reader's ``mu_r``,
        ``mu_f`` carry them).
    """
    text = _read(Path(path))
    attributes, trailers = [], []
    for match in _EVENT.finditer(text, text.find("</init>")):
        attributes.append(match.group(1).strip())
        trailer = _split(match.group(2))[1]
        if named_weights:
            trailer = _WEIGHTS.sub("", _RWGT.sub("", trailer))
        trailers.append(trailer)
    scales = [_SCALES.search(t) for t in trailers]
    plain = all(s is not None and set(_KEY.findall(s.group(1))) == {"mur", "muf"} for s in scales)
    if plain:
        trailers = [_SCALES.sub("", t, count=1) for t in trailers]
    trailers = [t.strip("\n") for t in trailers]
    return np.array(attributes, dtype=object), np.array(trailers, dtype=object)


def attach_event_text(path: str | os.PathLike[str], batch: EventBatch, *, named_weights: bool) -> EventBatch:
    """``batch`` (the first ``len(batch)`` events of ``path``, as read) with its attributes and trailer
    filled in from the file, where the reader left them out."""
    if batch.attributes is not None or batch.trailer is not None:
        return batch
    attributes, trailer = event_text(path, named_weights=named_weights)
    n = len(batch)
    if len(attributes) < n:
        raise ValueError(f"{path}: {len(attributes)} <event> blocks, but {n} events were read")
    batch.attributes = attributes[:n] if any(attributes[:n]) else None
    batch.trailer = trailer[:n] if any(trailer[:n]) else None
    return batch


def read_events(
    path: str | os.PathLike[str], *, max_events: int | None = None
) -> tuple[RunInfo, EventBatch | None]:
    """:func:`mlgen.lhe.read_lhe` with each event's attributes and uninterpreted lines attached."""
    info, batch = read_lhe(path, max_events=max_events)
    if batch is not None:
        batch = attach_event_text(path, batch, named_weights=bool(info.weights))
    return info, batch


_TAG = re.compile(r"<(\w+)|^(#\w*)", re.M)


def _what(trailer: np.ndarray) -> list[str]:
    names: dict[str, None] = {}
    for text in trailer:
        for tag, comment in _TAG.findall(text):
            names[f"<{tag}>" if tag else f"'{comment}' lines"] = None
    return list(names)


def account_for_dropped(
    info: RunInfo, before: EventBatch, after: EventBatch, why: str
) -> tuple[RunInfo, list[str]]:
    """What ``before`` carried and ``after`` does not (named weights, event attributes, per-event
    blocks): ``info`` with a header note naming it, and one warning per kind of thing dropped.

    ``info`` is the output's run info; its named weights are cleared when ``after`` has none.
    ``why``: what the method did that could not carry them (``"generated events"``).
    """
    lost: list[str] = []
    if after.extra_weights is None and info.weights:
        if before.extra_weights is not None:
            ids = [w.id for w in info.weights]
            shown = ", ".join(ids[:5]) + (f", ... ({len(ids)} in all)" if len(ids) > 5 else "")
            lost.append(f"the reweighting weights {shown}")
        info = replace(info, weights=())
    if before.attributes is not None and after.attributes is None:
        keys = sorted({k for a in before.attributes for k in _ATTRIBUTE_KEY.findall(a)})
        lost.append("the event attributes " + ", ".join(keys))
    if before.trailer is not None and after.trailer is None:
        lost.append("the per-event blocks " + ", ".join(_what(before.trailer)))
    warnings = [f"{why}: dropped {item} (not learnt by the method)" for item in lost]
    if warnings:
        note = "\n".join(f"<!-- mlgen: {w} -->" for w in warnings)
        info = replace(info, header=(info.header.rstrip("\n") + "\n" + note).lstrip("\n"))
    return info, warnings


_ATTRIBUTE_KEY = re.compile(r"(\w+)\s*=")
