"""Normalizing flows on the unit hypercube: rational-quadratic splines in coupling layers.

One package, below both users: the neural importance sampler (:mod:`mlgen.integrate`) and the
generative post-processing of event files.
"""

from __future__ import annotations

__all__ = ["Flow", "binary_masks", "n_spline_params", "rq_spline", "zero_last_mlp"]

from mlgen.flows.coupling import Flow, binary_masks, zero_last_mlp
from mlgen.flows.splines import n_spline_params, rq_spline
