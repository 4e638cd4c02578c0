"""The coverage check: a trained sampler's estimate against an independent VEGAS probe.

A flow that never found a region of the integrand reports a small error bar
around a wrong value; its own weights cannot show it. The probe is an estimate
from different points and a different density (a VEGAS grid, which covers every
axis projection of the integrand); a pull beyond ``threshold`` standard
deviations flags the result. A probe whose own relative error is large cannot
confirm anything, and the check says so instead of passing.
"""

from __future__ import annotations

__all__ = ["CoverageCheck", "coverage_check"]

import math
from dataclasses import asdict, dataclass

from mlgen.integrate.result import IntegrationResult


@dataclass(frozen=True)
class CoverageCheck:
    """Outcome of :func:`coverage_check`; ``passed`` is False when the estimates disagree."""

    estimate: float
    error: float
    probe: float
    probe_error: float
    pull: float
    threshold: float
    passed: bool
    informative: bool
    message: str

    @property
    def confirmed(self) -> bool:
        """True only when an informative probe agrees: what a user may rely on."""
        return self.passed and self.informative

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"confirmed": self.confirmed}


def coverage_check(
    result: IntegrationResult,
    probe: IntegrationResult,
    *,
    threshold: float = 4.0,
    max_probe_rel: float = 0.05,
) -> CoverageCheck:
    """Compare ``result`` with ``probe``; flag a pull above ``threshold``.

    The probe is *informative* when its relative error is below ``max_probe_rel``;
    an uninformative probe passes only what it can see (a pull check with its wide error)
    and says that it is weak.
    """
    sigma = math.hypot(result.sdev, probe.sdev)
    pull = (
        (result.mean - probe.mean) / sigma if sigma > 0 else (0.0 if result.mean == probe.mean else math.inf)
    )
    rel = probe.sdev / abs(probe.mean) if probe.mean else math.inf
    # a probe whose own iterations disagree has an error bar that cannot be trusted either
    consistent = probe.Q > 1e-3
    informative = rel < max_probe_rel and consistent
    passed = abs(pull) <= threshold
    found = (
        f"sampler {result.mean:.6g} +- {result.sdev:.2g} vs independent VEGAS probe "
        f"{probe.mean:.6g} +- {probe.sdev:.2g} (pull {pull:+.1f})"
    )
    if not passed and pull < 0:
        message = f"COVERAGE CHECK FAILED: {found}; the sampler has probably missed a region of phase space"
    elif not passed:
        message = (
            f"COVERAGE CHECK FAILED: {found}; the sampler is above the probe: the probe may have "
            "under-sampled "
            "a region (heavy-tailed VEGAS weights), or the sampler's weights fluctuated up"
        )
    elif not informative:
        why = (
            f"a relative error of {rel:.1%}"
            if consistent
            else f"iterations that disagree (Q = {probe.Q:.1e})"
        )
        message = (
            f"coverage check weak: the VEGAS probe ({probe.mean:.6g} +- {probe.sdev:.2g}) has {why}, so the "
            "estimate is unconfirmed; spend more on VEGAS (n_adapt_iter, vegas_per_iter, probe_iter)"
        )
    else:
        message = f"coverage check passed (pull {pull:+.2f} against the VEGAS probe)"
    return CoverageCheck(
        result.mean, result.sdev, probe.mean, probe.sdev, pull, threshold, passed, informative, message
    )
