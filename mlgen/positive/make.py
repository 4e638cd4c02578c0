"""``make_positive``: a signed-weight sample in, positive (weighted or unweighted) events out, with a report.

Inside, weights are pb per event (:mod:`mlgen.lhe.weights` reads either
convention of the input). The output follows mlgen's files: weighted events with the mean convention
(IDWTUP 4, or -4 if negative weights remain), unweighted ones with weights
``sigma / N`` that sum to sigma (IDWTUP 3).

Methods: ``cell`` (:mod:`mlgen.resample.cell`), ``neural``
(:mod:`mlgen.positive.neural`), and ``flow``: the neural step's positive
weights, then the amplification's flow (:mod:`mlgen.generative.amplify`) trained on
them by weighted likelihood (the weighted training of arXiv:2012.07873) and sampled
for unweighted events — as good as the amplification's generator is (measure it with
``mlgen compare``). ``gan`` was this method's name before it was named for what it is
(:data:`RENAMED`).
"""

from __future__ import annotations

__all__ = ["METHODS", "RENAMED", "PositiveConfig", "PositiveReport", "make_positive", "unweight"]

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generative.amplify import AmplifyReport, amplify
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.refine import RefineConfig
from mlgen.lhe.passthrough import account_for_dropped
from mlgen.lhe.weights import per_event_pb, process_lines
from mlgen.positive.neural import NeuralConfig, neural_resample
from mlgen.positive.summary import WeightSummary, distortion, summarize
from mlgen.resample.cell import cell_resample
from mlgen.resample.classifier import ClassifierConfig
from mlgen.resample.embedding import TAU, embed_events
from mlgen.seeds import as_seed_sequence, numpy_rng, torch_generator
from mlgen.unweight import hit_or_miss

METHODS = ("cell", "neural", "flow")
#: Former method names and the names they now have (accepted by the command for one release).
RENAMED = {"gan": "flow"}


@dataclass(frozen=True)
class PositiveConfig:
    """How to make a sample positive.

    Attributes:
        method: ``cell``, ``neural`` or ``flow`` (:data:`METHODS`).
        max_cell_size: cell method: largest seed-to-member distance, GeV.
        cell_share: cell method: ``abs`` shares a cell's weight in proportion to ``|w|``, ``mean`` equally.
        tau: weight of pT differences in the event distance.
        jet_radius: anti-kT R for coloured partons in the event distance.
        unweight: hit-or-miss the positive weights into unweighted events (cell, neural).
        n_out: events to generate (flow; default: as many as the input).
        neural: classifier settings (neural, flow).
        epochs: generator epochs (flow; the held-out likelihood picks the best).
        refine: flow: keep the generator's events by a classifier's density ratio against the
            positive weighted sample (:mod:`mlgen.generative.refine`).
        seed: the root of the random streams (:mod:`mlgen.seeds`): the classifier, the flow and the
            hit-or-miss each take a child.
        device: where the networks train.
    """

    method: str = "cell"
    max_cell_size: float = math.inf
    cell_share: str = "abs"
    tau: float = TAU
    jet_radius: float = 0.4
    unweight: bool = False
    n_out: int | None = None
    neural: NeuralConfig = field(default_factory=NeuralConfig)
    epochs: int = 60
    refine: bool = False
    seed: int = 1
    device: str = "cpu"

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {self.method!r}")
        if not self.max_cell_size > 0:
            raise ValueError(f"max_cell_size: expected a distance > 0 in GeV, got {self.max_cell_size}")
        if self.cell_share not in ("abs", "mean"):
            raise ValueError(f"cell_share: expected abs or mean, got {self.cell_share!r}")
        if self.refine and self.method != "flow":
            raise ValueError(
                f"refine: refines a generator's events, for method flow only (got {self.method!r})"
            )
        if self.n_out is not None and self.n_out < 1:
            raise ValueError(f"n_out: expected at least one event, got {self.n_out}")


