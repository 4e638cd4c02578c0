"""``mlgen run``: a card in, a cross section, unweighted LHE events, result.json and plots out."""

from __future__ import annotations

__all__ = [
    "Prepared",
    "event_stream",
    "flow_settings",
    "physics_settings",
    "prepare",
    "run_card",
    "slha_text",
    "trained_on",
]

import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

import mlgen
from mlgen.asymmetries import asymmetries
from mlgen.atomic import write_text
from mlgen.cards.schema import Card
from mlgen.device import resolve_device
from mlgen.events import EventBatch, ProcessLine, RunInfo, WeightInfo
from mlgen.generate import EventSource, generate_unweighted, normalise_unweighted
from mlgen.integrate import nis
from mlgen.integrate.base import Sampler
from mlgen.integrate.kinds import INTEGRATORS, Integrator, kind_of
from mlgen.integrate.loop import integrate
from mlgen.integrate.nis import FlowSettings
from mlgen.integrate.persist import SavedSampler, load_saved, save_sampler
from mlgen.integrate.result import IntegrationResult, Iteration
from mlgen.lhe.markup import attribute, cdata
from mlgen.measured import format_measured, format_share
from mlgen.physics.slha import format_slha
from mlgen.process.build import build_process
from mlgen.process.channels import MultiChannelProcess
from mlgen.process.process import SCALE_FACTORS, Process
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator
from mlgen.subprocesses import SubprocessSigma, pdg_label, select_subprocesses, subprocess_cross_sections


def _weight_infos() -> tuple[WeightInfo, ...]:
    return tuple(
        WeightInfo(
            id=f"{1001 + i}", description=f"MUR={kr:g} MUF={kf:g}", group="scale_variation", mur=kr, muf=kf
        )
        for i, (kr, kf) in enumerate(SCALE_FACTORS)
    )


def flow_settings(card: Card) -> FlowSettings:
    """The :class:`~mlgen.integrate.nis.FlowSettings` of a card's ``[integrator]`` and its ``flow`` table."""
    return nis.flow_settings(asdict(card.integrator.flow), card.integrator.budget)


def _load(card: Card, device: torch.device) -> tuple[SavedSampler, Path]:
    """The saved sampler that ``integrator.load`` names, with its record."""
    assert card.integrator.load is not None
    path = Path(card.integrator.load)
    if not path.is_absolute() and card.source:
        # relative to the card, as a user writing the card next to a run directory expects
        near_card = Path(card.source).parent / path
        path = near_card if near_card.exists() or not path.exists() else path
    try:
        return load_saved(path, device), path
    except (OSError, ValueError) as err:
        raise ValueError(f"{card.source}: integrator.load: {err}") from None


#: what makes two runs the same process, for a saved sampler: refused when one differs
_IDENTITY = ("matrix_element", "options", "subprocesses", "beams", "kind", "dim", "n_channels")


def trained_on(card: Card, process: Process, kind: str, dim: int, n_channels: int) -> dict[str, Any]:
    """The record saved with a sampler: the process it samples (what :data:`_IDENTITY` compares: ``dim``
    the sampler's dimension, ``n_channels`` its channels) and the card's physics tables, whose change
    makes the saved integration result stale. JSON-ready."""
    record = {
        "process": process.name,
        "matrix_element": card.process.matrix_element,
        "options": card.process.options,
        "subprocesses": [list(sub.pdg) for sub in process.matrix_element.subprocesses],
        "beams": list(card.beams.particles),
        "kind": kind,
        "dim": dim,
        "n_channels": n_channels,
        "physics": {key: asdict(getattr(card, key)) for key in ("process", "beams", "pdf", "model", "scales")}
        | {"cuts": [asdict(cut) for cut in card.cuts]},
    }
    return cast(dict[str, Any], json.loads(json.dumps(record, default=float)))


