"""Lines the post-processing commands print about their reports, and the deprecated method names:
not a command of its own."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built without importing torch
    from mlgen.generative.refine import RefineReport


def describe_refine(report: RefineReport, n_out: int) -> str:
    """One line: what the refinement cost and how far the generator was from its sample."""
    return (
        f"refine: {report.candidates} generated for {n_out} (efficiency {report.efficiency:.3f}); "
        f"density ratio to the sample: mean {report.rho_mean:.4f}, spread {report.rho_spread:.3f}, "
        f"{report.overweight_share:.1e} of it above the maximum"
    )


def process_rows(table: dict[int, dict[str, float]]) -> list[str]:
    """One line per process id: sigma before and after with their errors (the ``<init>`` figures)
    and the change in units of the input's error."""
    return [
        f"  process {pid}: sigma {row['sigma_before_pb']:.6g} +- {row['error_before_pb']:.3g} -> "
        f"{row['sigma_after_pb']:.6g} +- {row['error_after_pb']:.3g} pb ({row['pull']:+.2f} sigma)"
        for pid, row in table.items()
    ]


def renamed(command: str, option: str, old: str, new: str, meaning: str) -> str:
    """``new``, after telling stderr that ``option old`` is deprecated (accepted for one release)."""
    print(
        f"mlgen {command}: {option} {old} is deprecated: it names {meaning}; use {option} {new}",
        file=sys.stderr,
    )
    return new
