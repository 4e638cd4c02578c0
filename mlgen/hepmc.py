"""HepMC3 output of showered events (pyhepmc), for analysis after Pythia 8.

:class:`HepMCWriter` is an ``on_event`` callback of :func:`mlgen.shower.shower_lhe`
and of the in-memory Pythia route: after every good ``Pythia.next()`` it turns
``pythia.event`` into a HepMC3 ``GenEvent`` (momenta, generated masses, PDG
ids, HepMC status codes from ``Particle.statusHepMC()``, and the history from
Pythia's mother indices, each particle produced at its first mother's end
vertex, as Pythia's own C++ HepMC3 interface does) and writes it in HepMC3
ASCII. The file is written under a temporary name and renamed when the writer
closes, so an interrupted run leaves no truncated file under the final name.

Weights and cross section, for Rivet: given the LHE file's run information,
every event carries the LHE nominal weight (``XWGTUP``, named ``Weight``) and
each named weight of the file (``<rwgt>`` / ``<weights>``, named by its
``<weight id>``; names in the run info's ``weight_names``), all multiplied by
the factor Pythia's merging put on the event (1 unless CKKW-L reweights it).
The cross section is the LHE ``<init>`` sum with its error, or, where matching
or merging vetoes events (so that the file's sigma is not the showered one),
Pythia's running estimate ``sigmaGen +- sigmaErr`` (the last event's is final).
"""

from __future__ import annotations

__all__ = ["HepMCWriter"]

from pathlib import Path
from typing import Any

from mlgen.atomic import publish, temporary_beside
from mlgen.events import RunInfo
from mlgen.shower.merging import MergingPlan
from mlgen.shower.pythia import MB_TO_PB, scheme_in_use

NOMINAL = "Weight"