def _describe_record(record: dict[str, Any]) -> str:
    n = record.get("n_channels", 1)
    return (
        f"{record.get('process')!r} ({record.get('matrix_element')}, {record.get('kind')} sampler, "
        f"{record.get('dim')} dimensions, {n} channel{'s' if n != 1 else ''})"
    )


def _check_record(card: Card, path: Path, saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Refuse a sampler trained on another process (one line, naming both); return the physics tables
    that differ from the ones it was trained with (its saved integration result does not apply then)."""
    if any(saved.get(key) != now[key] for key in _IDENTITY):
        raise ValueError(
            f"{card.source}: integrator.load: {path} was trained on {_describe_record(saved)}, "
            f"not on this card's {_describe_record(now)}; drop integrator.load to train one for it"
        )
    before, after = saved.get("physics", {}), now["physics"]
    return [key for key in after if before.get(key) != after[key]]


def _stored_result(record: dict[str, Any]) -> IntegrationResult | None:
    """The integration result saved with a sampler, as an :class:`IntegrationResult`."""
    stored = record.get("result")
    if not stored:
        return None
    return IntegrationResult(
        [Iteration(it["mean_pb"], it["sdev_pb"], it["n"]) for it in stored["iterations"]],
        stored["n_eval"],
        dict(stored.get("weights", {})),
        {k: v for k, v in stored.get("flags", {}).items() if k not in ("loaded_from", "reused")},
        stored.get("sampler", ""),
    )


def _integrate(
    process: Process,
    card: Card,
    device: torch.device,
    seed: SeedLike,
    say: Callable[[str], None],
    progress: bool = False,
) -> tuple[IntegrationResult, Sampler, EventSource, dict[str, Any]]:
    """Fit the sampler the card asks for (or load a saved one) and integrate.

    Returns ``(result, sampler, source, record)``: ``source`` is what the sampler's points are points
    of, the process itself or, for a kind that uses channels, its channel sum on the extended cube;
    ``record`` what :func:`trained_on` says about them, the result included.

    A loaded sampler is checked against the process (a different one is refused); its saved result
    is reused when the physics tables are those it was trained with, unless ``integrator.reintegrate``.
    """
    cfg = card.integrator
    if cfg.load is None:
        kind = INTEGRATORS[cfg.kind]
        several = kind.accepts_channels and len(process.channels) > 1
        channels = MultiChannelProcess(process) if kind.uses_channels or several else None
        integrator = kind.from_options(asdict(cfg.flow))
        total = cfg.flow.n_calls if cfg.kind in ("flow", "multichannel") else 0
        bar = _progress_bar(total, progress and total > 0, "training calls")
        result, sampler = integrator.fit(
            process,
            process.dim,
            cfg.budget,
            seed,
            device=device,
            channels=channels,
            progress=None if bar is None else (lambda calls, _spread: bar(calls)),
        )
        _close(bar)
        chosen = kind_of(sampler) if kind.chooses_kind else cfg.kind  # the summary says why
        kind = INTEGRATORS[chosen]
        n_channels = channels.n_channels if channels is not None and kind.uses_channels else 1
        record = trained_on(card, process, chosen, sampler.dim, n_channels)
        return result, sampler, _source(kind, process, sampler), record
    saved, path = _load(card, device)
    kind, sampler = INTEGRATORS[saved.kind], saved.sampler
    channels = MultiChannelProcess(process) if kind.uses_channels else None
    n_channels = 1 if channels is None else channels.n_channels
    record = trained_on(card, process, saved.kind, process.dim + kind.uses_channels, n_channels)
    if saved.trained_on:
        changed = _check_record(card, path, saved.trained_on, record)
    else:  # a file saved before the record: what the sampler itself says
        found = {"dim": sampler.dim, "n_channels": int(getattr(sampler, "n_channels", 1))}
        if found != {"dim": record["dim"], "n_channels": n_channels}:
            raise ValueError(
                f"{card.source}: integrator.load: {path} samples {found['dim']} dimensions with "
                f"{found['n_channels']} channels; {process.name!r} needs {record['dim']} with {n_channels}"
            )
        say(f"integrator.load: {path} has no record of its process; checked by dimension and channels only")
        changed = ["process"]
    source = _source(kind, process, sampler)
    stored = _stored_result(saved.trained_on)
    if stored is not None and not changed and not cfg.reintegrate:
        stored.flags["loaded_from"] = str(path)
        stored.flags["reused"] = (
            "the training run's result, for the same physics (reintegrate = true redoes it)"
        )
        return stored, sampler, source, record
    if saved.trained_on and changed:
        say(
            f"integrator.load: the card's {', '.join(changed)} differ from the training run's; "
            "integrating anew"
        )
    generator = torch_generator(seed, device)
    result = integrate(source, sampler, n_iter=cfg.n_iter, n_per_iter=cfg.n_per_iter, generator=generator)
    result.flags["loaded_from"] = str(path)
    return result, sampler, source, record


def _source(kind: type[Integrator], process: Process, sampler: Sampler) -> EventSource:
    if not kind.uses_channels:
        return process
    return cast(MultiChannelProcess, kind.integrand(MultiChannelProcess(process), sampler))


@dataclass
class Prepared:
    """A card's process with its trained sampler, integral and ``<init>`` information."""

    card: Card
    process: EventSource
    result: IntegrationResult
    sampler: Sampler
    run_info: RunInfo
    device: torch.device
    events_seed: np.random.SeedSequence
    hooks_seed: np.random.SeedSequence
    timings: dict[str, float] = field(default_factory=dict)
    physics: dict[str, Any] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)


