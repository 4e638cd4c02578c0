"""Weighted events per second (phase space, PDFs, matrix element, cuts, scale variations).

    python benchmarks/throughput.py [--cards drell_yan ttbar] [--batch 1000000] [--repeat 5] [--json OUT]

Measures ``Process.evaluate`` on uniform points, batched, on the CPU (threads as
torch sets them) and on CUDA when present. Not a test: numbers for the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from mlgen.cards import load_card
from mlgen.process.build import build_process

ROOT = Path(__file__).resolve().parents[1]


def rate(card_name: str, device: str, batch: int, repeat: int, variations: bool) -> float:
    card = load_card(ROOT / "cards" / f"{card_name}.toml", [f"run.device={device}"])
    process = build_process(card, device)
    g = torch.Generator(device=device).manual_seed(1)
    u = torch.rand(batch, process.dim, generator=g, dtype=torch.float64, device=device)
    process.evaluate(u, variations=variations)  # warm-up (grid upload, caches)
    if device == "cuda":
        torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        process.evaluate(u, variations=variations)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return batch / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", nargs="+", default=["drell_yan", "ttbar"])
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for name in args.cards:
        for device in devices:
            for variations in (False, True):
                r = rate(name, device, args.batch, args.repeat, variations)
                rows.append(
                    {"card": name, "device": device, "scale_variations": variations, "events_per_s": r}
                )
                print(f"{name:12s} {device:5s} variations={variations!s:5s} {r:12.4g} weighted events/s")
    meta = {
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "batch": args.batch,
    }
    print(meta)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
