"""The coverage check: a trained sampler's estimate against independent probes, and where they differ.

A flow that never found a region of the integrand reports a small error bar
around a wrong value; its own weights cannot show it. A probe is an estimate
from different points and a different density (a VEGAS grid, which covers every
axis projection of the integrand; a mixture around the modes an exploration
found, :mod:`mlgen.integrate.explore`). A pull beyond ``threshold`` standard
deviations flags the result, and the points say *where* the two disagree:

* the probe's points at which the sampler's weight ``f / q_s`` exceeds the largest
  weight the sampler ever gave its own points lie where the sampler's density is
  lower than anything it has shown: a region it has missed. The probe's estimate
  of ``int f`` over them (:func:`uncovered_share`) is what the sampler lacks, so
  its estimate is likely LOW by about that much;
* conversely, the sampler's points beyond the probe's largest weight lie where
  the probe is thin: there the probe, not the sampler, is likely low.

The verdict never takes the larger estimate on trust: a sampler above a probe
with no sign that the probe missed a region is a disagreement neither side can
settle (sigma unknown), and a sampler that missed a region is low whatever the
pulls say. A probe whose own relative error is large, whose iterations disagree
or whose weights are heavy-tailed cannot confirm anything, and the check says so
instead of passing.
"""

from __future__ import annotations

__all__ = [
    "CoverageCheck",
    "ProbeEvidence",
    "RegionShare",
    "coverage_check",
    "informative_probe",
    "settle_heavy_tail",
    "uncovered_share",
]

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import cast

import torch
from torch import Tensor

from mlgen.integrate.result import MAX_ERROR_UNCERTAINTY, IntegrationResult, PointSample

#: a region share counts as evidence when it exceeds this many of its own standard errors ...
SIGNIFICANCE = 4.0
#: ... and this share of the estimate it is compared with (smaller shares are tails, not regions)
MIN_SHARE = 0.01


@dataclass(frozen=True)
class RegionShare:
    """``int f`` over the points of one density where another density's weight is beyond its own maximum.

    Attributes:
        share: that integral as a share of the estimate from the same points.
        error: its standard error (same unit).
        n_points: the points that fell there.
        centre: the position of the heaviest of those points (where the region is), or empty.
    """

    share: float
    error: float
    n_points: int
    centre: tuple[float, ...] = ()

    @property
    def significant(self) -> bool:
        return self.share > max(SIGNIFICANCE * self.error, MIN_SHARE)

    def where(self) -> str:
        """The centre in a few characters (its first coordinates), for a message."""
        shown = ", ".join(f"{c:.2f}" for c in self.centre[:6])
        return f"u ~ ({shown}{', ...' if len(self.centre) > 6 else ''})"


def uncovered_share(sample: PointSample, log_q_other: Tensor, w_max_other: float) -> RegionShare:
    """The share of ``int f``, from ``sample``, where the other density's weight ``f / q_other`` exceeds
    ``w_max_other`` (the largest weight that density gave its own points).

    Arguments:
        sample: points drawn from one density, with ``f`` and that density's ``log q``.
        log_q_other: ``(N,)`` the other density's ``log q`` at ``sample.u``.
        w_max_other: the largest ``|f| / q_other`` among the other density's own points.
    """
    w = sample.f.abs() * torch.exp(-sample.log_q)
    total = float(w.mean())
    if not total > 0 or not math.isfinite(total):
        return RegionShare(0.0, 0.0, 0)
    beyond = sample.f.abs() * torch.exp(-log_q_other) > w_max_other
    part = torch.where(beyond, w, torch.zeros_like(w))
    n = len(w)
    share = float(part.mean()) / total
    error = float(part.std()) / math.sqrt(n) / total if n > 1 else math.inf
    count = int(beyond.sum())
    centre: tuple[float, ...] = ()
    if count:
        centre = tuple(float(c) for c in sample.u[int(torch.argmax(part))])
    return RegionShare(share, error, count, centre)


@dataclass(frozen=True)
class ProbeEvidence:
    """One probe's estimate and what its points say about the sampler's, and the sampler's about it.

    Attributes:
        name: what the probe is ("VEGAS probe", "mode-mixture probe").
        result: its estimate.
        missed_by_sampler: the probe's share of sigma where the sampler's density is thinner than
            anything the sampler's own weights showed (:func:`uncovered_share`), or ``None``.
        missed_by_probe: the sampler's share of sigma where the probe is that thin, or ``None``.
    """

    name: str
    result: IntegrationResult
    missed_by_sampler: RegionShare | None = None
    missed_by_probe: RegionShare | None = None