def prepare(
    card: Card,
    *,
    log: Callable[[str], None] | None = print,
    header: str | None = None,
    progress: bool = False,
    command: list[str] | None = None,
) -> Prepared:
    """Build the card's process, train the sampler, integrate, and fill the run information.

    The settings that change the physics (:func:`physics_settings`) are said first, defaults marked.
    ``header`` replaces the LHE header's default blocks (the card and an ``<slha>`` of the run's
    masses and widths): a MadEvent banner for a MadGraph5 process directory. ``progress`` draws a
    bar while a neural sampler trains."""
    say = log or (lambda _msg: None)
    device = resolve_device(card.run.device)
    if card.hooks:  # a hook the card may not name is refused before anything is computed
        from mlgen.hooks import resolve_step

        base_dir = Path(card.source).parent if card.source else None
        for i, hook in enumerate(card.hooks, 1):
            try:
                resolve_step(hook.step, base_dir)
            except ValueError as err:
                raise ValueError(f"{card.source}: hooks {i} ({hook.step}): {err}") from None
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    process = build_process(card, device)
    if card.process.only or card.process.exclude:
        try:
            select_subprocesses(process, card.process.only, card.process.exclude)
        except ValueError as err:
            raise ValueError(f"{card.source}: process.{err}") from None
    timings["setup_s"] = time.perf_counter() - t0
    physics = physics_settings(card, process)
    say(describe_physics(physics))
    # the run's own streams first, then the integration's from the root: every stream fixed by the seed
    root = as_seed_sequence(card.run.seed)
    events_seed, hooks_seed = root.spawn(2)
    t0 = time.perf_counter()
    result, sampler, source, record = _integrate(process, card, device, root, say, progress)
    record["result"] = json.loads(json.dumps(result.to_dict(), default=float))
    timings["integration_s"] = time.perf_counter() - t0
    say(result.summary())
    sigma, sigma_err = float(result.mean), float(result.sdev)
    pdf_id = int(getattr(process.pdf, "lhapdf_id", 0) or 0) if process.pdf is not None else 0
    card_text = Path(card.source).read_text() if card.source and Path(card.source).is_file() else ""
    card_path = attribute(str(card.source))
    card_block = f"<mlgen_card source={card_path}>\n{cdata(chr(10) + card_text)}\n</mlgen_card>\n"
    run_info = RunInfo(
        beam_ids=process.beams,
        beam_energies=(card.beams.sqrt_s / 2, card.beams.sqrt_s / 2),
        pdf_group=(0, 0),
        pdf_set=(pdf_id, pdf_id),
        weight_strategy=3 if card.events.unweight != "none" else -4,
        processes=(ProcessLine(xsec_pb=sigma, error_pb=sigma_err, xmax_pb=sigma, id=1),),
        generator=("mlgen", mlgen.__version__),
        weights=_weight_infos() if card.scales.variations else (),
        header=(
            header
            if header is not None
            else card_block
            + f"<slha>\n{slha_text(process.matrix_element)}</slha>\n"
        )
        + _run_block(card, command),
    )
    return Prepared(
        card, source, result, sampler, run_info, device, events_seed, hooks_seed, timings, physics, record
    )


