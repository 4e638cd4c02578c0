"""Events of the difference B - S of two samples, with cross section sigma_B - sigma_S.

The route here is a classifier, not yet the subtraction GAN of arXiv:1912.08824:
a network trained to tell S from B, each event weighted by its share of its
sample's cross section, learns ``D = sigma_S p_S / (sigma_S p_S + sigma_B p_B)``,
hence the local ratio ``r(x) = D / (1 - D) = (dsigma_S / dsigma_B)(x)``. An event
of B then carries ``w_B (1 - r)`` of the difference; where ``r`` scatters above
1 by noise, cell resampling (:mod:`mlgen.positive.cell`) cancels the negative
weights against neighbours, and hit-or-miss on the result gives unweighted
events of B - S. The network interpolates ``r`` over
neighbourhoods larger than a histogram bin, so where S is nearly B (``r -> 1``)
the result fluctuates by far less than a binned subtraction's ``sqrt(N_B + N_S)``;
it cannot, unlike a generator, write more events than B holds. ``r`` at an
event comes from the half of the data it was not trained on.

Where the difference is really negative (beyond ``max_cell_size``) the events
cannot be written as positive events; their share of the cross section is
reported, never dropped silently.

References:
    A. Butter, T. Plehn, R. Winterhalder, SciPost Phys. Core 3 (2020) 009, arXiv:1912.08824;
    A. Andreassen, B. Nachman, Phys. Rev. D 101 (2020) 091901, arXiv:1907.08209 (classifier ratios).
"""

from __future__ import annotations

__all__ = ["subtract"]

import dataclasses
import math
import time
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree

from mlgen.classifier import ClassifierConfig, cross_fit
from mlgen.events import EventBatch, ProcessLine, RunInfo
from mlgen.lhe.weights import per_event_pb
from mlgen.positive.cell import cell_resample
from mlgen.positive.embedding import embed_events, network_features


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


def _local_scale(points: np.ndarray, seed: int, k: int = 10) -> float:
    """Three times the median distance from an event to its ``k``-th neighbour (GeV), from 2000 events."""
    rng = np.random.default_rng(seed)
    probe = points[rng.choice(len(points), min(2000, len(points)), replace=False)]
    dist, _ = cKDTree(points).query(probe, k=min(k + 1, len(points)))
    return 3.0 * float(np.median(dist[:, -1]))