@dataclass(frozen=True)
class CoverageCheck:
    """Outcome of :func:`coverage_check`.

    ``passed`` is False when an informative probe disagrees or a probe finds a region the sampler
    missed; ``verdict`` is one of ``"confirmed"``, ``"unconfirmed"`` (no informative probe, no
    evidence against), ``"low"`` (the sampler likely missed part of sigma), ``"probe_low"`` (the
    sampler is above and the probe provably under-covers where the sampler's weight sits; still not
    confirmed) and ``"unknown"`` (neither can be trusted).
    """

    estimate: float
    error: float
    probe: float
    probe_error: float
    pull: float
    threshold: float
    passed: bool
    informative: bool
    message: str
    verdict: str = "unconfirmed"
    probes: list[dict[str, object]] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        """True only when an informative probe agrees and none finds a missed region."""
        return self.verdict == "confirmed"

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"confirmed": self.confirmed}


def informative_probe(probe: IntegrationResult, max_probe_rel: float = 0.05) -> tuple[bool, str]:
    """Whether a probe can confirm, and if not, why (for the message)."""
    rel = probe.sdev / abs(probe.mean) if probe.mean else math.inf
    tail = probe.weight_stats.get("error_uncertainty", 0.0)
    if probe.Q <= 1e-3:
        return False, f"iterations that disagree (Q = {probe.Q:.1e})"
    if not rel < max_probe_rel:
        return False, f"a relative error of {rel:.1%}"
    if tail > MAX_ERROR_UNCERTAINTY:
        return False, f"heavy-tailed weights (its error known to {tail:.0%})"
    return True, ""


def _pull(result: IntegrationResult, probe: IntegrationResult) -> float:
    sigma = math.hypot(result.sdev, probe.sdev)
    if sigma > 0:
        return (result.mean - probe.mean) / sigma
    return 0.0 if result.mean == probe.mean else math.inf


def coverage_check(
    result: IntegrationResult,
    probe: IntegrationResult | ProbeEvidence | Sequence[ProbeEvidence],
    *,
    threshold: float = 4.0,
    max_probe_rel: float = 0.05,
) -> CoverageCheck:
    """Compare ``result`` with one or more probes; name the likely cause of a disagreement.

    ``probe`` is a plain result (a pull check only) or :class:`ProbeEvidence` with the region shares.
    A probe is *informative* when its relative error is below ``max_probe_rel``, its iterations
    agree and its weights are not heavy-tailed; only an informative probe can confirm or contradict
    by its pull, while a significant region share counts whatever the probe's own precision.
    """
    if isinstance(probe, IntegrationResult):
        evidence: list[ProbeEvidence] = [ProbeEvidence("VEGAS probe", probe)]
    elif isinstance(probe, ProbeEvidence):
        evidence = [probe]
    else:
        evidence = list(probe)
    if not evidence:
        raise ValueError("coverage_check needs at least one probe")
    rows = []
    for e in evidence:
        ok, why = informative_probe(e.result, max_probe_rel)
        rows.append((e, _pull(result, e.result), ok, why))
    main = min(rows, key=lambda r: (not r[2], r[0].result.sdev / max(abs(r[0].result.mean), 1e-300)))
    e0, pull0, informative0, _ = main
    found = "; ".join(
        f"{e.name} {e.result.mean:.6g} +- {e.result.sdev:.2g} (pull {pull:+.1f}"
        + ("" if ok else f", weak: {why}")
        + ")"
        for e, pull, ok, why in rows
    )
    head = f"sampler {result.mean:.6g} +- {result.sdev:.2g} vs {found}"
    # a region the sampler missed makes it low by about the probe's share there; one it reaches only
    # rarely (its few points there carry large weights) does not: a sampler that is not below the
    # probe by at least half that share has not missed it (ZueNIS camel at 3e5 calls, seed 1: a
    # sampler 1.4% low, within its error, thin where the probe has a few percent). A sampler below
    # by about the share but within its error of an informative probe is right, and the check says
    # where it is thin and by how much it may be low, without failing (the ZueNIS camel at 3e5
    # calls, seeds 0, 1 and 9: 1.1%, 2.8% and 6.8% thin, pulls -1.3, -2.3 and -3.9 against the
    # mode-mixture probe, -1.6, -2.8 and -4.0 against the exact value, were called LOW)
    missed, under = [], []
    for e, pull, ok, _ in rows:
        share = e.missed_by_sampler
        if share is None or not share.significant:
            continue
        deficit = e.result.mean - result.mean
        below_by_share = pull < 0 and deficit > 0.5 * share.share * abs(e.result.mean)
        if below_by_share and (not ok or pull < -threshold):
            missed.append((e, share))
        else:
            under.append((e, share, below_by_share))
    below = [(e, pull) for e, pull, ok, _ in rows if ok and pull < -threshold]
    above = [(e, pull) for e, pull, ok, _ in rows if ok and pull > threshold]
    agree = [e for e, pull, ok, _ in rows if ok and abs(pull) <= threshold]
    thin = [(e, e.missed_by_probe) for e, *_ in rows if e.missed_by_probe and e.missed_by_probe.significant]
    # a probe below the sampler that is thin where the sampler's weight sits has missed that region
    unexplained = [(e, pull) for e, pull in above if not any(t is e for t, _ in thin)]
    if missed:
        e, share = max(missed, key=lambda m: m[1].share)
        assert share is not None
        verdict = "low"
        message = (
            f"COVERAGE CHECK FAILED: {head}. The {e.name} carries {share.share:.1%} +- {share.error:.1%} of "
            f"sigma at {share.where()}, where the sampler's density is below anything its own weights "
            f"showed: the sampler has missed that region and sigma is likely LOW (by about that share)"
        )
    elif below:
        verdict = "low"
        message = (
            f"COVERAGE CHECK FAILED: {head}. The sampler is below an informative probe: it has probably "
            f"missed part of phase space, so sigma is likely LOW"
        )
    elif unexplained:
        verdict = "unknown"
        message = (
            f"COVERAGE CHECK FAILED: {head}. The sampler is above the probe, and neither side's points "
            f"show a region the other missed: sigma is UNKNOWN (do not take the larger value; rerun with "
            f"more calls or another seed)"
        )
    elif agree:
        verdict = "confirmed"
        message = f"coverage check passed (pull {pull0:+.2f} against the {e0.name})"
        for e, share in thin:
            message += (
                f"; the {e.name} is thin where the sampler has {share.share:.1%} of sigma "
                f"({share.where()}): it missed that region"
            )
        if under:
            e, share, below_by_share = max(under, key=lambda m: m[1].share)
            message += f"; the sampler is thin at {share.where()}, where the {e.name} carries "
            message += f"{share.share:.1%} of sigma" + (
                ": it may be low by up to that share, within its error (more training would close it)"
                if below_by_share
                else ": its few points there weigh much (more training would lower the error)"
            )
    elif thin:
        e, share = max(thin, key=lambda m: m[1].share)
        where = f"the {e.name} is thin where the sampler has {share.share:.1%} of sigma ({share.where()})"
        verdict = "probe_low"
        message = (
            f"coverage check inconclusive: {head}. {where}, so it cannot check the sampler there; no "
            f"probe shows a region the sampler missed, but none checks it either: sigma is UNCONFIRMED"
        )
    else:
        verdict = "unconfirmed"
        message = (
            f"coverage check weak: {head}, so the estimate is unconfirmed; spend more on the probes "
            "(n_adapt_iter, vegas_per_iter, probe_iter)"
        )
    passed = verdict in ("confirmed", "unconfirmed")
    return CoverageCheck(
        result.mean,
        result.sdev,
        e0.result.mean,
        e0.result.sdev,
        pull0,
        threshold,
        passed,
        informative0,
        message,
        verdict,
        [
            {
                "name": e.name,
                "mean": e.result.mean,
                "sdev": e.result.sdev,
                "pull": pull,
                "informative": ok,
                "missed_by_sampler": None if e.missed_by_sampler is None else asdict(e.missed_by_sampler),
                "missed_by_probe": None if e.missed_by_probe is None else asdict(e.missed_by_probe),
            }
            for e, pull, ok, _ in rows
        ],
    )