def _run_block(card: Card, command: list[str] | None) -> str:
    """The header's ``<mlgen_run>``: mlgen's version, the command line and the effective card (every
    override applied, the seed included) as JSON: what the card file alone does not say."""
    import sys

    effective = json.dumps(asdict(card), default=str, indent=1)
    line = " ".join(command if command is not None else sys.argv)
    return (
        f"<mlgen_run version={attribute(mlgen.__version__)} seed={attribute(str(card.run.seed))} "
        f"command={attribute(line)}>\n{cdata(chr(10) + effective + chr(10))}\n</mlgen_run>\n"
    )


def physics_settings(card: Card, process: Process) -> dict[str, Any]:
    """Every setting of a run that changes its cross section, as the run uses it, and the card keys among
    them that took their defaults (``defaults``). JSON-ready; ``result.json``'s ``physics``."""
    from mlgen.physics.sm import GMU, parameters_from_card

    source = Path(card.source) if card.source else None
    parameters = parameters_from_card(
        card.model.scheme,
        card.model.param_card,
        base_dir=source.parent if source else None,
        ckm=card.model.ckm,
    )
    mz2 = torch.tensor([GMU.mz**2], dtype=torch.float64)
    # the coupling the integrand runs with: the PDF set's for hadron beams, the model's otherwise
    alpha_s_of = process.pdf.alphasQ2 if process.pdf is not None else process._alpha_s  # type: ignore[attr-defined]
    alpha_s = getattr(getattr(process.pdf, "alpha_s", None), "description", "")
    if process.pdf is None:
        alpha_s = f"alpha_s(M_Z) = {parameters.alpha_s_mz:g} of the model ({card.model.scheme})"
    scales = asdict(card.scales)
    uses_value = "fixed" in (card.scales.mu_r, card.scales.mu_f)
    keys = ["beams.particles", "beams.sqrt_s", "model.scheme", "model.param_card", "model.ckm"]
    keys += [
        f"scales.{k}" for k in ("mu_r", "mu_f", "factor_r", "factor_f", *(("value",) if uses_value else ()))
    ]
    if process.pdf is not None:
        keys += ["pdf.set", "pdf.member", "pdf.backend", "pdf.alphas_loops", "pdf.alphas_nf_max", "pdf.alphas_mz"]
    settings: dict[str, Any] = {
        "beams": {"particles": list(card.beams.particles), "sqrt_s_gev": card.beams.sqrt_s},
        "pdf": None
        if process.pdf is None
        else {
            "set": card.pdf.set,
            "member": card.pdf.member,
            "backend": card.pdf.backend,
            "lhapdf_id": int(getattr(process.pdf, "lhapdf_id", 0) or 0),
        },
        "alpha_s": {
            "at_mz": float(alpha_s_of(mz2)[0]),
            "running": alpha_s,
            "from": "pdf" if process.pdf is not None else "model",
        },
        "scales": scales,
        "model": {"scheme": card.model.scheme, "param_card": card.model.param_card}
        | {k: v for k, v in asdict(parameters).items() if k != "name"},
        "cuts": [asdict(cut) for cut in card.cuts],
        "subprocesses": _selected(process),
        "defaults": [key for key in keys if card.is_default(key)],
    }
    return cast(dict[str, Any], json.loads(json.dumps(settings, default=float)))