def unweight(batch: EventBatch, w_pb: np.ndarray, generator: torch.Generator) -> EventBatch:
    """Hit-or-miss against the largest weight (:func:`mlgen.unweight.hit_or_miss`); kept events carry
    ``sigma / N_kept`` (they sum to sigma)."""
    if (w_pb < 0).any():
        raise ValueError(
            f"{int((w_pb < 0).sum())} events keep a negative weight: cannot unweight them "
            "(raise the maximum cell size, or write weighted events)"
        )
    keep, _ = hit_or_miss(torch.as_tensor(w_pb), float(w_pb.max()), generator)
    out = batch[keep.to(batch.device)]
    sigma = float(w_pb.mean())
    out.weight = torch.full((len(out),), sigma / max(len(out), 1), dtype=torch.float64, device=batch.device)
    if out.extra_weights is not None:
        # each variation keeps its ratio to the central weight (a kept event has w > 0)
        ratio = out.extra_weights / torch.as_tensor(w_pb, device=batch.device)[keep.to(batch.device), None]
        out.extra_weights = ratio * out.weight[:, None]
    return out


def _with_weights(batch: EventBatch, w: np.ndarray, extra: np.ndarray | None = None) -> EventBatch:
    out = dataclasses.replace(batch, weight=torch.as_tensor(w, dtype=torch.float64, device=batch.device))
    if extra is not None:
        out.extra_weights = torch.as_tensor(extra, dtype=torch.float64, device=batch.device)
    return out


@dataclass(frozen=True)
class PositiveReport:
    """What :func:`make_positive` did: the input's weight convention, the weights before, after the
    method's weighted step and at the end (:class:`~mlgen.positive.summary.WeightSummary`; ``after``'s
    ``error_pb`` is the information the input had, ``after_naive_error_pb`` the sample's own
    ``std / sqrt(N)``), the cells' or the neural step's figures, the flow's report, the distortion of
    every observable, the warnings and the wall time."""

    method: str
    input_convention: str
    before: WeightSummary
    weighted: WeightSummary
    after: WeightSummary
    after_naive_error_pb: float
    distortion: dict[str, dict[str, float]]
    seconds: float
    warnings: tuple[str, ...] = ()
    cells: dict[str, float | int] | None = None
    neural: dict[str, Any] | None = None
    flow: AmplifyReport | None = None
    processes: dict[int, dict[str, float]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the keys of ``OUT.positive.json``; the flow's report also under its
        former key ``gan``)."""
        out: dict[str, Any] = {"method": self.method, "input_convention": self.input_convention}
        if self.cells is not None:
            out["cells"] = self.cells
        if self.neural is not None:
            out["neural"] = self.neural
        out["weighted"] = self.weighted.to_dict()
        if self.flow is not None:
            flow = {k: v for k, v in self.flow.to_json().items() if k != "groups"}
            out |= {"flow": flow, "gan": flow}
        after = self.after.to_dict() | {"naive_error_pb": self.after_naive_error_pb}
        out |= {"before": self.before.to_dict(), "after": after, "distortion": self.distortion}
        out["processes"] = {str(pid): row for pid, row in self.processes.items()}
        return out | {"warnings": list(self.warnings), "seconds": self.seconds}


def process_table(
    before: tuple[ProcessLine, ...], after: tuple[ProcessLine, ...]
) -> dict[int, dict[str, float]]:
    """Per process id: sigma and its error before and after (pb), and the pull of the change in
    units of the input's error."""
    old = {line.id: line for line in before}
    table = {}
    for line in after:
        ref = old.get(line.id, ProcessLine(0.0, 0.0, 0.0, line.id))
        pull = (line.xsec_pb - ref.xsec_pb) / ref.error_pb if ref.error_pb > 0 else math.nan
        table[line.id] = {
            "sigma_before_pb": ref.xsec_pb,
            "error_before_pb": ref.error_pb,
            "sigma_after_pb": line.xsec_pb,
            "error_after_pb": line.error_pb,
            "pull": pull,
        }
    return table


