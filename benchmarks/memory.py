"""Peak memory of ``mlgen run`` against the number of events (issue 27: memory must not grow with it).

    python benchmarks/memory.py [--events 10000 30000 100000] [--card cards/ee_mumu.toml] [--json OUT]

Each run is a fresh process (``python -m mlgen run CARD -n N``, short integration, no plots), and
its peak resident memory is read from the operating system (``getrusage`` of the finished child,
``ru_maxrss``). The slope between the sizes is the memory each event costs until the end of the
run. Not a test.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHORT = [
    "integrator.n_adapt_iter=3",
    "integrator.n_per_iter=20000",
    "integrator.n_iter=2",
    "run.plots=false",
    "run.subprocesses=false",
]


def peak_rss_mib(argv: list[str]) -> tuple[float, float]:
    """Peak resident memory (MiB) and wall time (s) of one child process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # RUSAGE_CHILDREN holds the largest child so far: runs go from small to large, so it is this one's
    if after <= before:
        raise RuntimeError("runs must grow in size for ru_maxrss to tell them apart")
    return after / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--card", type=Path, default=ROOT / "cards" / "ee_mumu.toml")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(sorted(args.events)):
            argv = [sys.executable, "-m", "mlgen", "run", str(args.card), "-n", str(n)]
            argv += ["-o", str(Path(tmp) / f"run{i}"), "--no-progress"]
            for item in SHORT:
                argv += ["--set", item]
            rss, wall = peak_rss_mib(argv)
            rows.append({"events": n, "peak_rss_mib": rss, "wall_s": wall})
            print(f"{n:9d} events  peak RSS {rss:8.1f} MiB  ({wall:.1f} s)", flush=True)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        slope = (last["peak_rss_mib"] - first["peak_rss_mib"]) / (last["events"] - first["events"])
        print(f"growth: {slope * 1024 * 1024:.0f} bytes per event")
    if args.json:
        args.json.write_text(json.dumps({"card": str(args.card), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