class HepMCWriter:
    """Write Pythia events to ``path`` (HepMC3 ASCII; use as a context manager).

    Arguments:
        path: the output file.
        sigma_pb: ``(sigma, error)`` in pb written into every event's ``GenCrossSection``,
            in place of the LHE file's or Pythia's (optional).
        run_info: the LHE file's run information: its named weights are carried and its
            ``<init>`` cross section written. Without it, each event carries Pythia's weight
            and Pythia's cross section.
    """

    def __init__(
        self,
        path: str | Path,
        sigma_pb: tuple[float, float] | None = None,
        *,
        run_info: RunInfo | None = None,
    ) -> None:
        import pyhepmc
        import pyhepmc.io

        self.path = Path(path)
        self._tmp = temporary_beside(self.path)
        self._writer = pyhepmc.io.WriterAscii(str(self._tmp))
        self._pyhepmc = pyhepmc
        self.sigma_pb = sigma_pb
        self.lhe = run_info
        self.weight_ids = [w.id for w in run_info.weights] if run_info is not None else []
        self._run = pyhepmc.GenRunInfo()
        self._run.weight_names = [NOMINAL, *self.weight_ids]
        self._run.tools = [_tool()]
        self.n_written = 0

    def __call__(self, pythia: Any) -> None:
        hep = self._pyhepmc
        event = pythia.event
        gen = hep.GenEvent(hep.Units.GEV, hep.Units.MM)
        gen.event_number = self.n_written
        n = event.size()
        mothers: list[list[int]] = [[]] + [
            _mothers(event[i].mother1(), event[i].mother2()) for i in range(1, n)
        ]
        particles: list[Any] = [None] * n  # Pythia's entry 0 is the whole event: not a particle
        # HepMC3 files list mothers before daughters; Pythia's record need not (the hard
        # incoming partons come before the initial-state-shower partons they stem from)
        for i in _mothers_first(mothers):
            p = event[i]
            particle = hep.GenParticle(hep.FourVector(p.px(), p.py(), p.pz(), p.e()), p.id(), p.statusHepMC())
            particle.generated_mass = p.m()
            gen.add_particle(particle)
            particles[i] = particle
        end_vertex: dict[int, Any] = {}
        for i in _mothers_first(mothers):
            if not mothers[i]:
                continue
            # as Pythia's own HepMC3 interface: the production vertex is mother1's end vertex
            vertex = end_vertex.get(mothers[i][0])
            if vertex is None:
                vertex = hep.GenVertex()
                gen.add_vertex(vertex)
            for k in mothers[i]:
                if k not in end_vertex:
                    end_vertex[k] = vertex
                    vertex.add_particle_in(particles[k])
            vertex.add_particle_out(particles[i])
        gen.run_info = self._run
        info = pythia.infoPython()
        gen.weights = self._weights(info)
        xs = hep.GenCrossSection()
        xs.set_cross_section(*self._cross_section(pythia, info))
        gen.cross_section = xs
        self._writer.write(gen)
        self.n_written += 1

    def _weights(self, info: Any) -> list[float]:
        """``[nominal, *named]`` in pb: the LHE event's weights times Pythia's merging factor."""
        if self.lhe is None:
            return [float(info.weight())]
        lhe_weight = float(info.eventWeightLHEF)
        # Pythia's weight is XWGTUP for |IDWTUP| = 4 and the sign of it otherwise; a CKKW-L
        # merging weight multiplies it
        base = lhe_weight if abs(int(info.lhaStrategy())) == 4 else (1.0 if lhe_weight >= 0 else -1.0)
        factor = float(info.weight()) / base if base != 0 else 1.0
        named = [float("nan")] * len(self.weight_ids)
        # (Pythia's accessors crash on an event without the block: ask only where there is one)
        if self.weight_ids and info.getWeightsDetailedSize() > 0:
            named = [float(info.getWeightsDetailedValue(wid)) for wid in self.weight_ids]
        elif self.weight_ids and info.getWeightsCompressedSize() > 0:
            listed = min(int(info.getWeightsCompressedSize()), len(self.weight_ids))
            named[:listed] = [float(info.getWeightsCompressedValue(k)) for k in range(listed)]
        return [lhe_weight * factor, *(w * factor for w in named)]

    def _cross_section(self, pythia: Any, info: Any) -> tuple[float, float]:
        if self.sigma_pb is not None:
            return self.sigma_pb
        vetoes = scheme_in_use(pythia, MergingPlan()) != "none"
        if self.lhe is not None and not vetoes:
            return self.lhe.xsec_pb, self.lhe.error_pb
        return float(info.sigmaGen()) * MB_TO_PB, float(info.sigmaErr()) * MB_TO_PB

    def close(self) -> None:
        self._writer.close()
        publish(self._tmp, self.path)

    def abort(self) -> None:
        self._writer.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> HepMCWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _tool() -> Any:
    from importlib.metadata import version

    import pyhepmc

    return pyhepmc.GenRunInfo.ToolInfo("mlgen", version("mlgen"), "LHE reading and HepMC3 writing")


def _mothers(m1: int, m2: int) -> list[int]:
    """Pythia's mother indices: none, one, a range ``m1 < m2``, or two (``m2 < m1``)."""
    if m1 <= 0:
        return []
    if m2 <= 0 or m2 == m1:
        return [m1]
    if m2 > m1:
        return list(range(m1, m2 + 1))
    return [m1, m2]


def _mothers_first(mothers: list[list[int]]) -> list[int]:
    """Indices ``1..n-1`` ordered so that every particle comes after its mothers (iterative DFS)."""
    order: list[int] = []
    state = [0] * len(mothers)  # 0 new, 1 on the stack, 2 placed
    for start in range(1, len(mothers)):
        stack = [start]
        while stack:
            i = stack[-1]
            if state[i] == 2:
                stack.pop()
                continue
            state[i] = 1
            pending = [m for m in mothers[i] if state[m] == 0]
            if pending:
                stack.extend(pending)
                continue
            state[i] = 2  # mothers placed (or on the stack: a cycle, broken here)
            order.append(i)
            stack.pop()
    return order