def _warnings(
    before: WeightSummary,
    after: WeightSummary,
    neural: dict[str, Any] | None,
    flow: AmplifyReport | None,
    moved: dict[str, dict[str, float]],
) -> list[str]:
    """What the user must not miss: weights left negative, cross section dropped, shapes moved."""
    out = []
    if after.r_minus > 0:
        out.append(
            f"{after.r_minus:.2%} of the events keep a negative weight (cells capped by the maximum size)"
        )
    if neural:
        dropped = neural["nonpositive_r_sigma_pb"]
        if dropped > 2 * before.error_pb:
            out.append(
                f"the net cross section is negative where {neural['nonpositive_r_fraction']:.1%} of the "
                f"events are ({dropped:.4g} pb, {dropped / before.error_pb:.1f} times the input's error);"
                " those events were dropped: sigma and the shapes there are biased (cells keep them)"
            )
    if neural and abs(neural["sigma_network_pull"]) > 3:
        out.append(
            f"the network's total is {neural['sigma_network_pull']:+.1f} sigma off the input's "
            "(the calibrated network keeps the total, so: the dropped region, or a rare fluctuation of "
            "the thinning): the output is scaled to the input's sigma, shapes may carry it too"
        )
    if flow is not None and flow.refine is not None:
        out += flow.refine.warnings
    names = [k for k, v in moved.items() if v["chi2_ndf"] > 2]
    if names:
        out.append(
            "distributions moved beyond the input's errors (chi2/ndf > 2): "
            + ", ".join(sorted(names))
            + " (for an observable that is not infrared safe, e.g. a parton multiplicity, that is expected)"
        )
    return out


def _cells_per_process(
    ids: np.ndarray, w_pb: np.ndarray, points: np.ndarray, extra: np.ndarray | None, config: PositiveConfig
) -> tuple[np.ndarray, np.ndarray | None, dict[str, float | int]]:
    """Cell resampling inside each process id (no weight moves between processes: each keeps its sum
    of weights exactly), the extra weights through the same cells; the cells' figures over all."""
    new_w = w_pb.copy()
    new_extra = None if extra is None else extra.copy()
    results = []
    for pid in np.unique(ids):
        mine = ids == pid
        result = cell_resample(
            w_pb[mine],
            points[mine],
            extra=None if extra is None else extra[mine],
            max_cell_size=config.max_cell_size,
            proportional=config.cell_share == "abs",
        )
        new_w[mine] = result.weights
        if new_extra is not None and result.extra is not None:
            new_extra[mine] = result.extra
        results.append(result)
    n_cells = sum(r.n_cells for r in results)
    figures: dict[str, float | int] = {
        "n_cells": n_cells,
        "n_capped": sum(r.n_capped for r in results),
        # the processes' medians, by their numbers of cells: the median of all cells when they agree
        "median_radius_gev": float(sum(r.median_radius * r.n_cells for r in results) / max(n_cells, 1)),
        "max_radius_gev": max((r.max_radius for r in results), default=0.0),
        "mean_members": float(sum(r.mean_members * r.n_cells for r in results) / max(n_cells, 1)),
        "processes": len(results),
    }
    return new_w, new_extra, figures


def _neural_step(
    batch: EventBatch,
    ids: np.ndarray,
    points: np.ndarray,
    w_pb: np.ndarray,
    extra: np.ndarray | None,
    config: PositiveConfig,
    rng: np.random.Generator,
) -> tuple[EventBatch, dict[str, Any]]:
    """The neural method's weighted events (mean convention) and its figures.

    The network sees the process id (one column per process), and each process's new weights are
    scaled to its own input sigma, so no cross section moves between processes. The extra weights
    keep their ratio to the central weight, event by event.
    """
    present = np.unique(ids)
    if len(present) > 1:
        points = np.concatenate([points, (ids[:, None] == present[None, :]).astype(points.dtype)], axis=1)
    res = neural_resample(points, w_pb, config.neural, device=config.device, generator=rng)
    kept = batch[torch.as_tensor(res.keep, device=batch.device)]
    # The calibrated classifier keeps the smoothed total exactly; the thinned one differs from it
    # by the thinning's noise (about the input's error). sigma is the input's, so the weights
    # are scaled to it; the network's own total and its pull stay in the report.
    network = float(res.weights.sum()) / len(w_pb)
    sigma_in = float(w_pb.mean())
    error_in = float(w_pb.std(ddof=1)) / math.sqrt(len(w_pb))
    figures = res.to_dict() | {
        "sigma_network_pb": network,
        "sigma_network_pull": (network - sigma_in) / error_in,
    }
    # each process scaled to its own input sigma (the network's total is in the figures)
    new = res.weights.copy()
    kept_ids = ids[res.keep]
    for pid in present:
        mine = kept_ids == pid
        target, got = float(w_pb[ids == pid].sum()), float(new[mine].sum())
        if got > 0 and target > 0:
            new[mine] *= target / got
    # mean convention over the kept subset: times N_kept / N
    new = new * len(kept) / len(w_pb)
    out = _with_weights(kept, new)
    if extra is not None:
        old = w_pb[res.keep]
        safe = old != 0
        out.extra_weights = None
        if safe.all():
            out.extra_weights = torch.as_tensor(
                extra[res.keep] / old[:, None] * new[:, None], device=batch.device
            )
    return out, figures


