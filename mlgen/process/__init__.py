"""A collider process: beams, PDFs, matrix element, phase space, scales and cuts
turned into a batched integrand over the unit hypercube, in pb."""

from __future__ import annotations
