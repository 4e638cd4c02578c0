"""Run-card hooks: steps that run, in order, after ``mlgen run`` has written its events.

A card lists them as an array of tables::

    [[hooks]]
    step = "shower"                     # a built-in step ...
    options = { n = 1000, settings = ["HadronLevel:all = off"] }

    [[hooks]]
    step = "my_analysis.py:histogram"   # ... or a user's function, module:attr or file.py:attr
    options = { bins = 40 }

Each step receives a :class:`HookContext` (the events file, the events in memory,
``result.json`` as written so far, the output directory, its options) and
returns a JSON-ready dict, recorded under ``result.json["hooks"]`` with its
status and wall time. A step that raises stops the chain: the failure is
recorded, ``result.json`` is rewritten, and :class:`HookError` names the step;
the events written before it stay where they are.

Built-in steps: ``shower`` (Pythia 8 on the events file, :func:`mlgen.shower.shower_lhe`;
options ``n``, ``settings``, ``hadronise``, ``mpi``, and ``hepmc = "FILE"`` to write HepMC3 with
the events file's named weights and cross section, as ``mlgen shower --hepmc`` does)
and ``compare`` (the run's events against ``reference = "FILE.lhe"``, optionally a
``truth``: :func:`mlgen.generative.compare.compare_samples`, plots in ``output_dir``) and
``positive`` (the run's signed weighted events made positive,
:func:`mlgen.positive.make_positive`; options ``method``, ``output``,
``max_cell_size``, ``unweight``). ``amplify`` is not a step: its output is not
physics-grade yet (see the README).
"""

from __future__ import annotations

__all__ = ["BUILTIN_STEPS", "HookContext", "HookError", "resolve_step", "run_hooks"]

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class HookError(RuntimeError):
    """A hook failed; the message names it (position and step)."""


@dataclass
class HookContext:
    """What a hook step gets.

    Attributes:
        events_file: the LHE file ``mlgen run`` wrote (``None`` without events).
        events: the unweighted events (:class:`~mlgen.events.EventBatch`, on the CPU), or ``None``.
        result: ``result.json`` as written so far (read-only by convention).
        output_dir: the run's output directory (write step outputs there).
        options: the hook's ``options`` table.
        seed: the step's random stream, a child of the run's seed tree (:mod:`mlgen.seeds`); a step
            whose options give a ``seed`` uses that instead.
    """

    events_file: Path | None
    events: Any
    result: dict[str, Any]
    output_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    seed: np.random.SeedSequence = field(default_factory=lambda: np.random.SeedSequence(0))


def _shower(ctx: HookContext) -> dict[str, Any]:
    from mlgen.shower import shower_lhe

    if ctx.events_file is None:
        raise ValueError("no events file to shower")
    opts = dict(ctx.options)
    # the whole file by default: asking for exactly what is there avoids Pythia's end-of-file abort
    n = opts.pop("n", None) or (len(ctx.events) if ctx.events is not None else None)
    settings = opts.pop("settings", [])
    hadronise = opts.pop("hadronise", True)
    mpi = opts.pop("mpi", True)
    hepmc = opts.pop("hepmc", None)
    if opts:
        raise ValueError(f"unknown option(s) {sorted(opts)} (allowed: n, settings, hadronise, mpi, hepmc)")
    if hepmc is not None:
        from mlgen.hepmc import HepMCWriter
        from mlgen.shower import lhe_run_info

        # the events file's run info: its named weights go into every event, its <init> gives sigma
        # (the run's, written there by the same formula), or Pythia's where matching vetoes events
        with HepMCWriter(ctx.output_dir / hepmc, run_info=lhe_run_info(ctx.events_file)) as writer:
            report = shower_lhe(
                ctx.events_file, n, settings=settings, hadronise=hadronise, mpi=mpi, on_event=writer
            )
    else:
        report = shower_lhe(ctx.events_file, n, settings=settings, hadronise=hadronise, mpi=mpi)
    out = asdict(report) | ({"hepmc_file": str(ctx.output_dir / hepmc)} if hepmc else {})
    if report.n_errors or report.n_showered == 0:
        raise RuntimeError(
            f"Pythia showered {report.n_showered} events with {report.n_errors} errors: {report.messages}"
        )
    return out