def make_positive(
    batch: EventBatch, info: RunInfo, config: PositiveConfig = PositiveConfig()
) -> tuple[EventBatch, RunInfo, PositiveReport]:
    """Treat a signed-weight sample; returns the events, their run info and a :class:`PositiveReport`."""
    config.validate()
    start = time.perf_counter()
    neural_seed, flow_seed, unweight_seed = as_seed_sequence(config.seed).spawn(3)
    w_pb, convention = per_event_pb(info, batch)
    extra = None
    if batch.extra_weights is not None:
        extra = batch.extra_weights.detach().cpu().double().numpy() * (
            len(w_pb) if convention == "sum" else 1
        )
    mean_batch = _with_weights(batch, w_pb)
    points = embed_events(batch, tau=config.tau, jet_radius=config.jet_radius)
    unweighted = config.unweight or config.method == "flow"
    cells = neural = None
    ids = batch.process_id.cpu().numpy()
    if config.method == "cell":
        new_w, new_extra, cells = _cells_per_process(ids, w_pb, points, extra, config)
        out = _with_weights(batch, new_w, new_extra)
    else:
        out, neural = _neural_step(batch, ids, points, w_pb, extra, config, numpy_rng(neural_seed))
    w_out = out.weight.cpu().numpy()
    flow = None
    if config.method == "flow":
        refine = RefineConfig(classifier=ClassifierConfig(seed=config.seed)) if config.refine else None
        amplified = AmplifyConfig(epochs=config.epochs, seed=config.seed)
        n_out = config.n_out or len(batch)
        out, flow = amplify(
            out, info, n_out, config=amplified, device=config.device, refine=refine, seed=flow_seed
        )
        # amplify normalises to the <init> cross section; the positive sample's own is the right one
        out.weight = torch.full_like(out.weight, float(w_out.mean()) / len(out))
    elif config.unweight:
        out = unweight(out, w_out, torch_generator(unweight_seed))
    after = out.weight.cpu().numpy() * (len(out) if unweighted else 1)
    before, after_summary = summarize(w_pb), summarize(after)
    # every process's <init> line from the output's own weights; its error never below what the
    # input knew (cells and the neural weights correlate events, generated events add none)
    ids_out = out.process_id.cpu().numpy()
    lines = process_lines(
        ids_out,
        after,
        unweighted=unweighted,
        known=tuple(p.id for p in info.processes),
        errors_from=(ids, w_pb),
    )
    lines_before = process_lines(ids, w_pb, unweighted=False)
    honest = math.sqrt(sum(line.error_pb**2 for line in lines))
    moved = distortion(
        mean_batch, _with_weights(out, after), same_events=config.method == "cell" and not unweighted
    )
    run_info = dataclasses.replace(
        info,
        weight_strategy=3 if unweighted else (4 if (after >= 0).all() else -4),
        processes=lines,
        generator=(f"mlgen positive --method {config.method}", info.generator[1]),
    )
    run_info, dropped = account_for_dropped(run_info, batch, out, f"positive --method {config.method}")
    report = PositiveReport(
        method=config.method,
        input_convention=convention,
        before=before,
        weighted=summarize(w_out),
        after=dataclasses.replace(after_summary, error_pb=honest),
        after_naive_error_pb=after_summary.error_pb,
        distortion=moved,
        seconds=time.perf_counter() - start,
        warnings=tuple(_warnings(before, after_summary, neural, flow, moved) + dropped),
        cells=cells,
        neural=neural,
        flow=flow,
        processes=process_table(lines_before, lines),
    )
    return out, run_info, report
