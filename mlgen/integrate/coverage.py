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
    informative = rel < max_probe_rel
    passed = abs(pull) <= threshold
    if not passed:
        message = (
            f"COVERAGE CHECK FAILED: sampler {result.mean:.6g} +- {result.sdev:.2g} disagrees with the "
            f"independent VEGAS probe {probe.mean:.6g} +- {probe.sdev:.2g} (pull {pull:+.1f}); "
            "the sampler has probably missed a region of phase space"
        )
    elif not informative:
        message = (
            f"coverage check weak: the VEGAS probe ({probe.mean:.6g} +- {probe.sdev:.2g}) has a relative error "
            f"of {rel:.1%}, so the estimate is unconfirmed; spend more on the probe (probe_iter) or on VEGAS"
        )
    else:
        message = f"coverage check passed (pull {pull:+.2f} against the VEGAS probe)"
    return CoverageCheck(
        result.mean, result.sdev, probe.mean, probe.sdev, pull, threshold, passed, informative, message
    )
