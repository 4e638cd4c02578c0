"""The table of ``nis.py`` runs, and the issue's goals checked against it.

Reads one or more JSON files written by ``benchmarks/nis.py --json`` and prints, in
Markdown:

* per case and method, over the seeds: the spread, ε(q) and ε(max) (mean, with the
  range), the largest |pull|, the training time, and how many results the coverage check
  could not confirm;
* per case, the goals of the neural-sampling issue, seed by seed: which mlgen sampler has
  lower spread *and* higher ε(q) than both VEGAS and madnis, mlgen's training time over
  madnis's, and mlgen's ε over VEGAS's (reduced and true maximum).

A result whose |pull| is 4 or more and that carries no warning is counted as silently
wrong, and is not a bar for the others to beat (madnis's lost peak halves its integrand
and can lower its spread). Nothing here runs a sampler; it reads what ``nis.py`` measured::

    python benchmarks/nis_summary.py runs/nis_full_physics.json runs/nis_full_toys.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

MLGEN = ("mlgen_flow", "mlgen_multichannel")
#: the issue's reference points on 2 cores: case -> (spread below, ε(q) above)
REFERENCE = {"camel8": (0.39, 0.31), "gauss16": (0.15, 0.64), "ridge8": (3.0, None)}


def load(paths: list[Path]) -> tuple[list[dict], list[str]]:
    rows, machines = [], []
    for path in paths:
        try:
            run = json.loads(path.read_text())
            rows += run["rows"]
            machines.append(
                f"{path.name}: {run['machine']}; {run['args']['train_calls']} training calls, "
                f"{run['args']['n_eval']} points"
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise SystemExit(
                f"{path}: expected the JSON that benchmarks/nis.py --json writes ({err!r})"
            ) from None
    return rows, machines


def spread_of(values: list[float], fmt: str) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return format(mean, fmt)
    return f"{mean:{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def method_table(rows: list[dict]) -> list[str]:
    groups = defaultdict(list)
    for row in rows:
        groups[row["case"], row["method"]].append(row)
    lines = [
        "| case | method | seeds | spread | ε(q) | ε(max) | max abs(pull) | train [s] | unconfirmed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (case, method), group in groups.items():
        unconfirmed = sum(1 for r in group if r.get("confirmed") is False)
        lines.append(
            f"| {case} | {method} | {len(group)} | {spread_of([r['spread'] for r in group], '.3g')} "
            f"| {spread_of([r['eff_q'] for r in group], '.3g')} "
            f"| {spread_of([r['eff_max'] for r in group], '.3g')} "
            f"| {max(abs(r['pull']) for r in group):.1f} | {spread_of([r['train_s'] for r in group], '.1f')} "
            f"| {unconfirmed if method in MLGEN else '–'} |"
        )
    return lines


def ratios(ours: dict[str, dict], peer: dict | None, key: str, fmt: str) -> str:
    """Each of mlgen's samplers' figure over the peer's, in the order of ``MLGEN``."""
    if peer is None or not ours:
        return "–"
    return ", ".join(f"{r[key] / peer[key]:{fmt}}" for r in ours.values())


def beats(row: dict, others: list[dict]) -> bool:
    return all(row["spread"] < o["spread"] and row["eff_q"] > o["eff_q"] for o in others)


def silently_wrong(row: dict) -> bool:
    """|pull| ≥ 4 with no flag: madnis reports no coverage, so any large pull of its is silent."""
    return abs(row["pull"]) >= 4 and row.get("confirmed", True) is not False


def goals_table(rows: list[dict]) -> list[str]:
    by_run = defaultdict(dict)
    for row in rows:
        by_run[row["case"], row["seed"]][row["method"]] = row
    lines = [
        "| case | seed | beats the right peers (spread and ε(q)) | train / madnis "
        "| ε(q) / VEGAS | ε(max) / VEGAS | silently wrong |",
        "|---|---|---|---|---|---|---|",
    ]
    for (case, seed), run in by_run.items():  # in the order of the runs
        # a peer that is silently wrong (madnis with a peak lost) is no bar to beat: its spread is
        # that of half the integrand; it is named in the last column instead
        peers = [run[m] for m in ("vegas", "madnis") if m in run and not silently_wrong(run[m])]
        ours = {m: run[m] for m in MLGEN if m in run}
        winners = [m.removeprefix("mlgen_") for m, r in ours.items() if beats(r, peers)] or ["none"]
        madnis, vegas = run.get("madnis"), run.get("vegas")
        wrong = [m for m, r in run.items() if silently_wrong(r)] or ["none"]
        lines.append(
            f"| {case} | {seed} | {', '.join(winners)} | {ratios(ours, madnis, 'train_s', '.2f')} "
            f"| {ratios(ours, vegas, 'eff_q', '.1f')} | {ratios(ours, vegas, 'eff_max', '.1f')} "
            f"| {', '.join(wrong)} |"
        )
    lines.append("")
    lines.append(
        "Ratios list mlgen's samplers in the order " + ", ".join(MLGEN) + " (where the case has them)."
    )
    for case, (spread, eff) in REFERENCE.items():
        got = [r for r in rows if r["case"] == case and r["method"] == "mlgen_flow"]
        if got:
            met = sum(r["spread"] < spread and (eff is None or r["eff_q"] > eff) for r in got)
            target = f"spread < {spread}" + (f" and ε(q) > {eff}" if eff is not None else "")
            lines.append(
                f"Reference point {case} ({target}): met by mlgen's flow in {met} of {len(got)} seeds."
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="JSON files written by nis.py --json")
    args = parser.parse_args(argv)
    rows, machines = load(args.runs)
    print(
        "\n".join(["Runs:", *(f"* {m}" for m in machines), "", *method_table(rows), "", *goals_table(rows)])
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
