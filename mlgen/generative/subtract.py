"""Events of the difference B - S of two samples, with cross section sigma_B - sigma_S.

Two routes, one report:

* ``flow``: the subtraction generator of :mod:`mlgen.generative.mixture`
  (the likelihood form of the subtraction GAN of arXiv:1912.08824): flows
  ``q_S`` and ``q_D`` fitted to B and S as the mixture ``sigma_B p_B =
  sigma_S q_S + (sigma_B - sigma_S) q_D``, one per record layout, and ``q_D``
  sampled for as many unweighted events as asked, more than B holds if wanted.
* ``classifier`` (default: the more precise of the two on Drell-Yan, and its
  events are B's own, with no model error in their kinematics): a network
  trained to tell S from B, each event weighted by its share of its sample's
  cross section, learns ``D = sigma_S p_S / (sigma_S p_S + sigma_B p_B)``,
  hence the local ratio ``r(x) = D / (1 - D) = (dsigma_S / dsigma_B)(x)``. An
  event of B then carries ``w_B (1 - r)`` of the difference; where ``r``
  scatters above 1 by noise, cell resampling (:mod:`mlgen.resample.cell`)
  cancels the negative weights against neighbours, and hit-or-miss on the
  result keeps events of B (at most as many as B has). ``r`` at an event comes
  from the half of the data it was not trained on.

Both interpolate over neighbourhoods larger than a histogram bin, so where S is
nearly B the result fluctuates by far less than a binned subtraction's
``sqrt(N_B + N_S)``. The classifier runs in both routes: where B - S is really
negative (beyond ``max_cell_size``) its weights stay negative after the cells,
and that share of the cross section is reported, never dropped silently (a
mixture cannot represent it at all). The report compares it with a calibrated
null (:func:`_null_leftover`): the cells also leave negative weights where B - S
is positive but small, from the ratio's noise alone, so a fixed threshold either
cries wolf or misses a real negative region. On (gamma + Z) - gamma
Drell-Yan, B - S is negative where the interference wins (backward, large
|y_ll|, m_ll above 170 GeV): the exact ratio from the matrix elements leaves
-0.139 pb through the same cells, the classifier's -0.160 pb (-0.139 to
-0.147 with ``ClassifierConfig(folds=5, members=2)``; ``benchmarks/README.md``).
By default (``negative="drop"``) that part is not written and the output is a
positive sample, whose shape then misses it in any observable that integrates
over the region (cos theta*: chi2/ndf 3.77 against a direct sample);
``negative="keep"`` writes those events with negative weights, as an NLO
generator writes its counter-events (cos theta*: 1.01-1.81 over three seeds).

References:
    A. Butter, T. Plehn, R. Winterhalder, SciPost Phys. Core 3 (2020) 009, arXiv:1912.08824;
    A. Andreassen, B. Nachman, Phys. Rev. D 101 (2020) 091901, arXiv:1907.08209 (classifier ratios).
"""

from __future__ import annotations

__all__ = ["METHODS", "NEGATIVE", "ClassifierDifference", "SubtractLayout", "SubtractReport", "subtract"]

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree

from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.mixture import train_mixture
from mlgen.generative.model import GroupModel
from mlgen.generative.refine import RefineConfig, RefineReport
from mlgen.generative.refine import refine as refine_events
from mlgen.generative.representation import EventGroup, group_events
from mlgen.generative.sampling import layout_sampler
from mlgen.lhe.weights import per_event_pb
from mlgen.resample.cell import cell_resample
from mlgen.resample.classifier import ClassifierConfig, cross_fit
from mlgen.resample.embedding import embed_events, network_features
from mlgen.seeds import SeedLike, as_seed_sequence, numpy_rng, torch_generator
from mlgen.unweight import hit_or_miss

#: The routes: ``classifier`` (B's events kept by their share of B - S) and ``flow`` (a mixture of
#: flows, any number of events).
METHODS = ("classifier", "flow")
#: What becomes of B - S where it stays negative after the cells: ``drop`` writes a positive sample
#: (the negative part reported, not written); ``keep`` writes those events with negative weights, as
#: an NLO generator writes its counter-events, so the output carries B - S where it is negative too.
NEGATIVE = ("drop", "keep")