def _selected(process: Process) -> list[str] | str:
    """The subprocesses a process is restricted to (``process.only``/``exclude``), or ``"all"``."""
    keep = getattr(process.luminosity, "keep", None)
    if keep is None:
        return "all"
    subs = process.matrix_element.subprocesses
    return [pdg_label(sub.pdg) for sub, k in zip(subs, keep.tolist()) if k]


def describe_physics(physics: dict[str, Any]) -> str:
    """The lines a run prints about :func:`physics_settings`: beams, PDF, alpha_s, scales, model, with
    ``(default)`` after the settings the card did not give."""
    defaults = set(physics["defaults"])

    def mark(*keys: str) -> str:
        return " (default)" if any(k in defaults for k in keys) else ""

    beams, scales, model, a_s = physics["beams"], physics["scales"], physics["model"], physics["alpha_s"]
    lines = [f"physics: {' '.join(beams['particles'])} at sqrt(s) = {beams['sqrt_s_gev']:g} GeV"]
    if physics["pdf"] is not None:
        pdf = physics["pdf"]
        lines.append(f"  PDF {pdf['set']} member {pdf['member']} ({pdf['backend']}){mark('pdf.set')}")
    lines.append(
        f"  alpha_s(M_Z) = {a_s['at_mz']:.5g} from the {a_s['from']}: {a_s['running']}"
        + (" (the set's loop order: pdf.alphas_loops not set)" if "pdf.alphas_loops" in defaults else "")
    )

    def scale(name: str, factor: str) -> str:
        choice = scales[name]
        base = f"{scales['value']:g} GeV (fixed)" if choice == "fixed" else choice
        return f"{base} x {scales[factor]:g}" if scales[factor] != 1 else base

    lines.append(
        f"  scales: mu_R = {scale('mu_r', 'factor_r')}{mark('scales.mu_r', 'scales.value')}, "
        f"mu_F = {scale('mu_f', 'factor_f')}{mark('scales.mu_f', 'scales.value')}"
        + (", 9 scale-variation weights" if scales["variations"] else "")
    )
    if physics["subprocesses"] != "all":
        kept = physics["subprocesses"]
        lines.append(
            f"  only {len(kept)} subprocesses: {', '.join(kept[:6])}{' ...' if len(kept) > 6 else ''}"
        )
    lines.append(
        f"  model: {model['scheme']} scheme{mark('model.scheme')}"
        + (f", param card {model['param_card']}" if model["param_card"] else "")
        + f": M_Z = {model['mz']:g}, M_W = {model['mw']:g}, m_t = {model['mt']:g}, "
        f"m_H = {model['mh']:g} GeV, alpha = 1/{1 / model['alpha']:.6g}"
    )
    ckm = model["ckm"]
    identity = all(v == (i == j) for i, row in enumerate(ckm) for j, v in enumerate(row))
    rows = "; ".join(" ".join(f"{v:.5g}" for v in row) for row in ckm)
    lines.append(f"  CKM: {'the identity' if identity else f'|V| rows u, c, t = {rows}'}{mark('model.ckm')}")
    return "\n".join(lines)


