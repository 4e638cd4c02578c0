"""LHE writing rate: mlgen's vectorised writer against pylhe's, side by side on the same events.

    python benchmarks/lhe_write.py [--events 100000] [--repeat 3] [--json OUT] [FILE ...]

Every real file of ``../shared/data/lhe/`` (or the FILEs), and Drell-Yan events made here (5
particle lines, 9 scale weights): each read once by mlgen (an EventBatch) and once by pylhe (its
``LHEEvent`` objects, built before any timing), then written whole by each, alternately in one
process, ``--repeat`` times, as ``.lhe`` and as ``.lhe.gz`` (each tool's default gzip level: mlgen
6, pylhe 9). The best time of each is kept: the machine is shared, the minimum is the least
disturbed run; CPU time (``process_time``) is kept too, less disturbed by other work on a
shared machine. Only the writing is timed: pylhe's ``LHEFile.tofile`` of its events, mlgen's
``write_lhe`` of its batch. mlgen writes 17 significant digits, pylhe 9 (momenta) and 11
(weights). Not a test.
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
from mlgen.lhe import read_lhe, write_lhe
from mlgen.process.build import build_process
from mlgen.process.process import SCALE_FACTORS
from mlgen.process.record import EventBuilder
from mlgen.seeds import torch_generator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "lhe"


def pylhe_file(info: RunInfo, batch):
    """The pylhe ``LHEFile`` of ``batch``, its events built as a list."""
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

    return pylhe.LHEFile(init=init, events=list(events()), header=header)


def drell_yan(n_events: int):
    """``n_events`` weighted Drell-Yan events with the 9 scale weights, and their run info."""
    process = build_process(load_card(ROOT / "cards" / "drell_yan.toml"))
    sampler, builder = UniformSampler(process.dim), EventBuilder(process.matrix_element)
    batch, w = generate_weighted(process, sampler, n_events, torch_generator(1), builder)
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
    return info, batch


def side_by_side(name: str, info: RunInfo, batch, pylhe_lhe, repeat: int, tmp: Path) -> list[dict]:
    rows = []
    for suffix in (".lhe", ".lhe.gz"):
        t_mlgen, t_pylhe, cpu_mlgen, cpu_pylhe = [], [], [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            write_lhe(tmp / f"mlgen{suffix}", info, batch)
            t_mlgen.append(time.perf_counter() - t0)
            cpu_mlgen.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            pylhe_lhe.tofile(str(tmp / f"pylhe{suffix}"))
            t_pylhe.append(time.perf_counter() - t0)
            cpu_pylhe.append(time.process_time() - c0)
        n = len(batch)
        row = {
            "file": name,
            "format": suffix,
            "events": n,
            "mlgen_ev_per_s": n / min(t_mlgen),
            "pylhe_ev_per_s": n / min(t_pylhe),
            "mlgen_bytes": (tmp / f"mlgen{suffix}").stat().st_size,
            "pylhe_bytes": (tmp / f"pylhe{suffix}").stat().st_size,
            "mlgen_s": min(t_mlgen),
            "pylhe_s": min(t_pylhe),
            "ratio": min(t_pylhe) / min(t_mlgen),
            # CPU seconds of this process: less disturbed by the machine's other work than wall time
            "mlgen_cpu_s": min(cpu_mlgen),
            "pylhe_cpu_s": min(cpu_pylhe),
            "cpu_ratio": min(cpu_pylhe) / min(cpu_mlgen),
        }
        rows.append(row)
        print(
            f"{name:46s} {suffix:7s} {n:6d} ev  mlgen {row['mlgen_ev_per_s']:9.3g} ev/s  "
            f"pylhe {row['pylhe_ev_per_s']:9.3g} ev/s  x{row['ratio']:.1f} (CPU time x{row['cpu_ratio']:.1f})",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--events", type=int, default=100_000, help="Drell-Yan events (0: none)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import pylhe

    warnings.simplefilter("ignore")  # pr29's NPRUP warning, pylhe's npLO notes
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for path in args.files or sorted(DATA.glob("*.lhe*")):
            info, batch = read_lhe(path)
            if batch is None or len(batch) == 0:
                continue
            theirs = pylhe.LHEFile.fromfile(str(path), generator=False)
            theirs = pylhe.LHEFile(init=theirs.init, header=theirs.header, events=list(theirs.events))
            rows += side_by_side(path.name, info, batch, theirs, args.repeat, tmp)
        if args.events:
            info, batch = drell_yan(args.events)
            name = "drell-yan (generated, 9 weights)"
            rows += side_by_side(name, info, batch, pylhe_file(info, batch), args.repeat, tmp)
    for suffix in (".lhe", ".lhe.gz"):
        mine = sum(r["mlgen_s"] for r in rows if r["format"] == suffix)
        theirs_s = sum(r["pylhe_s"] for r in rows if r["format"] == suffix)
        print(f"all files {suffix:7s}: mlgen {mine:.3f} s, pylhe {theirs_s:.3f} s, x{theirs_s / mine:.1f}")
    meta = {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "load": os.getloadavg()}
    print(meta)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
