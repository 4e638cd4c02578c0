"""Pythia 8 takes mlgen events in memory through MlgenLHAup (Beams:frameType = 5)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pythia8mc")

from mlgen.events import ProcessLine, RunInfo  # noqa: E402
from mlgen.matrix.ee_mumu import EEMuMu  # noqa: E402
from mlgen.phasespace import PhaseSpace, from_propagators  # noqa: E402
from mlgen.process.cuts import Cuts  # noqa: E402
from mlgen.process.process import Process, ScaleSetup  # noqa: E402
from mlgen.seeds import torch_generator  # noqa: E402
from mlgen.shower import import_pythia  # noqa: E402
from mlgen_pythia8 import MlgenLHAup  # noqa: E402


def ee_process(sqrt_s: float = 91.1876) -> Process:
    me = EEMuMu()
    ps = PhaseSpace(sqrt_s, me.masses[2:], from_propagators(2, ()), hadronic=False)
    return Process(
        matrix_element=me,
        beams=(11, -11),
        sqrt_s=sqrt_s,
        phase_space=ps,
        pdf=None,
        alpha_s=lambda q2: torch.full_like(q2, 0.118),
        alpha_qed=1 / 132.5,
        scales=ScaleSetup(value=sqrt_s, variations=False),
        cuts=Cuts(),
    )


def test_pythia_showers_in_memory_events_and_keeps_sigma() -> None:
    from mlgen.generate import generate_weighted
    from mlgen.process.record import EventBuilder

    process = ee_process()
    builder = EventBuilder(process.matrix_element)

    class Uniform:
        dim = process.dim

        def sample(self, n, generator):
            u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64)
            return u, torch.zeros(n, dtype=torch.float64)

    generator = torch_generator(4)
    batches = [generate_weighted(process, Uniform(), 100, generator, builder)[0] for _ in range(3)]
    weights = torch.cat([b.weight for b in batches])
    sigma = float(weights.mean())
    run_info = RunInfo(
        beam_ids=(11, -11),
        beam_energies=(45.5938, 45.5938),
        weight_strategy=-4,
        processes=(ProcessLine(sigma, float(weights.std()) / 300**0.5, float(weights.max())),),
    )
    lha = MlgenLHAup(run_info, batches)
    pythia8mc = import_pythia()
    pythia = pythia8mc.Pythia("", False)
    for s in ("Beams:frameType = 5", "PDF:lepton = off", "Print:quiet = on", "PartonLevel:ISR = off"):
        assert pythia.readString(s)
    pythia.setLHAupPtr(lha)
    assert pythia.init()
    n = 0
    muons = 0
    while pythia.next():
        n += 1
        muons += sum(
            1
            for i in range(pythia.event.size())
            if pythia.event[i].isFinal() and abs(pythia.event[i].id()) == 13
        )
    assert n == 300
    assert muons >= 2 * 300 - 5  # FSR photons aside, both muons survive
    # weighted events (strategy -4): Pythia's sigma is the mean weight, converted mb -> pb
    sigma_pythia = pythia.infoPython().sigmaGen() * 1e9
    assert sigma_pythia == pytest.approx(sigma, rel=1e-9)
