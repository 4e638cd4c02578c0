"""The integration result: vegas' ``RAvg`` plus what a generator user needs."""

from __future__ import annotations

__all__ = ["IntegrationResult", "Iteration", "PointSample"]

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from scipy.stats import chi2 as chi2_dist
from torch import Tensor

from mlgen.integrate.tail import KHAT_UNRELIABLE, pareto_k
from mlgen.measured import format_share
from mlgen.metrics import (
    effective_sample_size,
    error_uncertainty,
    reduced_max,
    unweighting_efficiency,
    weight_spread,
)

#: above this relative uncertainty of the weights' variance the result is flagged ``heavy_tail``, with a
#: warning. The error of the mean is then known only to about half this (+-25%), so a pull of 4 could
#: be anything from 3.2 to 5.3: beyond that the error bar, and any pull, means little. Measured on
#: Drell-Yan with pT > 25 GeV, |eta| < 2.5 through VEGAS (5 x 20000 adaptation, 5 x 20000 points,
#: seeds 0-19): with the cuts only as a mask (16% zero weights, eps(max) 0.002-0.23) the statistic
#: ranged 0.005-0.91 and fired in 6 of 20 runs at 0.5 (15 of 20 at 0.3, the threshold until
#: 2026-12-07; every pull within 3.1); with the cuts in the map (TwoBodyCutWindow) it is 0.007 and
#: never fires. A sampler that sees a camel peak only through a 0.2% uniform share gives > 0.6.
#: The statistic cannot see an infinite variance whose large weights have not turned up yet
#: (``u^-0.7``: 0.18-0.53 with pulls down to -5.3); the tail's Pareto shape does
#: (:mod:`mlgen.integrate.tail`), and above :data:`~mlgen.integrate.tail.KHAT_UNRELIABLE` (0.7,
#: PSIS's calibrated "unreliable") it flags the result too. Between 0.5 and 0.7 the variance is
#: infinite but the estimate usable (arXiv:1507.02646): the summary prints k; a warning there fired
#: on 2 of the first 5 right results of the ZueNIS camel's flow at 3e5 calls (k 0.5-0.6).
MAX_ERROR_UNCERTAINTY = 0.5


@dataclass(frozen=True)
class Iteration:
    """One iteration: mean and standard error of the mean weight (pb), points used."""

    mean: float
    sdev: float
    n: int


@dataclass(frozen=True)
class PointSample:
    """Points an estimate was made from: ``u (N, d)``, ``f (N,)`` and ``log q (N,)`` of the density
    they were drawn from (all float64). The coverage check asks another density about them."""

    u: Tensor
    f: Tensor
    log_q: Tensor

    @property
    def weights(self) -> Tensor:
        return self.f * torch.exp(-self.log_q)


