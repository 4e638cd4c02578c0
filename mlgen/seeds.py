"""One seed tree: every random stream of a run derives from its seed through ``numpy.random.SeedSequence``.

A run makes the root ``SeedSequence(seed)`` and spawns a child for each stream it
hands out (event generation, each post-processing step); a library function that
needs several streams (network initialisation, training batches, generation,
hit-or-miss) spawns them from the sequence it was given. ``spawn`` never hands out
the same child twice, so streams stay independent however they nest, and the same
seed gives the same numbers. Nothing here, or anywhere in mlgen, seeds torch's or
numpy's global state.

A sequence becomes a ``torch.Generator`` with :func:`torch_generator` or a numpy
generator with :func:`numpy_rng`. The root of a run made from an integer seed turns
into the generators it gave before the seed tree existed (``numpy.random.default_rng(seed)``
and a torch generator seeded with ``seed``), so the VEGAS route keeps its numbers.
"""

from __future__ import annotations

__all__ = ["SeedLike", "as_seed_sequence", "numpy_rng", "torch_generator"]

import numpy as np
import torch

SeedLike = int | np.random.SeedSequence
"""A seed, or a node of a seed tree."""


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """``seed`` as a ``SeedSequence`` (the root of a tree for an integer; the node itself otherwise)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0 or a SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _torch_seed(seq: np.random.SeedSequence) -> int:
    entropy = seq.entropy
    if not seq.spawn_key and isinstance(entropy, int) and 0 <= entropy < 2**63:
        return entropy
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def torch_generator(seed: SeedLike, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` for the stream ``seed``."""
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(_torch_seed(as_seed_sequence(seed)))
    return generator


def numpy_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy ``Generator`` for the stream ``seed``."""
    return np.random.default_rng(as_seed_sequence(seed))
