"""Intermediate lines that some events of a final state carry and others do not.

MadGraph5 writes the Z of ``p p > l+ l- + jets`` as a line of the record when
the event came from a Z diagram's channel, and leaves it out when it came from
a photon's: the same final state in two record layouts (on the Z + jets MLM
sample, 12 layouts instead of 6, with 100 to 2200 events each). To a
generator the line is bookkeeping, not kinematics, so :func:`complete_records`
adds it (the sum of its daughters' momenta) where it is missing, one
generator learns the whole final state, and :meth:`CompletedRecords.restore`
gives each generated event the layout of the training event its flavours
come from (the input's frequencies, conditioned on the kinematics).

Only a layout pair that differs by colourless status-2 lines alone is
completed; anything else is left as it is.
"""

from __future__ import annotations

__all__ = ["CompletedRecords", "complete_records"]

from dataclasses import dataclass

import torch
from torch import Tensor

from mlgen.events import EventBatch
from mlgen.generative.representation import descends, layouts

_PER_LINE = ("momenta", "pdg", "status", "mothers", "colors", "masses", "lifetime", "spin")


@dataclass
class _Completion:
    events: Tensor  # (M,) indices of the events that lack the lines
    template: int  # an event of the full layout
    source: Tensor  # (n_full,) for each line of the full layout, its line in the short one (-1: added)
    daughters: dict[int, list[int]]  # added line -> its final-state daughters (full layout slots)


@dataclass
class CompletedRecords:
    """``batch`` with every completed event in its full layout; ``added[i]``: event ``i`` was completed."""

    batch: EventBatch
    original: EventBatch
    added: Tensor
    completions: list[_Completion]

    def restore(self, events: EventBatch, donors: Tensor) -> EventBatch:
        """Generated ``events`` (full layouts) back to the layout of their ``donors`` (indices into
        ``batch``): where the donor was completed, its original record with the generated momenta."""
        donors = donors.cpu()
        out = events.to("cpu")
        parts, order = [], []
        keep = ~self.added[donors]
        parts.append(out[torch.nonzero(keep).flatten()])
        order.append(torch.nonzero(keep).flatten())
        for c in self.completions:
            rows = torch.nonzero(torch.isin(donors, c.events)).flatten()
            if not len(rows):
                continue
            short = self.original[donors[rows]].to("cpu")
            full = out[rows]
            kept = torch.nonzero(c.source >= 0).flatten()
            for name in ("momenta", "masses"):
                value = getattr(short, name).clone()
                value[:, c.source[kept]] = getattr(full, name)[:, kept]
                setattr(short, name, value)
            for name in ("x1", "x2", "weight", "extra_weights"):  # the generated event's, not the donor's
                setattr(short, name, getattr(full, name))
            parts.append(short)
            order.append(rows)
        merged = EventBatch.concat(parts)
        return merged[torch.argsort(torch.cat(order))]


def _complete(batch: EventBatch, c: _Completion) -> EventBatch:
    """The events ``c.events`` of ``batch`` in the full layout of ``c.template``."""
    short = batch[c.events].to("cpu")
    template = batch[torch.tensor([c.template])].to("cpu")
    n_full = len(c.source)
    fields: dict[str, Tensor | None] = {}
    kept = torch.nonzero(c.source >= 0).flatten()
    for name in _PER_LINE:
        value = getattr(short, name)
        if value is None:
            fields[name] = None
            continue
        shape = (len(short), n_full, *value.shape[2:])
        full = getattr(template, name)[:, :n_full].expand(shape).clone()
        if name != "mothers":  # the mothers are the template's: the topology of the full layout
            full[:, kept] = value[:, c.source[kept]]
        fields[name] = full
    momenta, masses = fields["momenta"], fields["masses"]
    assert momenta is not None and masses is not None
    for line, daughters in c.daughters.items():
        p = momenta[:, daughters].sum(1)
        momenta[:, line] = p
        masses[:, line] = torch.sqrt((p[:, 0] ** 2 - (p[:, 1:] ** 2).sum(-1)).clamp(min=0))
    out = short
    for name, value in fields.items():
        setattr(out, name, value)
    return out


def complete_records(batch: EventBatch) -> CompletedRecords:
    """Add the intermediate lines that other events of the same final state carry (see the module)."""
    found = layouts(batch)
    by_final: dict[tuple, list[tuple]] = {}
    for key in found:
        by_final.setdefault(tuple(line for line in key if line[0] != 2), []).append(key)
    completions = []
    for keys in by_final.values():
        if len(keys) != 2:
            continue
        full, short = sorted(keys, key=len, reverse=True)
        if any(line[0] == 2 for line in short) or len(full) == len(short):
            continue
        template = found[full][0]
        colours = batch.colors[template].cpu()
        source, j = [], 0
        for line in full:
            source.append(-1 if line[0] == 2 else j)
            j += line[0] != 2
        added = [k for k, s in enumerate(source) if s < 0]
        if bool(colours[added].any()):
            continue  # a coloured line would change the colour flow: not bookkeeping
        mothers = batch.mothers[template].cpu()
        final = [k for k, line in enumerate(full) if line[0] == 1]
        daughters = {k: [f for f in final if descends(mothers, f, k)] for k in added}
        if any(not d for d in daughters.values()):
            continue
        completions.append(_Completion(torch.tensor(found[short]), template, torch.tensor(source), daughters))
    if not completions:
        return CompletedRecords(batch, batch, torch.zeros(len(batch), dtype=torch.bool), [])
    completed = torch.zeros(len(batch), dtype=torch.bool)
    parts, order = [], []
    for c in completions:
        completed[c.events] = True
        parts.append(_complete(batch, c))
        order.append(c.events)
    rest = torch.nonzero(~completed).flatten()
    parts.append(batch[rest].to("cpu"))
    order.append(rest)
    merged = EventBatch.concat(parts)
    return CompletedRecords(merged[torch.argsort(torch.cat(order))], batch, completed, completions)
