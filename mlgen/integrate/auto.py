"""``integrator.kind = "auto"``: VEGAS unless its estimate cannot be trusted or a flow pays in wall time.

The fit (:class:`~mlgen.integrate.kinds.AutoIntegrator`) first times the integrand (2048 calls) and
a fresh flow's pass (:class:`Costs`). Where even a flow with no variance at all, paying only its
calls before the final iterations (its VEGAS adaptation and probe, the exploration, training, at the
measured cost per call and a lower bound per training point), costs less than VEGAS's calls alone,
the integrand is expensive (a matrix element at milliseconds a call) and the flow is trained straight
away, with its own probes and coverage check. Otherwise VEGAS runs as kind ``vegas`` runs it (the
card's budget, the same seed: the same numbers), and the exploration of
:mod:`mlgen.integrate.explore` (hill climbs and a probe with a Gaussian mixture around the peaks
found) checks its estimate by the coverage check, VEGAS in the sampler's place. The exploration gets
about :data:`CHECK_SHARE` of VEGAS's wall time, at least :data:`CHECK_SECONDS`
(:func:`exploration_within`): on a cheap integrand all of it, on a physics integrand whose calls
carry a fixed cost fewer steps and probe points. Then :func:`choose` decides:

* **VEGAS cannot be trusted**: its weights are heavy-tailed, or the mixture's probe shows a region
  VEGAS's grid missed (verdict ``low``) or a disagreement neither side explains (``unknown``). A flow
  is trained, whatever it costs (the multi-channel flow where the process has several channels): it
  carries the exploration's peaks into training and has its own coverage check. The narrow 16-d
  camel at 3e5 calls is such a case (VEGAS 0.04-0.13 of the exact value, heavy-tailed).
* **VEGAS can be trusted**: a flow is trained only if it can reach VEGAS's precision sooner: if its
  calls before the final iterations take longer than VEGAS's whole run, VEGAS is kept. For a cheap
  integrand (microseconds a call) those cost tens of seconds against VEGAS's fraction of a second.
* A flow trained for speed is held to it (:func:`flow_paid`): its measured time to VEGAS's
  relative error (its fixed cost, and its final iterations scaled by ``(r_flow / r_vegas)^2``) must
  be below VEGAS's; if not, VEGAS's result is returned and the result says so.

"VEGAS's precision" is the relative error VEGAS reached with the card's budget: the budget is what the
user meant to spend, and the question is who gets there first. The choice, why, and the numbers it
rests on are in ``result.flags["auto"]`` and the printout.
"""

from __future__ import annotations

__all__ = [
    "CHECK_SECONDS",
    "CHECK_SHARE",
    "AutoChoice",
    "Costs",
    "choose",
    "exploration_within",
    "flow_paid",
    "time_per_call",
]

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from torch import Tensor

from mlgen.integrate.base import Integrand
from mlgen.integrate.coverage import CoverageCheck
from mlgen.integrate.nis import FlowSettings
from mlgen.integrate.result import IntegrationResult


@dataclass(frozen=True)
class Costs:
    """What the choice weighs, measured on the integrand at hand.

    Attributes:
        vegas_seconds: wall time of the VEGAS run (adaptation and final iterations).
        call_seconds: the integrand's cost per call (timed on VEGAS's own points).
        train_seconds: a lower bound of a flow's training cost per integrand call: the call and one
            pass of a fresh flow (timed; a training step also runs the backward pass and the
            optimiser, 3-8 times that pass on a 4-d and a 16-d flow, and its first step pays for
            torch's warm-up, seconds: timing it would cost more than VEGAS on a cheap integrand).
        flow_calls_before_final: the calls a flow spends before its final iterations (its VEGAS
            adaptation and probe, the exploration, training).
        flow_training_calls: of those, the training calls.
        climb_step_seconds: one call of ``f`` on 64 points (a step of the exploration's climbs; a
            physics integrand's fixed cost per call makes it far more than 64 calls' worth).
    """

    vegas_seconds: float
    call_seconds: float
    train_seconds: float
    flow_calls_before_final: int
    flow_training_calls: int
    climb_step_seconds: float = 0.0

    @property
    def flow_fixed_seconds(self) -> float:
        """What a flow costs before its final iterations: a lower bound of its time to any precision."""
        other_calls = self.flow_calls_before_final - self.flow_training_calls
        return other_calls * self.call_seconds + self.flow_training_calls * self.train_seconds


@dataclass(frozen=True)
class AutoChoice:
    """The kind chosen (``"vegas"``, ``"flow"`` or ``"multichannel"``), why, and the numbers behind it."""

    kind: str
    reason: str
    costs: Costs | None = None
    vegas_trusted: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "vegas_trusted": self.vegas_trusted,
            "costs": None if self.costs is None else asdict(self.costs),
        }


#: the exploration that checks VEGAS gets about this share of VEGAS's wall time, or
#: :data:`CHECK_SECONDS` if that is more (half to the climbs, half to the probe), but never fewer than
#: 50 steps or 5000 points an iteration: Drell-Yan with lepton cuts at 2e5 calls took 5 s for VEGAS
#: and 4 s for the full exploration (200 steps of 64 points at 13 ms each, then 2 x 20000 points);
#: the i-flow Gaussian in 16-d at 1.2e5 calls 0.7 s and 0.2 s, and the cut exploration missed what
#: VEGAS had missed there
CHECK_SHARE = 0.1
#: the least wall time the exploration checking VEGAS is given, in seconds
CHECK_SECONDS = 1.0


