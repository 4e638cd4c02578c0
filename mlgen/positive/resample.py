"""``make_positive``: a signed-weight sample in, positive (weighted or unweighted) events out, with a report.

Inside, weights are pb per event (:mod:`mlgen.lhe.weights` reads either
convention of the input). The output follows mlgen's files: weighted events with the mean convention
(IDWTUP 4, or -4 if negative weights remain), unweighted ones with weights
``sigma / N`` that sum to sigma (IDWTUP 3).

Methods: ``cell`` (:mod:`mlgen.resample.cell`), ``neural``
(:mod:`mlgen.positive.neural`), and ``gan``: the neural step's positive
weights, then the weighted GAN of :mod:`mlgen.gan.amplify` trained on them
(arXiv:2012.07873) and sampled for unweighted events — as good as the
amplification GAN is (measure it with ``mlgen compare``).
"""

from __future__ import annotations

__all__ = ["METHODS", "PositiveConfig", "make_positive", "unweight"]

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.gan.amplify import AmplifyConfig, amplify
from mlgen.gan.refine import RefineConfig
from mlgen.lhe.weights import per_event_pb
from mlgen.positive.neural import NeuralConfig, neural_resample
from mlgen.positive.summary import distortion, summarize
from mlgen.resample.cell import cell_resample
from mlgen.resample.classifier import ClassifierConfig
from mlgen.resample.embedding import TAU, embed_events

METHODS = ("cell", "neural", "gan")


