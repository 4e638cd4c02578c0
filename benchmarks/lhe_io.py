"""LHE reading rate: mlgen's strict reader against pylhe's on the same real files.

    python benchmarks/lhe_io.py [--repeat 5] [--json OUT] [FILE ...]

Each file is read whole by both readers, alternately, ``--repeat`` times; the best time of each
is kept (the machine is shared: the minimum is the least disturbed run). pylhe's reading is its
``LHEFile.fromfile(path).events`` generator consumed to the end (every event as Python objects);
mlgen's is ``read_lhe`` (every event into tensors, every field checked). A file written by mlgen's
own writer (17 significant digits, 9 weights) is timed too: it is made from the largest real file.
Not a test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

from mlgen.lhe import read_lhe, write_lhe

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"


def pylhe_read(path: Path) -> int:
    import pylhe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sum(1 for _ in pylhe.LHEFile.fromfile(str(path)).events)


def mlgen_read(path: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pr29's NPRUP warning
        events = read_lhe(path)[1]
    return 0 if events is None else len(events)


def best_of(fn, path: Path, repeat: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn(path)
        times.append(time.perf_counter() - t0)
    return min(times), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = args.files or sorted(DATA.glob("*.lhe*"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.files:
            info, events = read_lhe(DATA / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz")
            assert events is not None
            files.append(write_lhe(Path(tmp) / "mlgen-written-Z-mlm.lhe.gz", info, events))
        for path in files:
            t_pylhe, n_pylhe = best_of(pylhe_read, path, args.repeat)
            t_mlgen, n_mlgen = best_of(mlgen_read, path, args.repeat)
            assert n_pylhe == n_mlgen, (path, n_pylhe, n_mlgen)
            rows.append(
                {
                    "file": path.name,
                    "events": n_mlgen,
                    "mlgen_s": t_mlgen,
                    "pylhe_s": t_pylhe,
                    "mlgen_ev_per_s": n_mlgen / t_mlgen,
                    "pylhe_ev_per_s": n_pylhe / t_pylhe,
                    "speedup": t_pylhe / t_mlgen,
                }
            )
            r = rows[-1]
            print(
                f"{r['file']:48s} {r['events']:6d} ev  mlgen {r['mlgen_ev_per_s']:9.3g} ev/s  "
                f"pylhe {r['pylhe_ev_per_s']:9.3g} ev/s  x{r['speedup']:.2f}",
                flush=True,
            )
    total_m = sum(r["mlgen_s"] for r in rows)
    total_p = sum(r["pylhe_s"] for r in rows)
    print(f"all files: mlgen {total_m:.3f} s, pylhe {total_p:.3f} s, x{total_p / total_m:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "speedup_total": total_p / total_m}, indent=1))


if __name__ == "__main__":
    main()
