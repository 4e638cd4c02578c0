"""MadEvent against mlgen, side by side, on the same MadGraph5 process directory and run card.

For each process archive (``../shared/data/madgraph/<proc>.mad.tar.gz``) and method:

* ``madevent``: a fresh copy is unpacked into ``<work>/<proc>/madevent``, its
  ``Cards/run_card.dat`` set (``nevents``, ``iseed``, ``cudacpp_backend``, ``use_syst``,
  ``dynamical_scale_choice`` where given), ``nb_core = 1`` and ``run_mode = 0`` appended to
  ``Cards/me5_configuration.txt``, and ``python3 bin/generate_events -f`` run under ``timeout``.
  Read back: σ ± error (its printed ``Cross-section``, else ``HTML/run_01/results.html``), the
  matrix-element calls (the CUDACPP ``[COUNTERS]`` line that every ``madevent`` job prints, in
  ``SubProcesses/P*/G*/*.log`` and ``log.txt``: survey and refine, i.e. the grid adaptation
  included; ``CudaCpp HEL`` are its helicity-filtering calls, counted apart), the unweighted events
  in ``Events/run_01/unweighted_events.lhe.gz``, and the wall time, split at the first job-status
  line (``Idle: …``) into compilation and integration + generation.
* ``vegas``, ``flow``, ``multichannel``: a second fresh copy with the same run card, then
  ``mlgen run <copy> --set integrator.kind=…`` in a child process under ``timeout``. The child
  counts every event handed to the compiled code (``Bridge.evaluate`` and ``Bridge.diagram_sums``:
  integration with its
  adaptation and training, the multi-channel prior's single-diagram-enhancement weights, the
  pilot sample that fixes the maximum, generation's weighted points, the colour choice of the
  kept events) and, apart, the integrand's ``|M|^2`` evaluations (``MadGraphCPP.__call__``: the
  points inside the cuts, as MadEvent's counter counts the points after ``passcuts``), and writes
  the counts beside ``result.json``. Read back: σ ± error, the ME points (those ``|M|^2``
  evaluations), the phase-space points (integration ``n_eval`` + generation's
  ``n_weighted`` with its pilot, cut-failing points included), the code evaluations,
  the unweighting efficiency, the wall time (setup = the library build, else integration +
  generation).

One JSON line per (process, method) is printed and written to ``--json``, then a table: σ ± err,
the pull against MadEvent, ME calls per unweighted event (training included), ε, and the wall
time per 10⁴ unweighted events. Paths in the output are relative to the repository or ``<work>``.

    python benchmarks/madevent.py gg_tt --events 10000 --methods madevent,vegas,flow,multichannel \\
        --work /tmp/mebench --json benchmarks/results/madevent_gg_tt.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "madgraph"
METHODS = ("madevent", "vegas", "flow", "multichannel")  # and "madnis" (projected, see run_madnis)

# mlgen's budget per method (card keys, ``--set``); the events' pilot and batch sizes are common.
MLGEN_SETTINGS: dict[str, dict[str, str]] = {
    "vegas": {"integrator.n_adapt_iter": "5", "integrator.n_per_iter": "20000", "integrator.n_iter": "3"},
    "flow": {
        "integrator.n_adapt_iter": "3", "integrator.n_per_iter": "20000", "integrator.n_iter": "3",
        "integrator.flow.n_calls": "100000",
    },
    "multichannel": {
        "integrator.n_adapt_iter": "3", "integrator.n_per_iter": "20000", "integrator.n_iter": "3",
        "integrator.flow.n_calls": "100000",
    },
}  # fmt: skip
COMMON_SETTINGS = {"events.batch_size": "50000", "run.plots": "false"}


def rel(path: Path | str, work: Path) -> str:
    """``path`` relative to the repository or the work directory (``<work>/…``)."""
    path = Path(path).resolve()
    for base, name in ((work.resolve(), "<work>"), (REPO, ".")):
        try:
            return str(Path(name) / path.relative_to(base))
        except ValueError:
            pass
    return str(path)


def scrub(text: str, work: Path) -> str:
    return text.replace(str(work.resolve()), "<work>").replace(str(REPO), ".").replace(str(REPO.parent), "..")


def unpack(archive: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    (root,) = [p for p in dest.iterdir() if (p / "Cards" / "run_card.dat").is_file()]
    return root


def set_run_card(root: Path, values: dict[str, str]) -> None:
    """Set ``value = name`` lines of ``Cards/run_card.dat`` (every key must be there)."""
    path = root / "Cards" / "run_card.dat"
    lines = path.read_text().splitlines()
    for key, value in values.items():
        pattern = re.compile(rf"^(\s*)(\S.*?)(\s*=\s*{re.escape(key)}\b)(.*)$")
        hits = [
            i for i, line in enumerate(lines) if pattern.match(line) and not line.lstrip().startswith("#")
        ]
        if not hits:
            raise ValueError(f"{path}: no {key} line")
        for i in hits:
            m = pattern.match(lines[i])
            assert m is not None
            lines[i] = f"{m.group(1)}{value}{m.group(3)}{m.group(4)}"
    path.write_text("\n".join(lines) + "\n")


def count_events(lhe: Path) -> int:
    if not lhe.exists():
        return 0
    with gzip.open(lhe, "rt") as f:
        return sum(1 for line in f if line.lstrip().startswith("<event"))


def run_timed(cmd: list[str], cwd: Path, log: Path, timeout_s: int, env: dict[str, str] | None = None):
    """Run under ``timeout``; returns (rc, wall seconds, [(t, line)]), every line time-stamped."""
    t0 = time.perf_counter()
    stamped: list[tuple[float, str]] = []
    full = ["timeout", "--signal=TERM", "--kill-after=30", str(timeout_s), *cmd]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            t = time.perf_counter() - t0
            stamped.append((t, line.rstrip("\n")))
            out.write(f"[{t:8.1f}s] {line}")
            out.flush()
        rc = proc.wait()
    return rc, time.perf_counter() - t0, stamped


# ---------------------------------------------------------------------------------------- MadEvent
_COUNTER = re.compile(
    r"\[COUNTERS\]\s+(CudaCpp MEs|CudaCpp HEL|Fortran MEs)\s+\(\s*-?\d\s*\)\s*:"
    r"\s*([\d.]+)s for\s+(\d+) events"
)
_XSEC = re.compile(r"Cross-section\s*:\s*([\d.eE+-]+)\s*\+-\s*([\d.eE+-]+)\s*pb")


def madevent_counts(root: Path) -> dict[str, Any]:
    """MadEvent's matrix-element calls: the survey's from the ``[COUNTERS]`` line of each channel's
    survey log (``SubProcesses/P*/G*/run1_app.log``), the refine's from the channel's
    ``results.dat`` where a refine ran (``multijob.dat`` there: the refine jobs' logs go to
    /dev/null and their directories are removed, their points summed into ``results.dat``)."""
    totals: dict[str, int] = {}
    seconds: dict[str, float] = {}
    survey = refine = channels = refined = 0
    for g in sorted(p for p in root.glob("SubProcesses/P*/G*") if p.is_dir()):
        channels += 1
        log = g / "run1_app.log"
        if log.is_file():
            for name, secs, n in _COUNTER.findall(log.read_text(errors="replace")):
                totals[name] = totals.get(name, 0) + int(n)
                seconds[name] = seconds.get(name, 0.0) + float(secs)
                if name != "CudaCpp HEL":
                    survey += int(n)
        if (g / "multijob.dat").is_file() and (g / "results.dat").is_file():
            refined += 1
            refine += int(float((g / "results.dat").read_text().split()[3]))
    return {
        "survey_counter_events": totals,
        "survey_counter_seconds": seconds,
        "survey_calls": survey,
        "refine_calls": refine,
        "channels": channels,
        "refined_channels": refined,
    }


def run_madevent(proc: str, args: argparse.Namespace, card: dict[str, str]) -> dict[str, Any]:
    work: Path = args.work
    root = unpack(DATA / f"{proc}.mad.tar.gz", work / proc / "madevent")
    set_run_card(root, card)
    with open(root / "Cards" / "me5_configuration.txt", "a") as f:
        f.write("\nnb_core = 1\nrun_mode = 0\n")
    log = work / proc / "madevent.log"
    rc, wall, lines = run_timed(
        ["python3", "bin/generate_events", "-f"],
        root,
        log,
        args.timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    text = "\n".join(line for _, line in lines)
    out: dict[str, Any] = {"process": proc, "method": "madevent", "rc": rc, "timed_out": rc in (124, 137)}
    start = next((t for t, line in lines if "Idle:" in line), None)
    out["wall_s"] = wall
    out["compile_s"] = start
    out["run_s"] = wall - start if start is not None else None
    m = _XSEC.findall(text)
    if m:
        out["sigma_pb"], out["sigma_err_pb"] = float(m[-1][0]), float(m[-1][1])
        out["sigma_source"] = "generate_events output"
    else:
        html = root / "HTML" / "run_01" / "results.html"
        if html.exists():
            h = re.search(r"([\d.eE+-]+)\s*<font[^>]*>\s*&#177\s*([\d.eE+-]+)", html.read_text())
            if h:
                out["sigma_pb"], out["sigma_err_pb"] = float(h.group(1)), float(h.group(2))
                out["sigma_source"] = rel(html, work)
    counts = madevent_counts(root)
    out.update(counts)
    out["me_calls"] = counts["survey_calls"] + counts["refine_calls"]
    out["code_evaluations"] = out["me_calls"]
    out["second_refine"] = "No need for second refine" not in text and text.count("INFO: Refine results") > 1
    lhe = root / "Events" / "run_01" / "unweighted_events.lhe.gz"
    out["n_unweighted"] = count_events(lhe)
    out["events_file"] = rel(lhe, work) if lhe.exists() else None
    # MadEvent unweights every point, survey and refine: its only efficiency is the overall one
    out["efficiency_overall"] = out["n_unweighted"] / out["me_calls"] if out["me_calls"] else None
    out["log"] = rel(log, work)
    if rc != 0:
        out["error"] = scrub("\n".join(line for _, line in lines[-15:]), work)
    return out


# ------------------------------------------------------------------------------------------- mlgen
# the integrand's |M|^2 evaluations, counted in the child processes (``count`` is theirs)
COUNT_ME = r"""
from mlgen.matrix.mg5.matrix_element import MadGraphCPP
count["me_points"] = 0
_call = MadGraphCPP.__call__
def call(self, p, *a, **k):  # the integrand's |M|^2: the points inside the cuts only
    count["me_points"] += int(p.shape[0])
    return _call(self, p, *a, **k)