def exploration_within(settings: FlowSettings, costs: Costs, dim: int) -> FlowSettings:
    """``settings`` with the exploration cut to :data:`CHECK_SHARE` of VEGAS's wall time (floors above).

    Unchanged where the full exploration fits: the cheap integrands, where VEGAS is fast but the
    climbs are cheaper still. ``costs.vegas_seconds`` must be measured.
    """
    budget = 0.5 * max(CHECK_SHARE * costs.vegas_seconds, CHECK_SECONDS)
    steps = settings.explore_steps
    if costs.climb_step_seconds > 0:
        steps = max(min(steps, int(budget / costs.climb_step_seconds)), min(steps, 50))
    per_iter = settings.vegas_per_iter
    if costs.call_seconds > 0:
        affordable = int(budget / (settings.probe_iter * costs.call_seconds))
        per_iter = max(min(per_iter, affordable), min(per_iter, 5000))
    if (steps, per_iter) == (settings.explore_steps, settings.vegas_per_iter):
        return settings
    return replace(settings, explore_steps=steps, vegas_per_iter=per_iter)


def time_per_call(f: Integrand, u: Tensor, repeat: int = 2) -> float:
    """Seconds per call of ``f`` on the points ``u (N, d)``: the least of ``repeat`` timings."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        f(u)
        best = min(best, time.perf_counter() - start)
    return best / max(len(u), 1)


def _rel(result: IntegrationResult) -> float:
    return result.sdev / abs(result.mean) if result.mean else math.inf


def choose(
    vegas: IntegrationResult, check: CoverageCheck | None, costs: Costs, flow_kind: str = "flow"
) -> AutoChoice:
    """VEGAS or ``flow_kind`` for an integrand whose VEGAS run is ``vegas``.

    ``check`` is the coverage check of VEGAS's estimate against the exploration's probe (``None``: no
    exploration, or it found nothing where ``f != 0``).
    """
    rel = _rel(vegas)
    if vegas.mean == 0 or not math.isfinite(rel):
        reason = "VEGAS found no point where the integrand is nonzero"
        return AutoChoice(flow_kind, reason, costs, vegas_trusted=False)
    if "heavy_tail" in vegas.flags:
        reason = (
            f"VEGAS's weights are heavy-tailed (std/mean {vegas.weight_stats.get('spread', math.nan):.3g}): "
            "its estimate cannot be trusted"
        )
        return AutoChoice(flow_kind, reason, costs, vegas_trusted=False)
    if check is not None and check.verdict in ("low", "unknown"):
        share = _missed_share(check)
        where = f", {share}" if share else ""
        reason = (
            f"the exploration's probe contradicts VEGAS ({check.probe:.6g} +- {check.probe_error:.2g} "
            f"against {vegas.mean:.6g} +- {vegas.sdev:.2g}{where}): VEGAS has missed part of the integrand"
        )
        return AutoChoice(flow_kind, reason, costs, vegas_trusted=False)
    fixed = costs.flow_fixed_seconds
    if fixed >= costs.vegas_seconds:
        reason = (
            f"VEGAS reached {rel:.2%} in {costs.vegas_seconds:.3g} s; a flow's calls before its final "
            f"iterations alone would take at least {fixed:.3g} s ({costs.flow_calls_before_final} calls, "
            f"{costs.call_seconds * 1e6:.3g} us a call, {costs.train_seconds * 1e6:.3g} us a training point)"
        )
        return AutoChoice("vegas", reason, costs)
    reason = (
        f"a flow could pay: its calls before the final iterations take {fixed:.3g} s, VEGAS took "
        f"{costs.vegas_seconds:.3g} s to {rel:.2%} ({costs.call_seconds * 1e6:.3g} us a call)"
    )
    return AutoChoice(flow_kind, reason, costs)


def _missed_share(check: CoverageCheck) -> str:
    for probe in check.probes:
        missed = probe.get("missed_by_sampler")
        if isinstance(missed, dict) and missed.get("share", 0) > 0:
            return f"{missed['share']:.1%} of sigma where VEGAS's grid is thin"
    return ""


def flow_paid(
    vegas: IntegrationResult, flow: IntegrationResult, flow_seconds: float, final_seconds: float, costs: Costs
) -> tuple[bool, str]:
    """Whether a flow trained for speed reached VEGAS's relative error sooner, and the sentence that says so.

    ``flow_seconds`` is the flow's whole fit, ``final_seconds`` its final iterations (whose number of
    points scales with ``(r_flow / r_vegas)^2`` for VEGAS's relative error).
    """
    r_vegas, r_flow = _rel(vegas), _rel(flow)
    to_vegas_precision = flow_seconds - final_seconds + final_seconds * (r_flow / r_vegas) ** 2
    paid = to_vegas_precision < costs.vegas_seconds
    verb = "reached" if paid else "would have reached"
    return paid, (
        f"the flow {verb} VEGAS's {r_vegas:.2%} in {to_vegas_precision:.3g} s against VEGAS's "
        f"{costs.vegas_seconds:.3g} s"
    )