def slha_text(me: Any) -> str:
    """The run's masses and widths as an SLHA card for the header: the Standard Model scheme's, then
    the matrix element's propagators (a Z' of the card); tools downstream (``mlgen amplify``'s line
    shapes, Pythia 8) read the values the events were generated with."""
    masses: dict[int, float] = {}
    widths: dict[int, float] = {}
    par = getattr(me, "parameters", None)
    if par is not None:
        sm = ((6, par.mt, par.wt), (23, par.mz, par.wz), (24, par.mw, par.ww), (25, par.mh, par.wh))
        for pdg, mass, width in sm:
            masses[pdg], widths[pdg] = mass, width
    for prop in getattr(me, "propagators", ()):
        if prop.pdg and prop.mass > 0:  # a photon or gluon line has no line shape
            masses[abs(prop.pdg)], widths[abs(prop.pdg)] = prop.mass, prop.width
    return format_slha(masses, widths, getattr(me, "name", "mlgen"))


def event_stream(
    prepared: Prepared, n_events: int, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[EventBatch, Any]]:
    """Unweighted event batches of a prepared card (its events stream), weights in units of
    the maximum (1 for ordinary events, more for counted overweights)."""
    card = prepared.card
    generator = torch_generator(prepared.events_seed, prepared.device)
    yield from generate_unweighted(
        prepared.process,
        prepared.sampler,
        n_events,
        generator=generator,
        mode=card.events.unweight,
        overweight_fraction=card.events.overweight_fraction,
        batch_size=card.events.batch_size,
        progress=progress,
    )