@dataclass(frozen=True)
class PositiveConfig:
    """How to make a sample positive.

    Attributes:
        method: ``cell``, ``neural`` or ``gan``.
        max_cell_size: cell method: largest seed-to-member distance, GeV.
        cell_share: cell method: ``abs`` shares a cell's weight in proportion to ``|w|``, ``mean`` equally.
        tau: weight of pT differences in the event distance.
        jet_radius: anti-kT R for coloured partons in the event distance.
        unweight: hit-or-miss the positive weights into unweighted events (cell, neural).
        n_out: events to generate (gan; default: as many as the input).
        neural: classifier settings (neural, gan).
        epochs: generator epochs (gan; the held-out likelihood picks the best).
        refine: gan: keep the generator's events by a classifier's density ratio against the
            positive weighted sample (:mod:`mlgen.gan.refine`).
        seed: randomness of training and of the hit-or-miss.
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
        if self.refine and self.method != "gan":
            raise ValueError(
                f"refine: refines a generator's events, for method gan only (got {self.method!r})"
            )
        if self.n_out is not None and self.n_out < 1:
            raise ValueError(f"n_out: expected at least one event, got {self.n_out}")


def unweight(batch: EventBatch, w_pb: np.ndarray, rng: np.random.Generator) -> EventBatch:
    """Hit-or-miss against the largest weight; kept events carry ``sigma / N_kept`` (they sum to sigma)."""
    if (w_pb < 0).any():
        raise ValueError(
            f"{int((w_pb < 0).sum())} events keep a negative weight: cannot unweight them "
            "(raise the maximum cell size, or write weighted events)"
        )
    keep = rng.random(len(w_pb)) < w_pb / w_pb.max()
    out = batch[torch.as_tensor(keep, device=batch.device)]
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


def _sigma_error(method: str, report: dict[str, Any], w_kept: np.ndarray, n_in: int) -> float:
    """The error of the treated sample's sigma: the information the input had, not ``std / sqrt(N)``.

    Cell resampling keeps the sum of weights exactly, the neural weights are scaled to it: both
    carry the input's error (``std / sqrt(N)`` of averaged weights would understate it: members of
    a cell are correlated). The GAN's events carry the error of its weighted stage: the variance of
    the sum over the input's ``N`` events of the new weight (0 for a dropped event).
    """
    if method in ("cell", "neural"):
        # both keep the input's sigma (cells exactly, the neural weights by their final scale)
        return float(report["before"]["error_pb"])
    # w_kept: mean convention over the kept events, i.e. (new weight) N_kept / N
    per_input_event = w_kept * n_in / max(len(w_kept), 1)
    second = float((per_input_event**2).sum()) / n_in
    sigma = float(per_input_event.sum()) / n_in
    return math.sqrt(max(second - sigma**2, 0.0) / n_in)


def _warnings(report: dict[str, Any]) -> list[str]:
    """What the user must not miss: weights left negative, cross section dropped, shapes moved."""
    out = []
    after, before = report["after"], report["before"]
    if after["r_minus"] > 0:
        out.append(
            f"{after['r_minus']:.2%} of the events keep a negative weight (cells capped by the maximum size)"
        )
    neural = report.get("neural")
    if neural:
        dropped = neural["nonpositive_r_sigma_pb"]
        if dropped > 2 * before["error_pb"]:
            out.append(
                f"the net cross section is negative where {neural['nonpositive_r_fraction']:.1%} of the "
                f"events are ({dropped:.4g} pb, {dropped / before['error_pb']:.1f} times the input's error);"
                " those events were dropped: sigma and the shapes there are biased (cells keep them)"
            )
    if neural and abs(neural["sigma_network_pull"]) > 3:
        out.append(
            f"the network's total is {neural['sigma_network_pull']:+.1f} sigma off the input's "
            "(the calibrated network keeps the total, so: the dropped region, or a rare fluctuation of "
            "the thinning): the output is scaled to the input's sigma, shapes may carry it too"
        )
    refined = report.get("gan", {}).get("refine")
    if refined and refined["warning"]:
        out.append(refined["warning"])
    moved = [k for k, v in report["distortion"].items() if v["chi2_ndf"] > 2]
    if moved:
        out.append(
            "distributions moved beyond the input's errors (chi2/ndf > 2): "
            + ", ".join(sorted(moved))
            + " (for an observable that is not infrared safe, e.g. a parton multiplicity, that is expected)"
        )
    return out


def make_positive(
    batch: EventBatch, info: RunInfo, config: PositiveConfig = PositiveConfig()
) -> tuple[EventBatch, RunInfo, dict[str, Any]]:
    """Treat a signed-weight sample; returns the events, their run info and the report.

    The report holds the input's and the output's :class:`~mlgen.positive.summary.WeightSummary`,
    the method's own figures, the distortion of every observable, and the wall time.
    """
    config.validate()
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    w_pb, convention = per_event_pb(info, batch)
    extra = None
    if batch.extra_weights is not None:
        extra = batch.extra_weights.detach().cpu().double().numpy() * (
            len(w_pb) if convention == "sum" else 1
        )
    mean_batch = _with_weights(batch, w_pb)
    points = embed_events(batch, tau=config.tau, jet_radius=config.jet_radius)
    report: dict[str, Any] = {"method": config.method, "input_convention": convention}
    unweighted = config.unweight or config.method == "gan"
    if config.method == "cell":
        cells = cell_resample(
            w_pb,
            points,
            extra=extra,
            max_cell_size=config.max_cell_size,
            proportional=config.cell_share == "abs",
        )
        report["cells"] = cells.to_dict()
        out = _with_weights(batch, cells.weights, cells.extra)
    else:
        res = neural_resample(points, w_pb, config.neural, device=config.device, generator=rng)
        report["neural"] = res.to_dict()
        kept = batch[torch.as_tensor(res.keep, device=batch.device)]
        # The calibrated classifier keeps the smoothed total exactly; the thinned one differs from it
        # by the thinning's noise (about the input's error). sigma is the input's, so the weights
        # are scaled to it; the network's own total and its pull stay in the report.
        network = float(res.weights.sum()) / len(w_pb)
        sigma_in = float(w_pb.mean())
        error_in = float(w_pb.std(ddof=1)) / math.sqrt(len(w_pb))
        report["neural"] |= {
            "sigma_network_pb": network,
            "sigma_network_pull": (network - sigma_in) / error_in,
        }
        scale = sigma_in / network if network > 0 else 1.0
        # mean convention over the kept subset: times N_kept / N
        out = _with_weights(kept, res.weights * scale * len(kept) / len(w_pb))
        out.extra_weights = None
    w_out = out.weight.cpu().numpy()
    report["weighted"] = summarize(w_out).to_dict()
    if config.method == "gan":
        n_out = config.n_out or len(batch)
        refine = RefineConfig(classifier=ClassifierConfig(seed=config.seed)) if config.refine else None
        out, gan_report = amplify(
            out,
            info,
            n_out,
            config=AmplifyConfig(epochs=config.epochs, seed=config.seed),
            device=config.device,
            refine=refine,
        )
        # amplify normalises to the <init> cross section; the positive sample's own is the right one
        out.weight = torch.full_like(out.weight, float(w_out.mean()) / len(out))
        report["gan"] = {k: v for k, v in gan_report.items() if k != "groups"}
    elif config.unweight:
        out = unweight(out, w_out, rng)
    after = out.weight.cpu().numpy() * (len(out) if unweighted else 1)
    report["before"] = summarize(w_pb).to_dict()
    report["after"] = summarize(after).to_dict()
    report["after"]["naive_error_pb"] = report["after"]["error_pb"]
    report["after"]["error_pb"] = _sigma_error(config.method, report, w_out, len(w_pb))
    report["distortion"] = distortion(
        mean_batch, _with_weights(out, after), same_events=config.method == "cell" and not unweighted
    )
    report["warnings"] = _warnings(report)
    report["seconds"] = time.perf_counter() - start
    naive = report["after"]["naive_error_pb"]
    if config.method == "cell" and info.processes and info.xsec_pb > 0:
        lines = info.processes  # every process keeps its sum of weights: the input's <init> stays true
    else:
        lines = _process_lines(out, after, info, report["after"]["error_pb"] / naive if naive > 0 else 1.0)
    run_info = dataclasses.replace(
        info,
        weight_strategy=3 if unweighted else (4 if (after >= 0).all() else -4),
        processes=lines,
        weights=info.weights if out.extra_weights is not None else (),
        generator=(f"mlgen positive --method {config.method}", info.generator[1]),
    )
    return out, run_info, report
