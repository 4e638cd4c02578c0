"""LHE writing rate: mlgen's vectorised writer against pylhe's on the same events.

    python benchmarks/lhe_write.py [--events 100000] [--json OUT]

Drell-Yan events (4 particles + Z line, 9 scale weights), .lhe and .lhe.gz. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import torch

from mlgen.cards import load_card
from mlgen.events import ProcessLine, RunInfo, WeightInfo
from mlgen.generate import generate_weighted
from mlgen.integrate.uniform import UniformSampler
from mlgen.lhe import write_lhe
from mlgen.process.build import build_process
from mlgen.process.process import SCALE_FACTORS
from mlgen.process.record import EventBuilder
from mlgen.seeds import torch_generator

ROOT = Path(__file__).resolve().parents[1]


def pylhe_write(path: Path, info: RunInfo, batch) -> None:
    import pylhe

    init = pylhe.LHEInit(
        initInfo=pylhe.LHEInitInfo(
            *info.beam_ids,
            *info.beam_energies,
            *info.pdf_group,
            *info.pdf_set,
            info.weight_strategy,
            len(info.processes),
        ),
        procInfo=[
            pylhe.LHEProcInfo(xSection=p.xsec_pb, error=p.error_pb, unitWeight=p.xmax_pb, procId=p.id)
            for p in info.processes
        ],
        generators=[pylhe.LHEGenerator(name="mlgen", version="bench", description="")],
    )
    header = pylhe.LHEHeader(
        initrwgt=pylhe.LHEInitRWGT(
            entries=[
                pylhe.LHEInitRWGTWeightGroup(
                    name="scale_variation",
                    combine="envelope",
                    weights=[pylhe.LHEInitRWGTWeight(id=w.id, name=w.description) for w in info.weights],
                )
            ]
        )
    )
    p = batch.momenta.numpy()
    cols = batch.colors.numpy()
    moth = batch.mothers.numpy()

    def events():
        for i in range(len(batch)):
            parts = [
                pylhe.LHEParticle(
                    int(batch.pdg[i, j]),
                    int(batch.status[i, j]),
                    int(moth[i, j, 0]),
                    int(moth[i, j, 1]),
                    int(cols[i, j, 0]),
                    int(cols[i, j, 1]),
                    p[i, j, 1],
                    p[i, j, 2],
                    p[i, j, 3],
                    p[i, j, 0],
                    float(batch.masses[i, j]),
                    0.0,
                    9.0,
                )
                for j in range(p.shape[1])
            ]
            yield pylhe.LHEEvent(
                eventinfo=pylhe.LHEEventInfo(
                    nparticles=len(parts),
                    pid=1,
                    weight=float(batch.weight[i]),
                    scale=float(batch.scale[i]),
                    aqed=float(batch.alpha_qed[i]),
                    aqcd=float(batch.alpha_s[i]),
                ),
                particles=parts,
                weights={w.id: float(batch.extra_weights[i, k]) for k, w in enumerate(info.weights)},
            )

    pylhe.LHEFile(init=init, events=events(), header=header).tofile(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    process = build_process(load_card(ROOT / "cards" / "drell_yan.toml"))
    g = torch_generator(1)
    batch, w = generate_weighted(
        process, UniformSampler(process.dim), args.events, g, EventBuilder(process.matrix_element)
    )
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        weight_strategy=-4,
        processes=(ProcessLine(float(w.mean()), 1.0, float(w.max())),),
        weights=tuple(
            WeightInfo(f"{1001 + i}", f"MUR={r} MUF={f}", "scale_variation")
            for i, (r, f) in enumerate(SCALE_FACTORS)
        ),
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".lhe", ".lhe.gz"):
            t0 = time.perf_counter()
            write_lhe(Path(tmp) / f"mlgen{suffix}", info, batch)
            t_mlgen = time.perf_counter() - t0
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pylhe_write(Path(tmp) / f"pylhe{suffix}", info, batch)
            t_pylhe = time.perf_counter() - t0
            rows.append(
                {
                    "format": suffix,
                    "events": args.events,
                    "mlgen_events_per_s": args.events / t_mlgen,
                    "pylhe_events_per_s": args.events / t_pylhe,
                    "ratio": t_pylhe / t_mlgen,
                }
            )
            print(
                f"{suffix:8s} mlgen {args.events / t_mlgen:10.4g} ev/s   "
                f"pylhe {args.events / t_pylhe:10.4g} ev/s"
                f"   ratio x{t_pylhe / t_mlgen:.1f}"
            )
    meta = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    print(meta)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