def _compare(ctx: HookContext) -> dict[str, Any]:
    """The run's events against a ``reference`` LHE file (and a ``truth``): mlgen.generative.compare."""
    from mlgen.generative.compare import compare_samples
    from mlgen.lhe import read_lhe

    opts = dict(ctx.options)
    reference = opts.pop("reference", None)
    truth = opts.pop("truth", None)
    out = ctx.output_dir / opts.pop("output_dir", "compare")
    if opts or reference is None:
        raise ValueError(
            f"expected options reference (required), truth, output_dir; got {sorted(ctx.options)}"
        )
    if ctx.events is None:
        raise ValueError("no events to compare")
    base = Path(ctx.result.get("card") or ".").parent

    def read(path: str) -> Any:
        p = Path(path)
        return read_lhe(p if p.is_absolute() or p.exists() else base / p)[1]

    report = compare_samples(
        ctx.events,
        read(reference),
        read(truth) if truth else None,
        out_dir=out,
        labels=("this run", "reference"),
        seed=ctx.seed,
    )
    return {k: v for k, v in report.to_json().items() if k != "plots"} | {"plots_dir": str(out)}


def _positive(ctx: HookContext) -> dict[str, Any]:
    """Positive events from the run's signed weighted events: :mod:`mlgen.positive`."""
    from mlgen.lhe import LHEWriter, read_lhe
    from mlgen.positive import RENAMED, PositiveConfig, make_positive

    opts = dict(ctx.options)
    output = ctx.output_dir / opts.pop("output", "events_positive.lhe.gz")
    known = {"method", "max_cell_size", "cell_share", "unweight", "tau", "jet_radius", "seed"}
    if set(opts) - known:
        raise ValueError(f"expected options output, {', '.join(sorted(known))}; got {sorted(ctx.options)}")
    if ctx.events_file is None:
        raise ValueError("no events file to make positive")
    # an integer seed for the config, drawn from the step's stream of the run's tree
    opts.setdefault("seed", int(ctx.seed.generate_state(1)[0]))
    method = opts.get("method")
    if method in RENAMED:  # a card of the last release: accepted, and said so on stderr
        print(f"hook positive: method {method!r} is deprecated; use {RENAMED[method]!r}", file=sys.stderr)
        opts["method"] = RENAMED[method]
    info, events = read_lhe(ctx.events_file)
    if events is None:
        raise ValueError(f"{ctx.events_file}: no events to make positive")
    out, run_info, report = make_positive(events, info, PositiveConfig(**opts))
    with LHEWriter(output, run_info) as writer:
        writer.write(out)
    return report.to_json() | {"output": str(output)}


#: Steps a card may name directly.
BUILTIN_STEPS: dict[str, Callable[[HookContext], dict[str, Any] | None]] = {
    "shower": _shower,
    "compare": _compare,
    "positive": _positive,
}


def resolve_step(step: str, base_dir: Path | None = None) -> Callable[[HookContext], Any]:
    """The function of a step: a built-in name, ``module:attr`` or ``file.py:attr``."""
    if step in BUILTIN_STEPS:
        return BUILTIN_STEPS[step]
    if ":" not in step:
        raise ValueError(
            f"step {step!r}: expected a built-in step ({', '.join(sorted(BUILTIN_STEPS))}), "
            "module:attr or path/to/file.py:attr"
        )
    from mlgen.matrix.loader import import_code

    try:  # a user's function only: never os:system and the like (mlgen.matrix.loader)
        fn = import_code(step, base_dir, "hooks.step")
    except ValueError as err:
        raise ValueError(str(err).replace("matrix element", "hook")) from None
    if not callable(fn):
        raise ValueError(f"step {step!r} is not callable")
    return fn


def run_hooks(
    hooks: list[tuple[str, dict[str, Any]]],
    context: HookContext,
    record: Callable[[list[dict[str, Any]]], None],
    *,
    base_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``(step, options)`` pairs in order; ``record(entries)`` is called after each one.

    Raises :class:`HookError` on the first failure, after recording it.
    """
    entries: list[dict[str, Any]] = []
    # resolve everything first: a typo in the third step should not cost the first two
    functions = []
    for i, (step, _) in enumerate(hooks, 1):
        try:
            functions.append(resolve_step(step, base_dir))
        except ValueError as err:
            raise HookError(f"hook {i} ({step}): {err}") from None
    step_seeds = context.seed.spawn(len(hooks))
    for i, ((step, options), fn) in enumerate(zip(hooks, functions), 1):
        context.options = dict(options)
        context.seed = step_seeds[i - 1]
        t0 = time.perf_counter()
        try:
            output = fn(context)
        except Exception as err:  # a hook is user code: anything it raises stops the chain
            entries.append(
                {
                    "step": step,
                    "status": "failed",
                    "error": f"{type(err).__name__}: {err}",
                    "traceback": traceback.format_exc(limit=5),
                    "seconds": time.perf_counter() - t0,
                }
            )
            record(entries)
            raise HookError(f"hook {i} ({step}) failed: {type(err).__name__}: {err}") from err
        entries.append({"step": step, "status": "ok", "output": output, "seconds": time.perf_counter() - t0})
        record(entries)
        if log is not None:
            log(f"hook {i} ({step}): ok in {entries[-1]['seconds']:.1f} s")
    return entries
