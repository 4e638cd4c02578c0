"""``mlgen run``: a card in, a cross section, unweighted LHE events, result.json and plots out."""

from __future__ import annotations

__all__ = ["Prepared", "event_stream", "flow_settings", "prepare", "run_card", "slha_text"]

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

import mlgen
from mlgen.atomic import write_text
from mlgen.cards.schema import Card
from mlgen.device import resolve_device
from mlgen.events import EventBatch, ProcessLine, RunInfo, WeightInfo
from mlgen.generate import EventSource, generate_unweighted, normalise_unweighted
from mlgen.integrate import nis
from mlgen.integrate.base import Sampler
from mlgen.integrate.kinds import INTEGRATORS, Integrator
from mlgen.integrate.loop import integrate
from mlgen.integrate.nis import FlowSettings
from mlgen.integrate.persist import load_sampler, save_sampler
from mlgen.integrate.result import IntegrationResult
from mlgen.physics.slha import format_slha
from mlgen.process.build import build_process
from mlgen.process.channels import MultiChannelProcess
from mlgen.process.process import SCALE_FACTORS, Process
from mlgen.seeds import SeedLike, as_seed_sequence, torch_generator


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


def _load(card: Card, device: torch.device) -> tuple[type[Integrator], Sampler, Path]:
    """The saved sampler that ``integrator.load`` names, with its kind."""
    assert card.integrator.load is not None
    path = Path(card.integrator.load)
    if not path.is_absolute() and card.source:
        # relative to the card, as a user writing the card next to a run directory expects
        near_card = Path(card.source).parent / path
        path = near_card if near_card.exists() or not path.exists() else path
    try:
        kind, sampler = load_sampler(path, device)
    except (OSError, ValueError) as err:
        raise ValueError(f"{card.source}: integrator.load: {err}") from None
    return INTEGRATORS[kind], sampler, path


def _integrate(
    process: Process, card: Card, device: torch.device, seed: SeedLike
) -> tuple[IntegrationResult, Sampler, EventSource]:
    """Fit the sampler the card asks for (or load a saved one) and integrate.

    Returns ``(result, sampler, source)``: ``source`` is what the sampler's points are points
    of, the process itself or, for a kind that uses channels, its channel sum on the extended cube.
    """
    cfg = card.integrator
    if cfg.load is None:
        kind = INTEGRATORS[cfg.kind]
        channels = MultiChannelProcess(process) if kind.uses_channels else None
        integrator = kind.from_options(asdict(cfg.flow))
        result, sampler = integrator.fit(
            process, process.dim, cfg.budget, seed, device=device, channels=channels
        )
        return result, sampler, _source(kind, process, sampler)
    kind, sampler, path = _load(card, device)
    source = _source(kind, process, sampler)
    if sampler.dim != source.dim:
        raise ValueError(
            f"{card.source}: integrator.load: {path} samples {sampler.dim} dimensions, "
            f"the process needs {source.dim}"
        )
    generator = torch_generator(seed, device)
    result = integrate(source, sampler, n_iter=cfg.n_iter, n_per_iter=cfg.n_per_iter, generator=generator)
    result.flags["loaded_from"] = str(path)
    return result, sampler, source


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


def prepare(card: Card, *, log: Callable[[str], None] | None = print, header: str | None = None) -> Prepared:
    """Build the card's process, train the sampler, integrate, and fill the run information.

    ``header`` replaces the LHE header's default blocks (the card and an ``<slha>`` of the run's
    masses and widths): a MadEvent banner for a MadGraph5 process directory."""
    say = log or (lambda _msg: None)
    device = resolve_device(card.run.device)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    process = build_process(card, device)
    timings["setup_s"] = time.perf_counter() - t0
    # the run's own streams first, then the integration's from the root: every stream fixed by the seed
    root = as_seed_sequence(card.run.seed)
    events_seed, hooks_seed = root.spawn(2)
    t0 = time.perf_counter()
    result, sampler, source = _integrate(process, card, device, root)
    timings["integration_s"] = time.perf_counter() - t0
    say(result.summary())
    sigma, sigma_err = float(result.mean), float(result.sdev)
    pdf_id = int(getattr(process.pdf, "lhapdf_id", 0) or 0) if process.pdf is not None else 0
    card_text = Path(card.source).read_text() if card.source and Path(card.source).is_file() else ""
    run_info = RunInfo(
        beam_ids=process.beams,
        beam_energies=(card.beams.sqrt_s / 2, card.beams.sqrt_s / 2),
        pdf_group=(0, 0),
        pdf_set=(pdf_id, pdf_id),
        weight_strategy=3 if card.events.unweight != "none" else -4,
        processes=(ProcessLine(xsec_pb=sigma, error_pb=sigma_err, xmax_pb=sigma, id=1),),
        generator=("mlgen", mlgen.__version__),
        weights=_weight_infos() if card.scales.variations else (),
        header=header
        if header is not None
        else f'<mlgen_card source="{card.source}">\n<![CDATA[\n{card_text}]]>\n</mlgen_card>\n'
        + f"<slha>\n{slha_text(process.matrix_element)}</slha>",
    )
    return Prepared(card, source, result, sampler, run_info, device, events_seed, hooks_seed, timings)


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
) -> dict[str, Any]:
    """Run a card end to end and return what ``result.json`` holds.

    Steps: build the process; train the sampler and integrate (VEGAS today);
    generate unweighted events against a maximum fixed from a pilot sample;
    write ``events_name`` (LHEF 3, with the nine scale-variation weights; ``header``
    as in :func:`prepare`), ``result.json`` and PNG plots into the output directory.
    """
    from mlgen.lhe import LHEWriter

    say = log or (lambda _msg: None)
    out_dir = Path(card.run.output_dir or f"runs/{Path(card.source).stem or 'run'}")
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = prepare(card, log=log, header=header)
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
    sampler_file = str(save_sampler(prepared.sampler, out_dir / "sampler.pt"))
    plots: list[str] = []
    if card.run.plots and events is not None and len(events):
        from mlgen.plots import plot_run

        t0 = time.perf_counter()
        import numpy as np

        weighted = np.asarray(report.weights)
        plots = [str(p) for p in plot_run(events.to("cpu"), weighted, out_dir / "plots", title=process.name)]
        timings["plots_s"] = time.perf_counter() - t0
    out = {
        "mlgen_version": mlgen.__version__,
        "card": card.source,
        "process": process.name,
        "sigma_pb": sigma,
        "sigma_err_pb": sigma_err,
        "integration": result.to_dict(),
        "generation": report.to_dict(),
        "n_events": 0 if events is None else len(events),
        "events_file": str(lhe_path) if events is not None else None,
        "sampler_file": sampler_file,
        "warning": result.flags.get("warning"),
        "plots": plots,
        "timings": timings,
        "device": str(device),
        "seed": card.run.seed,
    }
    write_text(out_dir / "result.json", json.dumps(out, indent=2, default=float))
    say(
        f"sigma = {sigma:.6g} +- {sigma_err:.3g} pb; {out['n_events']} unweighted events "
        f"(efficiency {report.efficiency:.3g}, w_max {report.w_max_pb:.4g} pb, "
        f"{report.n_overweight} overweights carrying {report.overweight_fraction:.2e} of sigma) -> {out_dir}"
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