@dataclass
class IntegrationResult:
    """Iterations combined by inverse-variance weighting, with weight diagnostics.

    Attributes:
        iterations: the per-iteration estimates (pb).
        n_eval: integrand evaluations in all, training included.
        weight_stats: figures of merit of the weights of the evaluation iterations:
            ``eff_max`` (mean/true max, at ``n``), ``eff_q`` (mean over the reduced
            max whose overweights carry a fraction ``q`` of sigma), ``n_eff``,
            ``spread`` (std/mean), ``error_uncertainty`` (:func:`~mlgen.metrics.error_uncertainty`),
            ``pareto_k`` (the tail's shape, :func:`~mlgen.integrate.tail.pareto_k`), ``n``, ``q``. An
            ``error_uncertainty`` above :data:`MAX_ERROR_UNCERTAINTY` or a ``pareto_k`` above
            :data:`~mlgen.integrate.tail.KHAT_UNRELIABLE` adds the flag ``heavy_tail`` and a warning.
        flags: warnings a user must see next to the number (e.g. a failed coverage check).
        sampler: a short description of the sampler.
        sample: some of the evaluation points (:class:`PointSample`) when the driver kept them, for
            the coverage check; not saved.
    """

    iterations: list[Iteration]
    n_eval: int
    weight_stats: dict[str, float] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    sampler: str = ""
    sample: PointSample | None = field(default=None, repr=False, compare=False)

    @property
    def mean(self) -> float:
        """Combined estimate (pb)."""
        w = [1 / it.sdev**2 for it in self.iterations if it.sdev > 0]
        if len(w) != len(self.iterations):
            return sum(it.mean for it in self.iterations) / len(self.iterations)
        return sum(wi * it.mean for wi, it in zip(w, self.iterations)) / sum(w)

    @property
    def sdev(self) -> float:
        """Error of :attr:`mean` (pb)."""
        if any(it.sdev <= 0 for it in self.iterations):
            return 0.0
        return (1.0 / sum(1 / it.sdev**2 for it in self.iterations)) ** 0.5

    @property
    def dof(self) -> int:
        return len(self.iterations) - 1

    @property
    def chi2(self) -> float:
        m = self.mean
        return sum(((it.mean - m) / it.sdev) ** 2 for it in self.iterations if it.sdev > 0)

    @property
    def chi2_dof(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else 0.0

    @property
    def Q(self) -> float:  # noqa: N802 - vegas' name
        """p-value of chi2 (1 for a single iteration)."""
        return float(chi2_dist.sf(self.chi2, self.dof)) if self.dof > 0 else 1.0

    def add_weight_stats(self, w: Tensor, q: float = 1e-3) -> None:
        """Fill :attr:`weight_stats` from the weights of an evaluation sample."""
        nz = w[w != 0]
        if len(nz) == 0:
            self.weight_stats = {"n": len(w), "q": q}
            return
        self.weight_stats = {
            "n": len(w),
            "q": q,
            "eff_max": unweighting_efficiency(w),
            "eff_q": unweighting_efficiency(w, reduced_max(w, q)),
            "n_eff": effective_sample_size(w),
            "spread": weight_spread(w),
            "error_uncertainty": error_uncertainty(w),
            "zero_fraction": 1 - len(nz) / len(w),
            "pareto_k": pareto_k(w),
        }
        unc, k = self.weight_stats["error_uncertainty"], self.weight_stats["pareto_k"]
        message = ""
        if unc > MAX_ERROR_UNCERTAINTY:
            message = (
                f"HEAVY-TAILED WEIGHTS: the weights' variance is uncertain by {unc:.0%}, so the error "
                f"bar by about {unc / 2:.0%} (a few points carry the variance); a region of phase space "
                f"is probably under-sampled, so the estimate and its error are not reliable"
            )
        elif k > KHAT_UNRELIABLE:
            message = (
                f"HEAVY-TAILED WEIGHTS: the largest weights follow a Pareto tail of shape k = {k:.2f} "
                f"(> {KHAT_UNRELIABLE}): the variance is infinite and the estimate converges too slowly "
                f"to be relied on; its error bar is too small and it is likely LOW (a region of phase "
                f"space is under-sampled)"
            )
        if message:
            self.flags["heavy_tail"] = message
            self.warn(message)

    def warn(self, message: str) -> None:
        """Add ``message`` to ``flags["warning"]``, what the CLI and ``result.json`` show."""
        previous = self.flags.get("warning")
        self.flags["warning"] = message if not previous else f"{previous}\n{message}"

    def withdraw(self, message: str) -> None:
        """Take ``message`` out of ``flags["warning"]`` (the flag goes when nothing is left)."""
        kept = [line for line in str(self.flags.get("warning", "")).split("\n") if line and line != message]
        if kept:
            self.flags["warning"] = "\n".join(kept)
        else:
            self.flags.pop("warning", None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "mean_pb": self.mean,
            "sdev_pb": self.sdev,
            "chi2_dof": self.chi2_dof,
            "Q": self.Q,
            "n_eval": self.n_eval,
            "sampler": self.sampler,
            "iterations": [{"mean_pb": it.mean, "sdev_pb": it.sdev, "n": it.n} for it in self.iterations],
            "weights": dict(self.weight_stats),
            "flags": dict(self.flags),
        }

    def summary(self) -> str:
        """The per-iteration table and the figures of merit, as text."""
        lines = [
            f"itn   integral (pb)               average (pb)          chi2/dof    Q     [{self.sampler}]"
        ]
        acc: list[Iteration] = []
        for i, it in enumerate(self.iterations, 1):
            acc.append(it)
            part = IntegrationResult(list(acc), 0)
            lines.append(
                f"{i:3d}   {_fmt(it.mean, it.sdev):24s}  {_fmt(part.mean, part.sdev):22s}"
                f"{part.chi2_dof:8.2f}  {part.Q:5.2f}"
            )
        s = self.weight_stats
        rel = self.sdev / abs(self.mean) if self.mean else math.inf
        lines.append(
            f"sigma = {_fmt(self.mean, self.sdev)} pb   (rel. error {rel:.2e}, {self.n_eval} evaluations)"
        )
        if "eff_max" in s:
            lines.append(
                f"weights (N = {s['n']}): std/mean = {s['spread']:.3g}, N_eff = {s['n_eff']:.4g}, "
                f"eps(max) = {s['eff_max']:.3g}, eps(q = {s['q']:g}) = {s['eff_q']:.3g}, "
                f"{_error_known(s['error_uncertainty'])}, "
                f"tail shape k = {s.get('pareto_k', math.nan):.2f}"
            )
        for key, value in self.flags.items():
            if key == "coverage":
                lines.append(value["message"])
            elif key == "training":
                lines.append(
                    f"training: {value['n_calls']} calls, {value['n_steps']} steps, "
                    f"{value['n_skipped']} skipped, rel. std {value['rel_std_first']:.3g} -> "
                    f"{value['rel_std_last']:.3g}, {value['seconds']:.1f} s"
                )
            elif key == "defensive":
                per_channel = value if isinstance(value, list) else [value]
                for c, shares in enumerate(per_channel):
                    if shares:
                        where = f", channel {c}" if isinstance(value, list) else ""
                        lines.append(f"defensive shares{where}: {_shares(shares)}")
            elif key == "channels":
                alloc = ", ".join(f"{a:.3g}" for a in value["allocation"])
                lines.append(f"channels: allocation {alloc}; dropped {value['dropped'] or 'none'}")
            elif key == "tail_settled":
                lines.append(f"weights: {value}")
            elif key == "auto":
                lines.append(f"integrator auto: chose {value['kind']}: {value['reason']}")
            elif key == "exploration":
                lines.append(f"exploration: {value['modes']} ({value['n_calls']} calls, probe included)")
            elif key == "loaded_from":
                lines.append(f"sampler loaded from {value}")
            elif key != "warning":
                lines.append(f"FLAG {key}: {value}")
        return "\n".join(lines)


def _shares(s: dict[str, Any]) -> str:
    """The re-chosen defensive shares (mlgen.integrate.defensive.ShareChoice) in one line."""
    return (
        f"VEGAS grid {s['defensive_before']:g} -> {s['defensive']:g}, uniform {s['uniform_before']:g} -> "
        f"{s['uniform']:g} (estimated std/mean {s['rel_std_before']:.3g} -> {s['rel_std_after']:.3g}, "
        f"eps(q) {s['eff_before']:.3g} -> {s['eff_after']:.3g})"
    )


def _error_known(error_uncertainty: float) -> str:
    """How well the error is known (:func:`~mlgen.metrics.error_uncertainty`) in words: two significant
    digits, never a rounded "0%"; 0 only for constant weights, whose error is exactly 0."""
    if error_uncertainty == 0:
        return "error exact (constant weights)"
    if not math.isfinite(error_uncertainty):
        return "how well the error is known: unknown"
    return f"error known to {format_share(error_uncertainty)}"


def _fmt(mean: float, sdev: float) -> str:
    """``mean +- sdev`` at the table's precision; a zero or unknown error said in words, not "+- 0"."""
    if sdev == 0:
        return f"{mean:.8g} (no spread)"
    if not math.isfinite(sdev):
        return f"{mean:.8g} (no error)"
    return f"{mean:.8g} +- {sdev:.3g}"
