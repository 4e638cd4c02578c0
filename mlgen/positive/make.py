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
from mlgen.lhe.weights import per_event_pb
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
    out.extra_weights = None
    return out


def _with_weights(batch: EventBatch, w: np.ndarray, extra: np.ndarray | None = None) -> EventBatch:
    out = dataclasses.replace(batch, weight=torch.as_tensor(w, dtype=torch.float64, device=batch.device))
    if extra is not None:
        out.extra_weights = torch.as_tensor(extra, dtype=torch.float64, device=batch.device)
    return out


def _process_lines(
    events: EventBatch, w_pb: np.ndarray, info: RunInfo, error_scale: float
) -> tuple[ProcessLine, ...]:
    """One ``<init>`` line per process id of the input, with the treated sample's rate and error
    (``std / sqrt(N)`` times ``error_scale``)."""
    ids = events.process_id.cpu().numpy()
    known = [p.id for p in info.processes] or [1]
    lines = []
    for pid in sorted(set(known) | set(ids.tolist())):
        part = np.where(ids == pid, w_pb, 0.0)
        error = error_scale * float(part.std(ddof=1) / math.sqrt(len(part))) if len(part) > 1 else 0.0
        lines.append(ProcessLine(float(part.mean()), error, float(np.abs(part).max()), int(pid)))
    return tuple(lines)


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
        return out | {"warnings": list(self.warnings), "seconds": self.seconds}


def _sigma_error(method: str, before: WeightSummary, w_kept: np.ndarray, n_in: int) -> float:
    """The error of the treated sample's sigma: the information the input had, not ``std / sqrt(N)``.

    Cell resampling keeps the sum of weights exactly, the neural weights are scaled to it: both
    carry the input's error (``std / sqrt(N)`` of averaged weights would understate it: members of
    a cell are correlated). The flow's events carry the error of its weighted stage: the variance of
    the sum over the input's ``N`` events of the new weight (0 for a dropped event).
    """
    if method in ("cell", "neural"):
        # both keep the input's sigma (cells exactly, the neural weights by their final scale)
        return before.error_pb
    # w_kept: mean convention over the kept events, i.e. (new weight) N_kept / N
    per_input_event = w_kept * n_in / max(len(w_kept), 1)
    second = float((per_input_event**2).sum()) / n_in
    sigma = float(per_input_event.sum()) / n_in
    return math.sqrt(max(second - sigma**2, 0.0) / n_in)


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


def _neural_step(
    batch: EventBatch, points: np.ndarray, w_pb: np.ndarray, config: PositiveConfig, rng: np.random.Generator
) -> tuple[EventBatch, dict[str, Any]]:
    """The neural method's weighted events (mean convention) and its figures."""
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
    scale = sigma_in / network if network > 0 else 1.0
    # mean convention over the kept subset: times N_kept / N
    out = _with_weights(kept, res.weights * scale * len(kept) / len(w_pb))
    out.extra_weights = None
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
    if config.method == "cell":
        result = cell_resample(
            w_pb,
            points,
            extra=extra,
            max_cell_size=config.max_cell_size,
            proportional=config.cell_share == "abs",
        )
        cells = result.to_dict()
        out = _with_weights(batch, result.weights, result.extra)
    else:
        out, neural = _neural_step(batch, points, w_pb, config, numpy_rng(neural_seed))
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
    honest = _sigma_error(config.method, before, w_out, len(w_pb))
    moved = distortion(
        mean_batch, _with_weights(out, after), same_events=config.method == "cell" and not unweighted
    )
    report = PositiveReport(
        method=config.method,
        input_convention=convention,
        before=before,
        weighted=summarize(w_out),
        after=dataclasses.replace(after_summary, error_pb=honest),
        after_naive_error_pb=after_summary.error_pb,
        distortion=moved,
        seconds=time.perf_counter() - start,
        warnings=tuple(_warnings(before, after_summary, neural, flow, moved)),
        cells=cells,
        neural=neural,
        flow=flow,
    )
    naive = after_summary.error_pb
    if config.method == "cell" and info.processes and info.xsec_pb > 0:
        lines = info.processes  # every process keeps its sum of weights: the input's <init> stays true
    else:
        lines = _process_lines(out, after, info, honest / naive if naive > 0 else 1.0)
    run_info = dataclasses.replace(
        info,
        weight_strategy=3 if unweighted else (4 if (after >= 0).all() else -4),
        processes=lines,
        weights=info.weights if out.extra_weights is not None else (),
        generator=(f"mlgen positive --method {config.method}", info.generator[1]),
    )
    return out, run_info, report