@dataclass(frozen=True)
class ClassifierDifference:
    """The classifier's B - S on B's events (pb): its integral, its negative part before and after
    the cells, the null hypothesis' leftovers (:func:`_null_leftover`), the cells and the epochs."""

    sigma_from_weights_pb: float
    negative_weights_sigma_pb: float
    negative_weights_fraction: float
    negative_after_cells_sigma_pb: float
    negative_after_cells_null_pb: tuple[float, ...]
    cells: dict[str, float | int]
    epochs_per_fold: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["negative_after_cells_null_pb"] = list(self.negative_after_cells_null_pb)
        out["epochs_per_fold"] = list(self.epochs_per_fold)
        return out


@dataclass
class SubtractLayout:
    """One record layout of B in the flow route; the training figures stay ``None`` where B - S
    has no positive part (no flow trained)."""

    layout: list[list[Any]]
    sigma_base_pb: float
    sigma_subtracted_pb: float
    n_base: int
    n_subtracted: int
    n_generated: int = 0
    alpha: float | None = None
    label_s_mean_over_base: float | None = None
    train_seconds: float | None = None
    best_epoch: int | None = None
    losses: list[tuple[float, float]] | None = None
    rejected: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class SubtractReport:
    """What :func:`subtract` did: sigma_B, sigma_S, sigma = sigma_B - sigma_S and its error (pb),
    the counting noise ``sqrt(N_B + N_S)`` of B - S as one bin, the classifier's difference, the
    flow route's layouts and refinement, the share written with negative weights (``keep``), the
    negative region beyond the null (pb), and the warnings."""

    method: str
    sigma_base_pb: float
    sigma_subtracted_pb: float
    sigma_pb: float
    error_pb: float
    counting_error_pb: float
    n_base: int
    n_subtracted: int
    n_out: int
    classifier: ClassifierDifference
    negative_region_pb: float
    seconds: float
    warnings: tuple[str, ...] = ()
    layouts: list[SubtractLayout] | None = None
    refine: RefineReport | None = None
    negative_written_fraction: float | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the keys of ``OUT.subtract.json``)."""
        out: dict[str, Any] = {
            "method": self.method,
            "sigma_base_pb": self.sigma_base_pb,
            "sigma_subtracted_pb": self.sigma_subtracted_pb,
            "sigma_pb": self.sigma_pb,
            "error_pb": self.error_pb,
            "counting_error_pb": self.counting_error_pb,
            "n_base": self.n_base,
            "n_subtracted": self.n_subtracted,
            "warnings": list(self.warnings),
        } | self.classifier.to_json()
        if self.layouts is not None:
            out["layouts"] = [layout.to_json() for layout in self.layouts]
        if self.refine is not None:
            out["refine"] = self.refine.to_json()
        if self.negative_written_fraction is not None:
            out["negative_written_fraction"] = self.negative_written_fraction
        return out | {
            "n_out": self.n_out,
            "negative_region_pb": self.negative_region_pb,
            "seconds": self.seconds,
        }


def _positive_weights(info: RunInfo, batch: EventBatch, what: str) -> np.ndarray:
    w, _ = per_event_pb(info, batch)
    if (w < 0).any():
        raise ValueError(
            f"{what}: {int((w < 0).sum())} events have negative weights; make the sample positive first "
            "(mlgen positive)"
        )
    return w


def _sigma_error(info: RunInfo, w: np.ndarray) -> float:
    """The error of a sample's sigma: ``std / sqrt(N)`` of weighted events; the ``<init>`` error of
    unweighted ones (equal weights carry none)."""
    if np.allclose(w, w[0], rtol=1e-9, atol=0):
        return max(info.error_pb, 0.0)
    return float(w.std(ddof=1)) / math.sqrt(len(w))


def _local_scale(points: np.ndarray, seed: SeedLike, k: int = 10) -> float:
    """Three times the median distance from an event to its ``k``-th neighbour (GeV), from 2000 events."""
    rng = numpy_rng(seed)
    probe = points[rng.choice(len(points), min(2000, len(points)), replace=False)]
    dist, _ = cKDTree(points).query(probe, k=min(k + 1, len(points)))
    return 3.0 * float(np.median(dist[:, -1]))


#: Replicates of the null hypothesis ``B - S >= 0`` behind the negative-region warning.
NULL_REPLICATES = 4
#: Events over which the null's smooth ``B - S`` is averaged (nearest neighbours in the embedding).
NULL_NEIGHBOURS = 50


def _null_leftover(diff: np.ndarray, points: np.ndarray, max_cell_size: float, seed: SeedLike) -> np.ndarray:
    """What the cells leave negative (pb) when ``B - S >= 0`` everywhere, with the ratio's noise as it is.

    The difference is smoothed over each event's ``NULL_NEIGHBOURS`` nearest neighbours; the null's
    truth is that smooth difference clipped at zero, and its noise the event's deviation from the
    smooth one with a random sign (the noise of a ratio near 1 is symmetric, the clipping that makes
    the leftover one-sided is the cells'). Each of the ``NULL_REPLICATES`` null samples goes through
    the same cells; returns their leftover negative sums (per event of B, like the real one).
    """
    tree = cKDTree(points)
    _, idx = tree.query(points, k=min(NULL_NEIGHBOURS, len(points)), workers=-1)
    smooth = diff[idx].mean(1)
    noise = diff - smooth
    rng = numpy_rng(seed)
    out = []
    for _ in range(NULL_REPLICATES):
        null = np.clip(smooth, 0.0, None) + noise * rng.choice([-1.0, 1.0], len(diff))
        cells = cell_resample(null, points, max_cell_size=max_cell_size)
        out.append(float(cells.weights[cells.weights < 0].sum()) / len(diff))
    return np.array(out)


def _classifier_difference(
    b: EventBatch,
    s: EventBatch,
    w_b: np.ndarray,
    w_s: np.ndarray,
    config: ClassifierConfig,
    max_cell_size: float | None,
    device: str,
    seed: np.random.SeedSequence,
) -> tuple[np.ndarray, ClassifierDifference]:
    """B's events' weights of B - S (pb per event, cell-resampled) and the classifier's report."""
    classifier_seed, scale_seed, null_seed = seed.spawn(3)
    both = EventBatch.concat([b, s])
    points = embed_events(both)
    features = network_features(both)
    label = np.concatenate([np.zeros(len(b), dtype=bool), np.ones(len(s), dtype=bool)])
    # each event weighs its share of its sample's cross section: the classes' totals are sigma_B, sigma_S
    size = np.concatenate([w_b / len(w_b), w_s / len(w_s)])
    d, epochs = cross_fit(features, label, size, config, device, classifier_seed)
    d_b = np.clip(d[: len(b)], 0.0, 1.0 - 1e-12)
    r = d_b / (1 - d_b)
    diff = w_b * (1 - r)
    negative = diff < 0
    # Where S is nearly B, 1 - r fluctuates about a small value; clipping it at 0 would bias those
    # regions upwards. Cells cancel the negative fluctuations against their neighbours instead,
    # keeping every local sum (a real negative region needs cells wider than max_cell_size and
    # keeps negative weights: reported).
    if max_cell_size is None:
        max_cell_size = _local_scale(points[: len(b)], scale_seed)
    cells = cell_resample(diff, points[: len(b)], max_cell_size=max_cell_size)
    null = _null_leftover(diff, points[: len(b)], max_cell_size, null_seed)
    report = ClassifierDifference(
        sigma_from_weights_pb=float(diff.mean()),
        negative_weights_sigma_pb=float(diff[negative].sum()) / len(w_b),
        negative_weights_fraction=float(negative.mean()),
        negative_after_cells_sigma_pb=float(cells.weights[cells.weights < 0].sum()) / len(w_b),
        negative_after_cells_null_pb=tuple(null.tolist()),
        cells=cells.to_dict() | {"max_cell_size_gev": max_cell_size},
        epochs_per_fold=tuple(epochs),
    )
    return cells.weights, report


def _match(key: tuple, keys: list[tuple]) -> tuple:
    """The layout of B that S's layout ``key`` is a part of: the same, or the same but for the ids of
    intermediate lines (a photon's record in S, a Z's in B)."""
    if key in keys:
        return key

    def shape(k: tuple) -> tuple:
        return tuple((s, "resonance") if s == 2 else (s, p) for s, p in k)

    same = [k for k in keys if shape(k) == shape(key)]
    if len(same) != 1:
        raise ValueError(
            f"S has a record layout {key} that B does not have"
            + (f" ({len(same)} of B's differ from it only in intermediate lines)" if same else "")
            + ": S must be a part of B"
        )
    return same[0]


def _layouts_of_sub(groups_b: list[EventGroup], s: EventBatch, sqrt_s: float) -> dict[tuple, EventGroup]:
    """S's layouts by the layout of B each is a part of."""
    groups_s: dict[tuple, EventGroup] = {}
    for g in group_events(s, sqrt_s):
        key = _match(g.key, [h.key for h in groups_b])
        if key in groups_s:
            raise ValueError(
                f"S has two record layouts that match B's {key}: {groups_s[key].key} and {g.key}"
            )
        groups_s[key] = g
    return groups_s


def _generate_difference(
    base: tuple[RunInfo, EventBatch],
    sub: tuple[RunInfo, EventBatch],
    w_b: np.ndarray,
    w_s: np.ndarray,
    weights: np.ndarray,
    n_out: int,
    config: AmplifyConfig,
    warm_epochs: int,
    device: str,
    refine: RefineConfig | None,
    seed: np.random.SeedSequence,
) -> tuple[EventBatch, list[SubtractLayout], RefineReport | None, list[str]]:
    """``n_out`` unweighted events from the mixture flows, one fit per record layout; returns them,
    the layouts, the refinement's report and the warnings.

    ``weights`` are the classifier route's B - S on B's events: their share of ``w_b`` starts the
    flows' class labels, and ``refine`` refines the generated events towards their positive part.
    """
    (info_b, b), (_, s) = base, sub
    training, events_seed, layouts_seed, order_seed, refine_seed = seed.spawn(5)
    label_d = np.clip(weights / w_b, 0.0, 1.0)
    groups_b = group_events(b, info_b.sqrt_s)
    groups_s = _layouts_of_sub(groups_b, s, info_b.sqrt_s)
    sigma_b = {g.key: float(w_b[g.index.numpy()].sum()) / len(w_b) for g in groups_b}
    sigma_s = {key: float(w_s[g.index.numpy()].sum()) / len(w_s) for key, g in groups_s.items()}
    diff = {key: sigma_b[key] - sigma_s.get(key, 0.0) for key in sigma_b}
    positive = {key: max(d, 0.0) for key, d in diff.items()}
    total = sum(positive.values())
    shares = torch.tensor([positive[g.key] / total for g in groups_b], dtype=torch.float64)
    models: dict[int, GroupModel] = {}
    layouts: list[SubtractLayout] = []
    warnings: list[str] = []
    for group, group_seed in zip(groups_b, training.spawn(len(groups_b))):
        sub_group = groups_s.get(group.key)
        entry = SubtractLayout(
            layout=[list(x) for x in group.key],
            sigma_base_pb=sigma_b[group.key],
            sigma_subtracted_pb=sigma_s.get(group.key, 0.0),
            n_base=len(group.index),
            n_subtracted=len(sub_group.index) if sub_group is not None else 0,
        )
        layouts.append(entry)
        if diff[group.key] <= 0:
            warnings.append(
                f"layout {group.key}: sigma_S >= sigma_B ({diff[group.key]:.4g} pb): B - S has no positive "
                "part there; no events written for it"
            )
            continue
        alpha = sigma_s.get(group.key, 0.0) / sigma_b[group.key]
        model = train_mixture(
            (b, group),
            (s, sub_group) if sub_group is not None else None,
            alpha,
            config,
            positive[group.key] / total,
            torch.device(device),
            label_d=torch.as_tensor(label_d[group.index.numpy()]),
            warm_epochs=warm_epochs,
            seed=group_seed,
        )
        label = model.label_s(b, group)
        wg = torch.as_tensor(w_b[group.index.numpy()], dtype=torch.float64)
        entry.alpha = alpha
        # the label output's mean over B: alpha when the mixture describes both samples
        entry.label_s_mean_over_base = float((label.cpu() * wg).sum() / wg.sum())
        entry.train_seconds, entry.best_epoch, entry.losses = model.seconds, model.best_epoch, model.losses
        entry.rejected = 0
        models[len(layouts) - 1] = model.generator()

    def tally(k: int, generated: int, rejected: int) -> None:
        layouts[k].n_generated += generated
        layouts[k].rejected = (layouts[k].rejected or 0) + rejected

    streams = (events_seed, layouts_seed, order_seed)
    draw = layout_sampler(models, shares, b, info_b.sqrt_s, streams, device, tally=tally)
    if refine is None:
        return draw(n_out), layouts, None, warnings
    out, refined = refine_events(
        draw, b, np.clip(weights, 0.0, None), n_out, refine, device=device, seed=refine_seed
    )
    warnings += refined.warnings
    return out, layouts, refined, warnings


def _check_settings(method: str, n_out: int | None, warm_epochs: int, negative: str, refine: bool) -> None:
    """Refuse settings that do not go together, naming the argument."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if n_out is not None and n_out < 1:
        raise ValueError(f"n_out: expected at least one event, got {n_out}")
    if warm_epochs < 0:
        raise ValueError(f"warm_epochs: expected a number of epochs >= 0, got {warm_epochs}")
    if negative not in NEGATIVE:
        raise ValueError(f"negative: expected one of {', '.join(NEGATIVE)}, got {negative!r}")
    if refine and method != "flow":
        raise ValueError(
            "refine: refines generated events, for method 'flow' only (the classifier route "
            "writes B's own events)"
        )
    if negative == "keep" and method == "flow":
        raise ValueError(
            "negative='keep': for method 'classifier' only (the flows are densities, they cannot "
            "carry a negative B - S)"
        )


def _keep_events(
    b: EventBatch, weights: np.ndarray, negative: str, n_out: int | None, seed: np.random.SeedSequence
) -> tuple[EventBatch, np.ndarray]:
    """The classifier route: B's events by hit-or-miss on their B - S weights; returns them and
    their weights in units of the largest positive weight (signed with ``keep``).

    A negative weight larger than that (the cells leave the whole negative part of a region on few
    events) is kept as a multiple of the unit.
    """
    accept_seed, choice_seed = seed.spawn(2)
    unit = float(np.clip(weights, 0.0, None).max())
    signed = weights if negative == "keep" else np.clip(weights, 0.0, None)
    accept, units = hit_or_miss(torch.as_tensor(signed), unit, torch_generator(accept_seed))
    index = np.flatnonzero(accept.numpy())
    if n_out is not None:
        if n_out > len(index):
            raise ValueError(
                f"n_out: {n_out} events asked, but the classifier route can write at most the {len(index)} "
                "events of B it keeps (the flow route writes any number)"
            )
        index = numpy_rng(choice_seed).choice(index, n_out, replace=False)
    index = np.sort(index)
    return b[torch.as_tensor(index, device=b.device)], units.numpy()[index]


def _negative_region(
    classifier: ClassifierDifference, counting: float, written: float | None
) -> tuple[float, str | None]:
    """The negative region's sigma beyond the null's (pb), and the warning if it is significant."""
    left = classifier.negative_after_cells_sigma_pb
    null = np.array(classifier.negative_after_cells_null_pb)
    # beyond the null's own scatter, and beyond the statistical noise of B - S as a whole
    margin = max(3 * float(null.std(ddof=1)), counting)
    if not left < float(null.mean()) - margin:
        return left - float(null.mean()), None
    fate = (
        f"written as negative-weight events ({written:.2%} of those written)"
        if written is not None
        else "not written (negative='keep' writes them with negative weights)"
    )
    return left - float(null.mean()), (
        f"B - S is negative beyond the cells' reach: they leave {left:.4g} pb, where B - S >= 0 with the "
        f"same noise leaves {null.mean():.4g} +- {null.std(ddof=1):.2g} pb; {left - null.mean():.4g} pb "
        f"({(null.mean() - left) / counting:.1f} times the statistical noise of B - S) {fate}"
    )


def subtract(
    base: tuple[RunInfo, EventBatch],
    sub: tuple[RunInfo, EventBatch],
    *,
    method: str = "classifier",
    n_out: int | None = None,
    max_cell_size: float | None = None,
    config: ClassifierConfig | None = None,
    generator: AmplifyConfig | None = None,
    warm_epochs: int = 30,
    negative: str = "drop",
    refine: RefineConfig | None = None,
    device: str = "cpu",
    seed: SeedLike | None = None,
) -> tuple[EventBatch, RunInfo, SubtractReport]:
    """Unweighted events of ``base - sub`` (each ``(RunInfo, EventBatch)``), their run info and a report.

    Arguments:
        method: ``flow`` (flows fitted as a mixture, any number of events) or ``classifier``
            (events of B kept in proportion to their share of B - S).
        n_out: events to write; default: as many as B has (flow), all that hit-or-miss keeps
            (classifier, which cannot write more).
        max_cell_size: largest cell (GeV) cancelling negative fluctuations of the classifier's
            difference; default: three times the median distance to the 10th neighbour (the scale of
            the classifier's noise, not of the physics: a few wrong ratios must not pull weight from
            across the phase space).
        config: the classifier (both routes: it reports where B - S is negative).
        generator: the flows' training settings (flow route).
        warm_epochs: flow route: epochs with the classifier's class labels held fixed, before
            the mixture's own likelihood (``generator.epochs``) takes over.
        negative: classifier route: ``drop`` (a positive sample) or ``keep`` (events where B - S stays
            negative after the cells are written with negative weights; :data:`NEGATIVE`).
        refine: flow route: refine the generated events (:mod:`mlgen.generative.refine`) towards the
            classifier route's positive B - S on B's events, so that they follow its shape while
            any number of them can be written.
        device: where the networks train.
        seed: the root of the streams (default: the classifier's ``config.seed``): the classifier,
            the flows and the hit-or-miss each take a child.
    """
    start = time.perf_counter()
    _check_settings(method, n_out, warm_epochs, negative, refine is not None)
    config = config if config is not None else ClassifierConfig()
    classifier_seed, flow_seed, keep_seed = as_seed_sequence(config.seed if seed is None else seed).spawn(3)
    (info_b, b), (info_s, s) = base, sub
    w_b, w_s = _positive_weights(info_b, b, "base sample"), _positive_weights(info_s, s, "subtracted sample")
    sigma_b, sigma_s = float(w_b.mean()), float(w_s.mean())
    sigma, error = sigma_b - sigma_s, math.hypot(_sigma_error(info_b, w_b), _sigma_error(info_s, w_s))
    # what a histogram of the two samples puts on the whole phase space as one bin: the scale of
    # the statistical noise in B - S, sqrt(N_B + N_S) in counts for unweighted samples
    counting = math.sqrt(float((w_b**2).sum()) / len(w_b) ** 2 + float((w_s**2).sum()) / len(w_s) ** 2)
    if sigma_s >= sigma_b:
        raise ValueError(
            f"sigma_S = {sigma_s:.6g} pb >= sigma_B = {sigma_b:.6g} pb: B - S has no positive part"
        )
    weights, classifier = _classifier_difference(
        b, s, w_b, w_s, config, max_cell_size, device, classifier_seed
    )
    layouts, refined, written = None, None, None
    warnings: list[str] = []
    if method == "flow":
        out, layouts, refined, warnings = _generate_difference(
            base,
            sub,
            w_b,
            w_s,
            weights,
            n_out or len(b),
            generator or AmplifyConfig(),
            warm_epochs,
            device,
            refine,
            flow_seed,
        )
        out.weight = torch.full((len(out),), sigma / max(len(out), 1), dtype=torch.float64, device=out.device)
    else:
        out, units = _keep_events(b, weights, negative, n_out, keep_seed)
        if negative == "keep":
            # unweighted with signs (but for negative ones above the unit), summing to sigma
            net = float(units.sum())
            if net <= 0:
                raise ValueError(f"of {len(out)} events kept, as many or more are negative than positive")
            out.weight = torch.as_tensor(units * sigma / net, dtype=torch.float64, device=out.device)
            written = float((units < 0).mean())
        else:
            out.weight = torch.full(
                (len(out),), sigma / max(len(out), 1), dtype=torch.float64, device=out.device
            )
    out.extra_weights = None
    out.process_id = torch.ones(len(out), dtype=torch.long, device=out.device)
    region, warning = _negative_region(classifier, counting, written)
    if warning is not None:
        warnings.append(warning)
    if abs(classifier.sigma_from_weights_pb - sigma) > 4 * math.hypot(error, counting):
        warnings.append(
            f"the classifier's B - S integrates to {classifier.sigma_from_weights_pb:.6g} pb, not "
            f"{sigma:.6g}: the ratio dsigma_S/dsigma_B is not learnt well enough"
        )
    report = SubtractReport(
        method,
        sigma_b,
        sigma_s,
        sigma,
        error,
        counting,
        len(b),
        len(s),
        len(out),
        classifier,
        region,
        time.perf_counter() - start,
        tuple(warnings),
        layouts,
        refined,
        written,
    )
    run_info = dataclasses.replace(
        info_b,
        weight_strategy=-4 if bool((out.weight < 0).any()) else 3,
        processes=(ProcessLine(sigma, error, float(out.weight.abs().max()) if len(out) else 0.0, 1),),
        weights=(),
        generator=(f"mlgen subtract ({method})", info_b.generator[1]),
    )
    return out, run_info, report
