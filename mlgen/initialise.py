"""Networks whose first parameters come from an explicit stream, not from torch's global generator.

torch's modules draw their parameters from the global generator when they are built.
:func:`fresh_module` builds them under ``torch.random.fork_rng`` (the global state is
restored afterwards: nothing leaks) and draws them again from a ``torch.Generator``
made from a seed-tree node (:mod:`mlgen.seeds`), with torch's own distributions.
"""

from __future__ import annotations

__all__ = ["fresh_module", "reinitialise_"]

import math
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from mlgen.seeds import SeedLike, torch_generator

Module = TypeVar("Module", bound=nn.Module)


def reinitialise_(module: Module, generator: torch.Generator) -> Module:
    """Draw ``module``'s linear layers again from ``generator`` (a CPU generator), as torch does.

    Every ``nn.Linear`` gets ``nn.Linear.reset_parameters``' distributions (Kaiming-uniform
    weights, uniform biases within ``1/sqrt(fan_in)``); a layer that starts at zero (a flow's
    last layer, so that the flow starts as the identity) stays zero, and a spectrally
    normalised layer gets new power-iteration vectors. Returns ``module``.
    """
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, nn.Linear):
                continue
            spectral = parametrize.is_parametrized(layer, "weight")
            # the parametrised layer's attributes are made at run time: typed as Any here
            params: Any = layer.parametrizations if spectral else None
            weight: Tensor = params.weight.original if spectral else layer.weight
            if not bool(weight.any()) and (layer.bias is None or not bool(layer.bias.any())):
                continue
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                bound = 1 / math.sqrt(weight.shape[1]) if weight.shape[1] > 0 else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
            if spectral:
                for norm in params.weight:
                    if hasattr(norm, "_u"):
                        matrix = norm._reshape_weight_to_matrix(weight)
                        for name, size in (("_u", matrix.shape[0]), ("_v", matrix.shape[1])):
                            draw = torch.randn(size, generator=generator, dtype=weight.dtype)
                            getattr(norm, name).copy_(nn.functional.normalize(draw, dim=0, eps=norm.eps))
                        norm._power_method(matrix, 15)
    return module


def fresh_module(build: Callable[[], Module], seed: SeedLike) -> Module:
    """``build()`` (on the CPU) with its parameters drawn from the stream ``seed``.

    Move the result with ``.to(device)``: the numbers are the same on every device.

    Example:
        >>> a = fresh_module(lambda: nn.Linear(3, 2), 7)
        >>> b = fresh_module(lambda: nn.Linear(3, 2), 7)
        >>> bool(torch.equal(a.weight, b.weight))
        True
    """
    with torch.random.fork_rng(devices=[]):
        module = build()
    return reinitialise_(module, torch_generator(seed))
