"""The device a run uses: no global device (random streams: :mod:`mlgen.seeds`)."""

from __future__ import annotations

__all__ = ["resolve_device"]

import torch


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn a device string into a ``torch.device``.

    Arguments:
        spec: ``"auto"`` (CUDA when present, else CPU), ``None`` (same as auto),
            or anything ``torch.device`` accepts (``"cpu"``, ``"cuda:1"``).

    Returns:
        The device. A string that names no device, or CUDA on a machine without it, raises a
        ``ValueError`` naming the request, instead of failing later.
    """
    if spec is None or spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:  # torch's message lists twenty device types
        raise ValueError(f"device {spec!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} requested but CUDA is not available on this machine")
    return device
