"""Events of the difference B - S of two samples, with cross section sigma_B - sigma_S.

Three routes, one report (the classifier's B - S: :mod:`mlgen.generative.difference`; the
generators: :mod:`mlgen.generative.subtract_generators`):

* ``flow``: the subtraction generator of :mod:`mlgen.generative.mixture`
  (the likelihood form of the subtraction GAN of arXiv:1912.08824): flows
  ``q_S`` and ``q_D`` fitted to B and S as the mixture ``sigma_B p_B =
  sigma_S q_S + (sigma_B - sigma_S) q_D``, one per record layout, and ``q_D``
  sampled for as many unweighted events as asked, more than B holds if wanted.
* ``gan``: the subtraction GAN of arXiv:1912.08824 itself (:mod:`mlgen.generative.subtract_gan`):
  one generator with a label output, the class assignment f(c), two discriminators and the
  normalisation loss; its events labelled B - S are written, as many as asked.
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

__all__ = ["GENERATED", "METHODS", "NEGATIVE", "ClassifierDifference", "SubtractLayout", "SubtractReport", "subtract"]

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.generative.config import AmplifyConfig, GANConfig
from mlgen.generative.difference import ClassifierDifference, classifier_difference
from mlgen.generative.refine import RefineConfig, RefineReport
from mlgen.generative.subtract_generators import SubtractLayout, generate_difference
from mlgen.lhe.weights import per_event_pb, process_lines
from mlgen.resample.classifier import ClassifierConfig
from mlgen.seeds import SeedLike, as_seed_sequence, numpy_rng, torch_generator
from mlgen.unweight import hit_or_miss

#: The routes: ``classifier`` (B's events kept by their share of B - S), ``flow`` (a mixture of
#: flows) and ``gan`` (the subtraction GAN), the last two writing any number of events.
METHODS = ("classifier", "flow", "gan")
#: The routes that generate new events.
GENERATED = ("flow", "gan")
#: What becomes of B - S where it stays negative after the cells: ``drop`` writes a positive sample
#: (the negative part reported, not written); ``keep`` writes those events with negative weights, as
#: an NLO generator writes its counter-events, so the output carries B - S where it is negative too.
NEGATIVE = ("drop", "keep")


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


def _process_lines(
    out: EventBatch, base: tuple[RunInfo, EventBatch, np.ndarray], sub: tuple[RunInfo, EventBatch, np.ndarray]
) -> tuple[ProcessLine, ...]:
    """The ``<init>`` lines of B - S's events, one per process id (the events keep B's): sigma from
    the written weights, the error at least what B and S knew of that process."""
    w_out = out.weight.cpu().numpy() * len(out)
    ids_out = out.process_id.cpu().numpy()
    known = tuple(sorted({p.id for p in base[0].processes} | {p.id for p in sub[0].processes}))
    lines = process_lines(ids_out, w_out, unweighted=True, known=known)
    inputs = []
    for info, batch, w in (base, sub):
        ids = batch.process_id.cpu().numpy()
        equal = np.allclose(w, w[0], rtol=1e-9, atol=0)
        init = {p.id: p.error_pb for p in info.processes}
        # equal weights carry no error of sigma: the <init> line's, where the file has one per process
        inputs.append(
            {
                line.id: init.get(line.id, line.error_pb) if equal else line.error_pb
                for line in process_lines(ids, w, unweighted=False, known=known)
            }
        )
    return tuple(
        dataclasses.replace(
            line,
            error_pb=max(line.error_pb, math.hypot(inputs[0].get(line.id, 0.0), inputs[1].get(line.id, 0.0))),
        )
        for line in lines
    )


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
    if refine and method not in GENERATED:
        raise ValueError(
            "refine: refines generated events, for methods 'flow' and 'gan' only (the classifier route "
            "writes B's own events)"
        )
    if negative == "keep" and method in GENERATED:
        raise ValueError(
            "negative='keep': for method 'classifier' only (the generators' events are unweighted, "
            "they cannot carry a negative B - S)"
        )


def _generator_config(method: str, generator: AmplifyConfig | None) -> AmplifyConfig:
    """The generators' settings of the route: GAN settings for ``gan`` (the defaults if none), none
    for ``flow``."""
    config = generator if generator is not None else AmplifyConfig()
    if method == "gan" and config.gan is None:
        return dataclasses.replace(config, gan=GANConfig())
    if method == "flow" and config.gan is not None:
        raise ValueError("generator.gan: GAN settings for the method 'flow'; the subtraction GAN is method 'gan'")
    return config


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


def _classifier_events(
    b: EventBatch,
    weights: np.ndarray,
    negative: str,
    n_out: int | None,
    sigma: float,
    seed: np.random.SeedSequence,
) -> tuple[EventBatch, float | None]:
    """The classifier route's unweighted events of B, summing to ``sigma``, and the share written with
    negative weights (``keep``; ``None`` with ``drop``)."""
    out, units = _keep_events(b, weights, negative, n_out, seed)
    if negative != "keep":
        out.weight = torch.full((len(out),), sigma / max(len(out), 1), dtype=torch.float64, device=out.device)
        return out, None
    # unweighted with signs (but for negative ones above the unit), summing to sigma
    net = float(units.sum())
    if net <= 0:
        raise ValueError(f"of {len(out)} events kept, as many or more are negative than positive")
    out.weight = torch.as_tensor(units * sigma / net, dtype=torch.float64, device=out.device)
    return out, float((units < 0).mean())


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
        method: ``flow`` (flows fitted as a mixture, any number of events), ``gan`` (the
            subtraction GAN, any number of events) or ``classifier`` (events of B kept in proportion
            to their share of B - S).
        n_out: events to write; default: as many as B has (flow), all that hit-or-miss keeps
            (classifier, which cannot write more).
        max_cell_size: largest cell (GeV) cancelling negative fluctuations of the classifier's
            difference; default: three times the median distance to the 10th neighbour (the scale of
            the classifier's noise, not of the physics: a few wrong ratios must not pull weight from
            across the phase space).
        config: the classifier (both routes: it reports where B - S is negative).
        generator: the generators' training settings (``gan``: its ``gan`` settings, default
            :class:`~mlgen.generative.config.GANConfig`; ``flow``: none may be set).
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
    if method in GENERATED:
        _generator_config(method, generator)
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
    weights, classifier = classifier_difference(
        b, s, w_b, w_s, config, max_cell_size, device, classifier_seed
    )
    layouts, refined, written = None, None, None
    warnings: list[str] = []
    if method in GENERATED:
        out, layouts, refined, warnings = generate_difference(
            base,
            sub,
            w_b,
            w_s,
            weights,
            n_out or len(b),
            _generator_config(method, generator),  # checked before the classifier's work, again here
            warm_epochs,
            device,
            refine,
            flow_seed,
        )
        out.weight = torch.full((len(out),), sigma / max(len(out), 1), dtype=torch.float64, device=out.device)
    else:
        out, written = _classifier_events(b, weights, negative, n_out, sigma, keep_seed)
    out.extra_weights = None  # B's variations are not B - S's
    region, warning = _negative_region(classifier, counting, written)
    if warning is not None:
        warnings.append(warning)
    if abs(classifier.sigma_from_weights_pb - sigma) > 4 * math.hypot(error, counting):
        warnings.append(
            f"the classifier's B - S integrates to {classifier.sigma_from_weights_pb:.6g} pb, not "
            f"{sigma:.6g}: the ratio dsigma_S/dsigma_B is not learnt well enough"
        )
    lines = _process_lines(out, (info_b, b, w_b), (info_s, s, w_s))
    # the error printed, written in the report and in <init> is one number: the lines' in quadrature
    error = math.sqrt(sum(line.error_pb**2 for line in lines))
    seconds = time.perf_counter() - start
    sizes = (len(b), len(s), len(out))
    report = SubtractReport(
        method, sigma_b, sigma_s, sigma, error, counting, *sizes, classifier, region, seconds
    )
    report = dataclasses.replace(report, warnings=tuple(warnings), layouts=layouts, refine=refined)
    report = dataclasses.replace(report, negative_written_fraction=written)
    run_info = dataclasses.replace(
        info_b,
        weight_strategy=-4 if bool((out.weight < 0).any()) else 3,
        processes=lines,
        # B's named weights stay in the run info, and the events' columns go (B's variations are not
        # B - S's): the command's account_for_dropped names them in a warning and a header note
        weights=info_b.weights,
        generator=(f"mlgen subtract ({method})", info_b.generator[1]),
    )
    return out, run_info, report
