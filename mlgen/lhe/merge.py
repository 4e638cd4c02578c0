"""Several LHE samples of one collider as one: weighted events whose mean weight is the summed cross section.

Sample ``i`` with ``N_i`` events and weights ``w`` in pb per event (mean =
``sigma_i``) enters with weights ``w N / N_i``, ``N = sum N_i``: the merged
mean is ``sum sigma_i``. This adds processes (a signal and a background), pieces
of one process (the squared amplitudes and their signed interference), or
shards of one run (then divide by the number of shards: ``scale``).
"""

from __future__ import annotations

__all__ = ["merge_lhe"]

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mlgen.events import EventBatch, RunInfo
from mlgen.lhe.markup import comment
from mlgen.lhe.passthrough import read_events
from mlgen.lhe.weights import per_event_pb, process_lines
from mlgen.lhe.writer import LHEWriter
from mlgen.physics.slha import slha_block


def _common_slha(infos: list[RunInfo]) -> list[str]:
    """The inputs' ``<slha>`` block (their masses and widths), when every input has the same one."""
    blocks = {slha_block(info.header) for info in infos}
    block = blocks.pop() if len(blocks) == 1 else None
    return [] if block is None else [block]


def _header(infos: list[RunInfo], paths: Sequence[str | os.PathLike[str]]) -> str:
    """The inputs' header: kept whole when they all have the same one (shards of one run); else
    each input's named in a comment, with the ``<slha>`` block they share."""
    notes = [comment(f"merged from {Path(p).name}") for p in paths]
    if len({info.header for info in infos}) == 1:
        return "\n".join([infos[0].header, *notes]).strip("\n")
    return "\n".join(notes + _common_slha(infos))


def merge_lhe(
    paths: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    scale: float = 1.0,
    seed: int = 1,
) -> tuple[RunInfo, EventBatch]:
    """Merge the files at ``paths`` into ``output`` (weights times ``scale``); returns what was written.

    The beams must agree; named weights are kept when every file has the same ones. The events
    are shuffled (``seed``), so the first ``k`` of the output are a fair subsample.
    """
    if not paths:
        raise ValueError("merge: expected at least one LHE file")
    infos: list[RunInfo] = []
    batches: list[EventBatch] = []
    parts: list[tuple[np.ndarray, str]] = []
    for path in paths:
        info, batch = read_events(path)
        if batch is None or len(batch) == 0:
            raise ValueError(f"{path}: no events to merge")
        if infos and (info.beam_ids, info.beam_energies) != (infos[0].beam_ids, infos[0].beam_energies):
            raise ValueError(
                f"{path}: beams {info.beam_ids} at {info.beam_energies} GeV differ from "
                f"{paths[0]}'s {infos[0].beam_ids} at {infos[0].beam_energies} GeV"
            )
        infos.append(info)
        batches.append(batch)
        parts.append(per_event_pb(info, batch))
    n = sum(len(b) for b in batches)
    same_weights = all(i.weights == infos[0].weights for i in infos)
    for batch, (w, convention) in zip(batches, parts, strict=True):
        factor = scale * n / len(batch)
        if batch.extra_weights is not None:
            per_event = len(batch) if convention == "sum" else 1
            batch.extra_weights = batch.extra_weights * per_event * factor if same_weights else None
        batch.weight = torch.as_tensor(w * factor, dtype=torch.float64)
    merged = EventBatch.concat(batches)
    merged = merged[torch.as_tensor(np.random.default_rng(seed).permutation(n))]
    w_all = merged.weight.numpy()
    known = tuple(sorted({line.id for info in infos for line in info.processes}))
    run_info = dataclasses.replace(
        infos[0],
        weight_strategy=4 if (w_all >= 0).all() else -4,
        # each process's line from the merged weights: the same numbers the merged sample gives
        processes=process_lines(merged.process_id.numpy(), w_all, unweighted=False, known=known),
        weights=infos[0].weights if same_weights else (),
        generator=("mlgen merge", infos[0].generator[1]),
        header=_header(infos, paths),
    )
    with LHEWriter(output, run_info) as writer:
        writer.write(merged)
    return run_info, merged