def settle_heavy_tail(result: IntegrationResult, check: CoverageCheck) -> bool:
    """Withdraw ``result``'s heavy-tail warning when an independent probe at least as precise confirms it.

    The heavy-tail warning says the estimate and its error may not be reliable because a few weights
    carry the variance. A confirmed check (no region missed) whose agreeing informative probe has an
    error no larger than the result's has measured the estimate independently, to the result's own
    precision: the warning's claim is then answered, and it is kept as a note (``flags["tail_settled"]``)
    instead. The ZueNIS camel (s = 0.1, 8-d) at 3e5 calls, seed 7: the flow's 1.94947e-6 +- 1.9e-8
    (exact 1.94501e-6) with the error known to 67%, the mode-mixture probe within 0.3%: warned before.
    Returns whether the warning was withdrawn.
    """
    message = result.flags.get("heavy_tail")
    if not message or not check.confirmed:
        return False
    agreeing = []
    for probe in check.probes:
        mean, sdev, pull = (float(cast(float, probe[key])) for key in ("mean", "sdev", "pull"))
        if probe["informative"] and abs(pull) <= check.threshold and sdev <= result.sdev:
            agreeing.append((sdev, str(probe["name"]), mean, pull))
    if not agreeing:
        return False
    sdev, name, mean, pull = min(agreeing)
    result.withdraw(str(message))
    del result.flags["heavy_tail"]
    stats = result.weight_stats
    result.flags["tail_settled"] = (
        f"a few weights carry the variance (the error known to {stats.get('error_uncertainty', 0):.0%}, "
        f"tail shape k = {stats.get('pareto_k', math.nan):.2f}), but the {name} ({mean:.6g} +- {sdev:.2g}, "
        f"pull {pull:+.1f}) confirms the estimate at its own precision"
    )
    return True
