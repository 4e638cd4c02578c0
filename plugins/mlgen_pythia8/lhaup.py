"""``MlgenLHAup``: Pythia 8's Les Houches user process fed from mlgen event batches.

Pythia calls ``setInit`` once and ``setEvent`` for every event; both fill the
Les Houches common blocks through the ``LHAup`` setters. Events come from any
iterator of :class:`mlgen.events.EventBatch` (e.g. :func:`mlgen.generate.generate_unweighted`),
consumed one batch at a time, so generation stays batched on the device while
Pythia pulls events one by one. Strategy 3 (unweighted) reports σ from
``<init>``; strategy -4 passes event weights in pb, and Pythia's ``sigmaGen``
then is their mean — either way Pythia's bookkeeping agrees with mlgen's σ.
"""

from __future__ import annotations

__all__ = ["MlgenLHAup"]

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from mlgen.events import EventBatch, RunInfo
from mlgen.shower import import_pythia

_pythia8mc: Any = import_pythia()


class MlgenLHAup(_pythia8mc.LHAup):
    """Hand Pythia events from mlgen in memory (``Beams:frameType = 5``).

    Arguments:
        run_info: beams, weighting strategy and the ``<init>`` process lines (σ in pb).
        batches: an iterable of event batches; the run ends when it is exhausted
            or after ``max_events``.
        max_events: stop after this many events (``None``: when ``batches`` ends).

    Keep a reference to the object for as long as Pythia runs.
    """

    def __init__(
        self, run_info: RunInfo, batches: Iterable[EventBatch], max_events: int | None = None
    ) -> None:
        _pythia8mc.LHAup.__init__(self)
        self.run_info = run_info
        self._batches: Iterator[EventBatch] = iter(batches)
        self._current: dict[str, np.ndarray] | None = None
        self._row = 0
        self.max_events = max_events
        self.n_given = 0

    def setInit(self) -> bool:  # noqa: N802 - Pythia's name
        info = self.run_info
        self.setBeamA(info.beam_ids[0], info.beam_energies[0], info.pdf_group[0], info.pdf_set[0])
        self.setBeamB(info.beam_ids[1], info.beam_energies[1], info.pdf_group[1], info.pdf_set[1])
        self.setStrategy(info.weight_strategy)
        for proc in info.processes:
            self.addProcess(proc.id, proc.xsec_pb, proc.error_pb, proc.xmax_pb)
        # the sums Pythia reports for strategy +-3 (sigmaGen, sigmaErr): addProcess leaves them at 0,
        # as Pythia's own LHEF reader fills them after its addProcess calls (sigmaErr was "+- 0")
        self.xSecSumSave = info.xsec_pb
        self.xErrSumSave = info.error_pb
        return True

    def _next_row(self) -> bool:
        while self._current is None or self._row >= len(self._current["weight"]):
            try:
                batch = next(self._batches)
            except StopIteration:
                return False
            if len(batch) == 0:
                continue
            cpu = batch.to("cpu")
            self._current = {
                "momenta": cpu.momenta.numpy(),
                "pdg": cpu.pdg.numpy(),
                "status": cpu.status.numpy(),
                "mothers": cpu.mothers.numpy(),
                "colors": cpu.colors.numpy(),
                "masses": cpu.masses.numpy(),
                "weight": cpu.weight.numpy(),
                "scale": cpu.scale.numpy(),
                "alpha_qed": cpu.alpha_qed.numpy(),
                "alpha_s": cpu.alpha_s.numpy(),
                "process_id": cpu.process_id.numpy(),
                "spin": cpu.spin.numpy() if cpu.spin is not None else np.full(cpu.pdg.shape, 9.0),
                "lifetime": cpu.lifetime.numpy() if cpu.lifetime is not None else np.zeros(cpu.pdg.shape),
            }
            self._row = 0
        return True

    def setEvent(self, idProcess: int = 0) -> bool:  # noqa: N802,N803 - Pythia's names
        if self.max_events is not None and self.n_given >= self.max_events:
            return False
        if not self._next_row():
            return False
        c, i = self._current, self._row
        assert c is not None
        self._row += 1
        self.n_given += 1
        self.setProcess(
            int(c["process_id"][i]),
            float(c["weight"][i]),
            float(c["scale"][i]),
            float(c["alpha_qed"][i]),
            float(c["alpha_s"][i]),
        )
        for j in np.nonzero(c["pdg"][i])[0]:
            e, px, py, pz = (float(x) for x in c["momenta"][i, j])
            self.addParticle(
                int(c["pdg"][i, j]),
                int(c["status"][i, j]),
                int(c["mothers"][i, j, 0]),
                int(c["mothers"][i, j, 1]),
                int(c["colors"][i, j, 0]),
                int(c["colors"][i, j, 1]),
                px,
                py,
                pz,
                e,
                float(c["masses"][i, j]),
                float(c["lifetime"][i, j]),
                float(c["spin"][i, j]),
            )
        return True
