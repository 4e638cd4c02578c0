"""The parts of each ``<event>`` that mlgen carries without interpreting them.

The ``<event ...>`` tag's attributes (``npLO``/``npNLO`` of MG5_aMC's FxFx
samples, which Pythia's matching reads; Sherpa's ``trials``, ``mur2``, ``muf2``)
and the lines after the particles that are not the weights or scales mlgen
reads itself (``<mgrwt>``, ``<clustering>``, POWHEG's ``#rwgt`` and ``#pdf``
lines, Whizard's ``<weight>``) are kept as text, event by event, so that a tool
that keeps the input's events writes them back exactly
(:attr:`mlgen.events.EventBatch.attributes` and ``trailer``). The reader fills
them as it parses (:mod:`mlgen.lhe.events`); what a tool did not carry is
accounted for here (:func:`account_for_dropped`).
"""

from __future__ import annotations

__all__ = ["account_for_dropped", "read_events"]

import os
import re
from dataclasses import replace

import numpy as np

from mlgen.events import EventBatch, RunInfo
from mlgen.lhe.reader import read_lhe


def read_events(
    path: str | os.PathLike[str], *, max_events: int | None = None
) -> tuple[RunInfo, EventBatch | None]:
    """:func:`mlgen.lhe.read_lhe`: its events carry their attributes and uninterpreted lines."""
    return read_lhe(path, max_events=max_events)


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