def run_card(
    card: Card,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    events_name: str = "events.lhe.gz",
    header: str | None = None,
    replace: bool = False,
    files: dict[str, str] | None = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Run a card end to end and return what ``result.json`` holds.

    Steps: build the process; train the sampler and integrate (VEGAS today);
    generate unweighted events against a maximum fixed from a pilot sample;
    write ``events_name`` (LHEF 3, with the nine scale-variation weights; ``header``
    as in :func:`prepare`), ``result.json``, PNG plots and the text ``files`` (name: text) into the
    output directory, and last its ``manifest.json`` (:mod:`mlgen.rundir`): the run is written under
    a staging name and given the directory's name whole, with its manifest, at the end (or when a
    hook fails, the events and result.json kept). A directory that holds another run is refused
    before any compute unless ``replace``; then it is replaced when this run is complete.
    ``command``: the command line to record (default: this process's).
    """
    from mlgen.hooks import HookError
    from mlgen.rundir import RunDirectory

    final = Path(card.run.output_dir or f"runs/{Path(card.source).stem or 'run'}")
    directory = RunDirectory(final, replace)  # a used, foreign or unwritable destination: refused here
    try:
        for name, text in (files or {}).items():
            (directory.path / name).write_text(text)
        out = _run_into(directory.path, final, card, progress, log, events_name, header, command)
    except HookError:
        directory.commit(provenance(card, command))  # the events and result.json written before it are kept
        raise
    except BaseException:
        directory.abort()
        raise
    directory.commit(provenance(card, command))
    return out


def provenance(card: Card, command: list[str] | None = None) -> dict[str, Any]:
    """What made a run: mlgen's and its libraries' versions, the command line, the effective card (after
    every override, with the seed) and the SHA-256 of the files it names (the card, a loaded sampler,
    hook files)."""
    import platform
    import sys

    from mlgen.rundir import file_sha256

    named = [card.source, card.integrator.load] if card.source else [card.integrator.load]
    base = Path(card.source).parent if card.source else Path(".")
    named += [str(base / h.step.split(":")[0]) for h in card.hooks if ".py:" in h.step]
    inputs = {str(p): file_sha256(p) for p in named if p and Path(p).is_file()}
    return {
        "mlgen_version": mlgen.__version__,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "command": command if command is not None else sys.argv,
        "seed": card.run.seed,
        "card": json.loads(json.dumps(asdict(card), default=str)),
        "inputs": inputs,
    }


def _run_into(
    out_dir: Path,
    final: Path,
    card: Card,
    progress: bool,
    log: Callable[[str], None] | None,
    events_name: str,
    header: str | None,
    command: list[str] | None,
) -> dict[str, Any]:
    """:func:`run_card`'s work, written into ``out_dir``; the paths it records are under ``final``."""
    from mlgen.lhe import LHEWriter

    say = log or (lambda _msg: None)
    plots_wanted = card.run.plots and plotting_available()
    if card.run.plots and not plots_wanted:  # said before the compute, not found after it
        say("plots: skipped, the plot extra is not installed (pip install 'mlgen[plot]'; run.plots = false)")
    prepared = prepare(card, log=log, header=header, progress=progress, command=command)
    process, result, run_info, device = prepared.process, prepared.result, prepared.run_info, prepared.device
    timings = prepared.timings
    sigma, sigma_err = float(result.mean), float(result.sdev)
    n_events = card.events.n
    t0 = time.perf_counter()
    bar = _progress_bar(n_events, progress, "events")
    batches: list[EventBatch] = []
    report = None
    for batch, report in event_stream(prepared, n_events, bar):  # noqa: B007 (the last report is the run's)
        batches.append(batch)
    _close(bar)
    timings["generation_s"] = time.perf_counter() - t0
    assert report is not None
    events = EventBatch.concat(batches) if batches else None
    lhe_path = out_dir / events_name
    if events is not None and len(events):
        if card.events.unweight != "none":
            scale_to_pb = normalise_unweighted(events.weight, sigma) / events.weight
            events.weight = events.weight * scale_to_pb
            if events.extra_weights is not None:
                events.extra_weights = events.extra_weights * scale_to_pb[:, None]
        else:  # weighted events: XMAXUP is the largest |weight| (signed for interference terms)
            line = replace(run_info.processes[0], xmax_pb=float(events.weight.abs().max()))
            run_info = replace(run_info, processes=(line,))
        t0 = time.perf_counter()
        with LHEWriter(lhe_path, run_info) as writer:
            writer.write(events.to("cpu"))
        timings["lhe_write_s"] = time.perf_counter() - t0
    save_sampler(prepared.sampler, out_dir / "sampler.pt", prepared.trained_on)
    sampler_file = str(final / "sampler.pt")
    plots: list[str] = []
    out = {
        "mlgen_version": mlgen.__version__,
        "card": card.source,
        "process": process.name,
        "sigma_pb": sigma,
        "sigma_err_pb": sigma_err,
        "physics": prepared.physics,
        "integration": result.to_dict(),
        "generation": report.to_dict(),
        "n_events": 0 if events is None else len(events),
        "events_file": str(final / events_name) if events is not None else None,
        "sampler_file": sampler_file,
        "warning": result.flags.get("warning"),
        "plots": plots,
        "timings": timings,
        "device": str(device),
        "seed": card.run.seed,
        "output_dir": str(final),
        "card_effective": json.loads(json.dumps(asdict(card), default=str)),
    }
    if card.run.subprocesses:
        t0 = time.perf_counter()
        out["subprocesses"] = _subprocesses(prepared, sigma, sigma_err, say)
        timings["subprocesses_s"] = time.perf_counter() - t0
    if events is not None and len(events):
        out["asymmetries"] = _asymmetries(events, say)
    write_text(out_dir / "result.json", json.dumps(out, indent=2, default=float))
    if plots_wanted and events is not None and len(events):
        # after result.json: a plotting failure costs the plots, never the run's numbers
        t0 = time.perf_counter()
        try:
            from mlgen.plots import plot_run

            written = plot_run(
                events.to("cpu"), np.asarray(report.weights), out_dir / "plots", title=process.name
            )
            out["plots"] = [str(final / Path(path).relative_to(out_dir)) for path in written]
            timings["plots_s"] = time.perf_counter() - t0
        except Exception as err:  # noqa: BLE001 - any plotting error; the run's results stand
            out["plots_error"] = f"{type(err).__name__}: {err}"
            say(f"plots: failed ({out['plots_error']}); the events and result.json are written")
        write_text(out_dir / "result.json", json.dumps(out, indent=2, default=float))
    say(
        f"sigma = {format_measured(sigma, sigma_err, 'pb')}; "
        f"{_describe_events(card, report, out['n_events'])} -> {final}"
    )
    if out["warning"]:
        say(f"WARNING: {out['warning']}")
    if card.hooks:
        from mlgen.hooks import HookContext, run_hooks

        def record(entries: list[dict[str, Any]]) -> None:
            out["hooks"] = entries
            write_text(out_dir / "result.json", json.dumps(out, indent=2, default=str))

        context = HookContext(
            events_file=lhe_path if lhe_path.exists() else None,
            events=None if events is None else events.to("cpu"),
            result=out,
            output_dir=out_dir,
            seed=prepared.hooks_seed,
        )
        run_hooks(
            [(h.step, h.options) for h in card.hooks],
            context,
            record,
            base_dir=Path(card.source).parent if card.source else None,
            log=log,
        )
    return out


def _subprocesses(
    prepared: Prepared, sigma: float, sigma_err: float, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Each initial state's sigma (:mod:`mlgen.subprocesses`), said in one line, JSON-ready."""
    process = cast(Process, getattr(prepared.process, "process", prepared.process))
    pdgs = [sub.pdg for sub in process.matrix_element.subprocesses]
    if len(pdgs) == 1:
        return [SubprocessSigma(pdg_label(pdgs[0]), (tuple(pdgs[0]),), sigma, sigma_err).to_dict()]
    # a stream of its own, after the events' (which it leaves as they were)
    generator = torch_generator(prepared.events_seed.spawn(1)[0], prepared.device)
    n = prepared.card.integrator.n_per_iter
    found = subprocess_cross_sections(
        prepared.process, prepared.sampler, pdgs, n, generator, prepared.card.events.batch_size
    )
    found = [s for s in found if s.sigma_pb != 0 or s.sigma_err_pb != 0]  # not those process.only left out
    shown = ", ".join(f"{s.label}: {format_measured(s.sigma_pb, s.sigma_err_pb, 'pb')}" for s in found[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    say(f"by initial state ({n} points; result.json: subprocesses): {shown}{more}")
    return [s.to_dict() for s in found]


def _asymmetries(events: EventBatch, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The events' asymmetries (:mod:`mlgen.asymmetries`), each said in one line, JSON-ready."""
    found = asymmetries(events.to("cpu"))
    for a in found:
        say(f"{a.name} = {format_measured(a.value, a.error)} ({a.definition}; {a.n_events} events)")
    return [a.to_dict() for a in found]


def plotting_available() -> bool:
    """Whether the plot extra (matplotlib, hist, mplhep) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("matplotlib", "hist", "mplhep"))


def _describe_events(card: Card, report: Any, n_events: int) -> str:
    """What the events are, in words: unweighted against which maximum, or weighted."""
    if card.events.unweight == "none":
        return f"{n_events} weighted events (not unweighted: a weight per event, in pb; efficiency 1)"
    text = f"{n_events} unweighted events (efficiency {report.efficiency:.3g}, w_max {report.w_max_pb:.4g} pb"
    if card.events.unweight == "reduced" and report.overweight_fraction == 0:
        text += ", a reduced maximum that no weight of the sample exceeded"
    elif card.events.unweight == "reduced":
        text += (
            f", a reduced maximum: the weights above it carry {format_share(report.overweight_fraction)} "
            f"of sigma, kept as {report.n_overweight} events of weight above 1"
        )
    return text + ")"


def _progress_bar(total: int, enabled: bool, unit: str) -> Callable[[int], None] | None:
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, leave=False)

    def update(done: int) -> None:
        bar.update(min(done, total) - bar.n)

    update.bar = bar  # type: ignore[attr-defined]
    return update


def _close(update: Callable[[int], None] | None) -> None:
    if update is not None:
        update.bar.close()  # type: ignore[attr-defined]