def subtract(
    base: tuple[RunInfo, EventBatch],
    sub: tuple[RunInfo, EventBatch],
    *,
    n_out: int | None = None,
    max_cell_size: float | None = None,
    config: ClassifierConfig | None = None,
    device: str = "cpu",
) -> tuple[EventBatch, RunInfo, dict[str, Any]]:
    """Unweighted events of ``base - sub`` (each ``(RunInfo, EventBatch)``), their run info and a report.

    Arguments:
        n_out: events to write (at most the number hit-or-miss keeps; default: all of them).
        max_cell_size: largest cell (GeV) cancelling negative fluctuations of the learnt difference;
            default: three times the median distance to the 10th neighbour (the scale of the
            classifier's noise, not of the physics: a few wrong ratios must not pull weight from
            across the phase space).
        config: the classifier.
        device: where it trains.
    """
    start = time.perf_counter()
    config = config if config is not None else ClassifierConfig()
    (info_b, b), (info_s, s) = base, sub
    w_b, w_s = _positive_weights(info_b, b, "base sample"), _positive_weights(info_s, s, "subtracted sample")
    sigma_b, sigma_s = float(w_b.mean()), float(w_s.mean())
    err_b, err_s = _sigma_error(info_b, w_b), _sigma_error(info_s, w_s)
    # what a histogram of the two samples puts on the whole phase space as one bin: the scale of
    # the statistical noise in B - S, sqrt(N_B + N_S) in counts for unweighted samples
    counting = math.sqrt(float((w_b**2).sum()) / len(w_b) ** 2 + float((w_s**2).sum()) / len(w_s) ** 2)
    if sigma_s >= sigma_b:
        raise ValueError(
            f"sigma_S = {sigma_s:.6g} pb >= sigma_B = {sigma_b:.6g} pb: B - S has no positive part"
        )
    both = EventBatch.concat([b, s])
    points = embed_events(both)
    features = network_features(both)
    label = np.concatenate([np.zeros(len(b), dtype=bool), np.ones(len(s), dtype=bool)])
    # each event weighs its share of its sample's cross section: the classes' totals are sigma_B, sigma_S
    size = np.concatenate([w_b / len(w_b), w_s / len(w_s)])
    d, epochs = cross_fit(features, label, size, config, device)
    d_b = np.clip(d[: len(b)], 0.0, 1.0 - 1e-12)
    r = d_b / (1 - d_b)
    diff = w_b * (1 - r)
    negative = diff < 0
    sigma_negative = float(diff[negative].sum()) / len(w_b)
    # Where S is nearly B, 1 - r fluctuates about a small value; clipping it at 0 would bias those
    # regions upwards. Cells cancel the negative fluctuations against their neighbours instead,
    # keeping every local sum (a real negative region needs cells wider than max_cell_size and
    # keeps negative weights: reported).
    if max_cell_size is None:
        max_cell_size = _local_scale(points[: len(b)], config.seed)
    cells = cell_resample(diff, points[: len(b)], max_cell_size=max_cell_size)
    kept_weight = np.clip(cells.weights, 0.0, None)
    sigma_left_negative = float(cells.weights[cells.weights < 0].sum()) / len(w_b)
    rng = np.random.default_rng(config.seed)
    keep = rng.random(len(b)) < kept_weight / kept_weight.max()
    index = np.flatnonzero(keep)
    if n_out is not None:
        if n_out > len(index):
            raise ValueError(
                f"-n: {n_out} events asked, but the classifier route can write at most the {len(index)} "
                "events of B it keeps (a generator that writes more is not there yet)"
            )
        index = rng.choice(index, n_out, replace=False)
    out = b[torch.as_tensor(np.sort(index), device=b.device)]
    sigma = sigma_b - sigma_s
    error = math.hypot(err_b, err_s)
    out.weight = torch.full((len(out),), sigma / max(len(out), 1), dtype=torch.float64, device=b.device)
    out.extra_weights = None
    report: dict[str, Any] = {
        "sigma_base_pb": sigma_b,
        "sigma_subtracted_pb": sigma_s,
        "sigma_pb": sigma,
        "error_pb": error,
        "counting_error_pb": counting,
        "sigma_from_weights_pb": float(diff.mean()),
        "negative_weights_sigma_pb": sigma_negative,
        "negative_weights_fraction": float(negative.mean()),
        "negative_after_cells_sigma_pb": sigma_left_negative,
        "cells": cells.to_dict() | {"max_cell_size_gev": max_cell_size},
        "n_base": len(b),
        "n_subtracted": len(s),
        "n_out": len(out),
        "epochs_per_fold": list(epochs),
        "warnings": [],
    }
    if sigma_left_negative < -2 * counting:
        report["warnings"].append(
            f"B - S is negative beyond the cells' reach ({sigma_left_negative:.4g} pb, "
            f"{-sigma_left_negative / counting:.1f} times the statistical noise of B - S): not written"
        )
    if abs(report["sigma_from_weights_pb"] - sigma) > 4 * math.hypot(error, counting):
        report["warnings"].append(
            f"the classifier's B - S integrates to {report['sigma_from_weights_pb']:.6g} pb, not "
            f"{sigma:.6g}: the ratio dsigma_S/dsigma_B is not learnt well enough"
        )
    report["seconds"] = time.perf_counter() - start
    run_info = dataclasses.replace(
        info_b,
        weight_strategy=3,
        processes=(ProcessLine(sigma, error, sigma / max(len(out), 1), 1),),
        weights=(),
        generator=("mlgen subtract", info_b.generator[1]),
    )
    out.process_id = torch.ones(len(out), dtype=torch.long, device=b.device)
    return out, run_info, report
