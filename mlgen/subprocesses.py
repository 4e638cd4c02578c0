"""Partonic subprocesses (``u u~ > e+ e-``): their cross sections from a sample of a trained sampler,
and a process restricted to some of them.

Each point's integrand is the sum of its subprocesses' contributions (``Evaluation.contributions``),
so ``contribution_k / q`` averages to ``sigma_k`` over points drawn from ``q``: one sample gives every
subprocess's cross section with its own standard error. Subprocesses that differ only in the order
of the beams (``u u~`` and ``u~ u``) are one initial state: their columns are added point by point
before the average, so the error takes their correlation into account.
"""

from __future__ import annotations

__all__ = [
    "SelectedLuminosity",
    "SubprocessSigma",
    "pdg_label",
    "select_subprocesses",
    "subprocess_cross_sections",
]

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mlgen.integrate.base import Sampler

_NAMES = {
    1: "d", 2: "u", 3: "s", 4: "c", 5: "b", 6: "t", 21: "g", 22: "a", 23: "z", 24: "w+", 25: "h",
    11: "e-", 12: "ve", 13: "mu-", 14: "vm", 15: "ta-", 16: "vt",
}  # fmt: skip
# charged leptons and the W flip their sign for the antiparticle; the rest take a ~
_SIGNED = {11: "e+", 13: "mu+", 15: "ta+", 24: "w-"}


def _name(pdg: int) -> str:
    if pdg < 0 and -pdg in _SIGNED:
        return _SIGNED[-pdg]
    name = _NAMES.get(abs(pdg), str(abs(pdg)))
    return f"{name}~" if pdg < 0 and abs(pdg) not in (21, 22, 23, 25) else name


def pdg_label(pdg: Sequence[int]) -> str:
    """MadGraph5's way of writing a subprocess: ``(2, -2, -11, 11)`` -> ``u u~ > e+ e-``."""
    return " ".join(_name(p) for p in pdg[:2]) + " > " + " ".join(_name(p) for p in pdg[2:])


@dataclass(frozen=True)
class SubprocessSigma:
    """One initial state's cross section: its label (beam order of its first subprocess), the
    subprocesses it adds, sigma and its standard error in pb."""

    label: str
    subprocesses: tuple[tuple[int, ...], ...]
    sigma_pb: float
    sigma_err_pb: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "subprocesses": [list(p) for p in self.subprocesses],
            "sigma_pb": self.sigma_pb,
            "sigma_err_pb": self.sigma_err_pb,
        }


def _groups(pdgs: Sequence[Sequence[int]]) -> list[list[int]]:
    """Column indices grouped by initial state regardless of beam order, in first-seen order."""
    order: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = {}
    for k, pdg in enumerate(pdgs):
        key = (tuple(sorted(pdg[:2])), tuple(pdg[2:]))
        order.setdefault(key, []).append(k)
    return list(order.values())


def subprocess_cross_sections(
    source: Any,
    sampler: Sampler,
    pdgs: Sequence[Sequence[int]],
    n: int,
    generator: torch.Generator,
    batch_size: int = 100_000,
) -> list[SubprocessSigma]:
    """Every initial state's sigma from ``n`` points of ``sampler``, largest first.

    Arguments:
        source: what the sampler's points are points of (a process, or its channel sum); its
            ``evaluate(u, variations=False).contributions`` is ``(B, K)`` in pb, one column per
            subprocess.
        sampler: draws ``(u, log q)``.
        pdgs: the ``K`` subprocesses' PDG ids (incoming first).
        n: points to draw (>= 2).
        generator: the random stream.
        batch_size: points per evaluation.
    """
    groups = _groups(pdgs)
    sums = torch.zeros(len(groups), dtype=torch.float64)
    squares = torch.zeros(len(groups), dtype=torch.float64)
    done = 0
    while done < n:
        m = min(batch_size, n - done)
        u, log_q = sampler.sample(m, generator)
        contributions = source.evaluate(u, variations=False).contributions
        ratio = (contributions / torch.exp(log_q)[:, None]).double().cpu()
        grouped = torch.stack([ratio[:, g].sum(1) for g in groups], dim=1)
        sums += grouped.sum(0)
        squares += (grouped * grouped).sum(0)
        done += m
    mean = sums / n
    variance = (squares / n - mean * mean).clamp(min=0) * n / (n - 1)
    out = [
        SubprocessSigma(
            pdg_label(pdgs[g[0]]),
            tuple(tuple(int(p) for p in pdgs[k]) for k in g),
            float(mean[i]),
            math.sqrt(float(variance[i]) / n),
        )
        for i, g in enumerate(groups)
    ]
    return sorted(out, key=lambda s: -abs(s.sigma_pb))


def _matches(name: str, pdg: Sequence[int]) -> bool:
    """``name`` is this subprocess's initial state in either beam order (``"g g"``, ``"d~ u"``) or its
    whole label (``"u d~ > e+ ve"``, that beam order only); spaces as in :func:`pdg_label`."""
    name = " ".join(name.split())
    if ">" in name:
        return name == pdg_label(pdg)
    initial = [_name(p) for p in pdg[:2]]
    return sorted(name.split(" ")) == sorted(initial)


class SelectedLuminosity:
    """A process's parton luminosity ``(B, K)`` with the columns of unselected subprocesses zero: their
    contributions, events and scale variations vanish, the others are untouched."""

    def __init__(self, luminosity: Any, keep: Sequence[bool]) -> None:
        self.luminosity = luminosity
        self.keep = torch.tensor([float(k) for k in keep], dtype=torch.float64)

    def __call__(self, x1: torch.Tensor, x2: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
        lum = self.luminosity(x1, x2, q2)
        return lum * self.keep.to(device=lum.device, dtype=lum.dtype)


def select_subprocesses(process: Any, only: Sequence[str], exclude: Sequence[str]) -> list[str]:
    """Restrict ``process`` (its ``luminosity``) to the subprocesses ``only`` names (all when empty),
    less those ``exclude`` names; returns the labels kept.

    Raises:
        ValueError: ``"only[i]: ..."`` / ``"exclude[i]: ..."`` for a name that matches no subprocess
            (listing the initial states there are), or when nothing is left.
    """
    pdgs = [sub.pdg for sub in process.matrix_element.subprocesses]
    there = sorted({" ".join(_name(p) for p in pdg[:2]) for pdg in pdgs})
    for key, names in (("only", only), ("exclude", exclude)):
        for i, name in enumerate(names):
            if not any(_matches(name, pdg) for pdg in pdgs):
                raise ValueError(
                    f"{key}[{i}]: {name!r} is no subprocess of {process.name!r} "
                    f"(initial states: {', '.join(there)}; or a whole label such as {pdg_label(pdgs[0])!r})"
                )
    keep = [
        (not only or any(_matches(n, pdg) for n in only)) and not any(_matches(n, pdg) for n in exclude)
        for pdg in pdgs
    ]
    if not any(keep):
        raise ValueError(f"only, exclude: no subprocess of {process.name!r} is left")
    if not all(keep):
        process.luminosity = SelectedLuminosity(process.luminosity, keep)
    return [pdg_label(pdg) for pdg, k in zip(pdgs, keep) if k]