MadGraphCPP.__call__ = call
"""

CHILD = r"""
import atexit, json, sys
from mlgen.matrix.mg5 import bridge
count = {"events": 0, "calls": 0}
_evaluate = bridge.Bridge.evaluate
def evaluate(self, p, *a, **k):
    count["events"] += int(p.shape[0]); count["calls"] += 1
    return _evaluate(self, p, *a, **k)
bridge.Bridge.evaluate = evaluate
_sums = bridge.Bridge.diagram_sums
def diagram_sums(self, p, *a, **k):  # the SDE weights of all channels: one evaluation per event
    count["events"] += int(p.shape[0]); count["calls"] += 1
    return _sums(self, p, *a, **k)
bridge.Bridge.diagram_sums = diagram_sums
""" + COUNT_ME + r"""
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(count)))
from mlgen.cli import main
rc = main(sys.argv[2:])
sys.exit(rc)
"""


def run_mlgen(proc: str, method: str, args: argparse.Namespace, card: dict[str, str]) -> dict[str, Any]:
    work: Path = args.work
    base = work / proc / f"mlgen_{method}"
    root = unpack(DATA / f"{proc}.mad.tar.gz", base)
    set_run_card(root, card)
    counter = base / "code_evaluations.json"
    settings = {"integrator.kind": method, **COMMON_SETTINGS, **MLGEN_SETTINGS[method]}
    for item in args.set or []:
        key, _, value = item.partition("=")
        settings[key] = value
    cmd = [sys.executable, "-c", CHILD, str(counter), "run", str(root), "--no-progress"]
    for key, value in settings.items():
        cmd += ["--set", f"{key}={value}"]
    log = work / proc / f"mlgen_{method}.log"
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    rc, wall, lines = run_timed(cmd, REPO, log, args.timeout, env=env)
    out: dict[str, Any] = {"process": proc, "method": method, "rc": rc, "timed_out": rc in (124, 137)}
    out["settings"] = settings
    out["wall_s"] = wall
    results = sorted(root.glob("Events/run_*/result.json"))
    if not results:
        out["error"] = scrub("\n".join(line for _, line in lines[-15:]), work)
        out["log"] = rel(log, work)
        return out
    res = json.loads(results[-1].read_text())
    gen, integ, timings = res["generation"], res["integration"], res.get("timings", {})
    out["sigma_pb"], out["sigma_err_pb"] = res["sigma_pb"], res["sigma_err_pb"]
    out["integration_n_eval"] = integ.get("n_eval")
    out["generation_n_weighted"] = gen["n_weighted"]
    # the pilot is generation's first batch (counted in n_weighted)
    out["phase_space_points"] = (out["integration_n_eval"] or 0) + gen["n_weighted"]
    out["me_calls"] = out["phase_space_points"]  # where the child's count is missing: an upper bound
    out["efficiency"] = gen["efficiency"]
    out["w_max_pb"] = gen["w_max_pb"]
    out["overweight_fraction"] = gen["overweight_fraction"]
    out["generation_sigma_pb"], out["generation_sigma_err_pb"] = gen["sigma_pb"], gen["sigma_err_pb"]
    out["warning"] = res.get("warning")
    out["timings"] = timings
    out["compile_s"] = timings.get("setup_s")
    out["run_s"] = wall - (timings.get("setup_s") or 0.0)
    if counter.exists():
        c = json.loads(counter.read_text())
        out["code_evaluations"], out["code_calls"] = c["events"], c["calls"]
        if "me_points" in c:
            out["me_calls"] = c["me_points"]
    lhe = results[-1].parent / "unweighted_events.lhe.gz"
    out["n_unweighted"] = count_events(lhe)
    out["events_file"] = rel(lhe, work) if lhe.exists() else None
    out["log"] = rel(log, work)
    if rc != 0:
        out["error"] = scrub("\n".join(line for _, line in lines[-15:]), work)
    return out


# ------------------------------------------------------------------------------------------- madnis
MADNIS_CHILD = r"""
import json, sys, time, torch
from madnis.integrator import Integrator
from mlgen.metrics import reduced_max
from mlgen.mg5_run import load_process_dir
from mlgen.process.build import build_process
root, budget, n_sample, seed, threads, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(threads)
t0 = time.perf_counter()
process = build_process(load_process_dir(root).card)
setup = time.perf_counter() - t0
count = {}
""" + COUNT_ME + r"""
torch.manual_seed(seed)
integrator = Integrator(lambda x: process(x.double()).to(x.dtype), dims=process.dim)
t0 = time.perf_counter()
steps = budget // integrator.batch_size
integrator.train(steps)
train_s, me_train = time.perf_counter() - t0, count["me_points"]
t0 = time.perf_counter()
w = integrator.sample(n_sample).weights.double()
sample_s, me_sample = time.perf_counter() - t0, count["me_points"] - me_train
w_max = reduced_max(w, 1e-3)
json.dump({
    "setup_s": setup, "train_s": train_s, "sample_s": sample_s, "train_calls": steps * integrator.batch_size,
    "me_train": me_train, "n_sample": n_sample, "me_sample": me_sample,
    "sigma_pb": float(w.mean()), "sigma_err_pb": float(w.std() / n_sample ** 0.5),
    "efficiency": float(w.abs().mean()) / w_max, "w_max_pb": w_max,
}, open(out, "w"))
"""


def run_madnis(proc: str, args: argparse.Namespace, card: dict[str, str]) -> dict[str, Any]:
    """madnis 1.0 (``Integrator``, its defaults) on mlgen's integrand of the same ``.mad`` copy and run
    card (the MG5 code, mlgen's default phase-space map, PDFs and cuts): trained with
    ``--madnis-calls`` calls, then a sample of ``--madnis-sample`` points gives σ and the
    hit-or-miss efficiency ε against the maximum whose overweights carry 10⁻³ of σ. Its ME points
    per unweighted event are *projected*, not generated: (training's |M|² + N_events / ε x the
    sample's share of points inside the cuts) / N_events. Needs the benchmark environment
    (``make .venv-bench/bin/.mlgen-bench-env``)."""
    work: Path = args.work
    base = work / proc / "madnis"
    root = unpack(DATA / f"{proc}.mad.tar.gz", base)
    set_run_card(root, card)
    python = REPO / ".venv-bench" / "bin" / "python"
    out_json = base / "madnis.json"
    cmd = [str(python), "-c", MADNIS_CHILD, str(root), str(args.madnis_calls), str(args.madnis_sample),
           str(args.seed), str(args.threads), str(out_json)]  # fmt: skip
    log = work / proc / "madnis.log"
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    rc, wall, lines = run_timed(cmd, REPO, log, args.timeout, env=env)
    out: dict[str, Any] = {"process": proc, "method": "madnis", "rc": rc, "timed_out": rc in (124, 137)}
    out["wall_s"], out["log"] = wall, rel(log, work)
    if rc != 0 or not out_json.exists():
        out["error"] = scrub("\n".join(line for _, line in lines[-15:]), work)
        return out
    res = json.loads(out_json.read_text())
    n = int(card["nevents"])
    inside = res["me_sample"] / res["n_sample"]
    out.update(res)
    out["projected"] = True
    out["n_unweighted"] = n
    out["me_calls"] = round(res["me_train"] + n / res["efficiency"] * inside)
    out["phase_space_points"] = round(res["train_calls"] + n / res["efficiency"])
    out["compile_s"] = res["setup_s"]
    out["run_s"] = res["train_s"] + res["sample_s"] / res["n_sample"] * n / res["efficiency"]
    return out


# ------------------------------------------------------------------------------------------- table
def table(rows: list[dict[str, Any]]) -> str:
    ref = {r["process"]: r for r in rows if r["method"] == "madevent" and r.get("sigma_pb")}
    head = (
        "| process | method | σ [pb] | pull vs MadEvent | N unw | ME points / unw. event "
        "| PS points / unw. event | code evals / unw. event | ε overall | ε generation | compile [s] | run [s] | run s / 10⁴ unw. "
        "| rc |"
    )
    out = [head, "|" + "---|" * 14]
    for r in rows:
        n = r.get("n_unweighted") or 0
        sig = f"{r['sigma_pb']:.5g} ± {r['sigma_err_pb']:.2g}" if r.get("sigma_pb") else "–"
        pull = "–"
        me = ref.get(r["process"])
        if me and r.get("sigma_pb") and r["method"] != "madevent":
            combined = math.hypot(r["sigma_err_pb"], me["sigma_err_pb"])
            pull = f"{(r['sigma_pb'] - me['sigma_pb']) / combined:+.2f}"
        per = f"{r['me_calls'] / n:.1f}" if n and r.get("me_calls") else "–"
        ps = f"{r['phase_space_points'] / n:.1f}" if n and r.get("phase_space_points") else "–"
        if r["method"] != "madevent" and r.get("me_calls") and "phase_space_points" not in r:
            # a row from before the |M|^2 count: its me_calls were phase-space points, an upper bound
            ps, per = per, f"≤ {per}"
        code = f"{r['code_evaluations'] / n:.1f}" if n and r.get("code_evaluations") else "–"
        overall = f"{n / r['me_calls']:.3g}" if n and r.get("me_calls") else "–"
        eps = f"{r['efficiency']:.3g}" if r.get("efficiency") and r["method"] != "madevent" else "–"
        comp = f"{r['compile_s']:.0f}" if r.get("compile_s") is not None else "–"
        run = f"{r['run_s']:.0f}" if r.get("run_s") is not None else "–"
        per_ev = f"{r['run_s'] / n * 1e4:.0f}" if n and r.get("run_s") is not None else "–"
        rc = f"{r['rc']}" + (" (timeout)" if r.get("timed_out") else "")
        # settings beyond the method's defaults (--set) name the row
        extra = {
            k.removeprefix("integrator."): v
            for k, v in (r.get("settings") or {}).items()
            if k != "integrator.kind" and k not in COMMON_SETTINGS and MLGEN_SETTINGS.get(r["method"], {}).get(k) != v
        }
        method = r["method"] + (" (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")" if extra else "")
        if r.get("projected"):  # N unweighted, the ME points and the run time projected from ε
            method += f" ({r['train_calls']:.0e} training calls; projected)"
        out.append(
            f"| {r['process']} | {method} | {sig} | {pull} | {n} | {per} | {ps} | {code} | {overall} | {eps} "
            f"| {comp} | {run} | {per_ev} | {rc} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("process", help="gg_tt, gg_ttg or gg_ttgg (an archive in ../shared/data/madgraph)")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--backend", default="cpp512y", help="cudacpp_backend on both sides (mlgen's CPU choice)"
    )
    parser.add_argument(
        "--scale", default="3", help="dynamical_scale_choice on both sides ('' keeps the card's)"
    )
    parser.add_argument("--use-syst", default="False", help="use_syst on both sides")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per run")
    parser.add_argument("--threads", type=int, default=2, help="mlgen's torch threads")
    parser.add_argument("--set", action="append", help="extra mlgen card key=value for every mlgen method")
    parser.add_argument("--madnis-calls", type=int, default=400_000, help="madnis's training calls")
    parser.add_argument("--madnis-sample", type=int, default=200_000, help="madnis's sample for sigma and eps")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mlgen_madevent"))
    parser.add_argument("--json", type=Path, help="append the JSON lines here")
    parser.add_argument(
        "--rows", type=Path, nargs="*", default=[], help="only print the table of these JSON files"
    )
    args = parser.parse_args(argv)
    if args.rows:
        rows = [
            json.loads(line) for path in args.rows for line in path.read_text().splitlines() if line.strip()
        ]
        print(table(rows))
        return 0
    args.work = args.work.resolve()
    card = {"nevents": str(args.events), "iseed": str(args.seed), "cudacpp_backend": args.backend,
            "use_syst": args.use_syst}  # fmt: skip
    if args.scale:
        card["dynamical_scale_choice"] = args.scale
    rows = []
    for method in args.methods.split(","):
        t0 = time.time()
        print(f"# {args.process} {method}: started {time.strftime('%H:%M:%S')}", flush=True)
        if method == "madevent":
            row = run_madevent(args.process, args, card)
        elif method == "madnis":
            row = run_madnis(args.process, args, card)
        else:
            row = run_mlgen(args.process, method, args, card)
        row["run_card"] = card
        row["date"] = time.strftime("%Y-%m-%d")
        print(json.dumps(row), flush=True)
        print(f"# {args.process} {method}: {time.time() - t0:.0f} s", flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")
        rows.append(row)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
