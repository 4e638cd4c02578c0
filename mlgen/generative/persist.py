"""Trained generators to a file and back: more events later from the same input, with no training."""

from __future__ import annotations

__all__ = ["MODEL_FORMAT", "load_models", "save_models"]

import dataclasses
import os
import pickle
from typing import Any

import numpy as np
import torch

from mlgen.atomic import atomic_path
from mlgen.flows.coupling import Flow
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.model import GroupModel
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup

#: What :func:`save_models` writes, so a later version can tell its files from older ones.
#: 2: the Breit-Wigner step in s = m^2, fitted residuals, masses held out of the flow (1: the step in m).
MODEL_FORMAT = "mlgen-amplify-2"


def save_models(path: str | os.PathLike[str], models: list[GroupModel], config: AmplifyConfig) -> None:
    """Write the trained generators (one per record layout) to ``path``: a partial file never takes
    the final name."""
    state = {
        "format": MODEL_FORMAT,
        "config": dataclasses.asdict(config),
        "models": [
            {
                "layout": m.group.key,
                "columns": m.group.columns,
                "flow_config": m.generator.config,
                "flow": {k: v.cpu() for k, v in m.generator.state_dict().items()},
                "features": m.features.state(),
                "losses": m.losses,
                "best_epoch": m.best_epoch,
                "seconds": m.seconds,
                "line_shapes": m.line_shapes,
                "held": m.held,
            }
            for m in models
        ],
    }
    with atomic_path(path) as tmp:
        torch.save(_plain(state), tmp)


def _plain(value: Any) -> Any:
    """``value`` as what ``torch.load(..., weights_only=True)`` reads back: containers of str, int,
    float, bool, None and tensors (numpy scalars and arrays converted), so loading runs no code."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool, type(None), torch.Tensor)):
        return value
    raise TypeError(f"save_models: cannot store a {type(value).__name__} without pickling code")


def _global_of(err: Exception) -> str | None:
    """The line of torch's refusal that names the global a pickle wanted (``posix.system`` ...), or
    ``None`` when the file is no pickle of objects at all."""
    named = [line.strip().rstrip(".") for line in str(err).splitlines() if "GLOBAL" in line]
    return named[0] if named else None


def _last_line(err: Exception) -> str:
    """torch's own line about the data (``Unsupported operand 110``), not its advice around it."""
    lines = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
    lines = [line for line in lines if not line.startswith(("Please file", "Check the documentation"))]
    return lines[0] if lines else str(err).splitlines()[0]


def load_models(
    path: str | os.PathLike[str], groups: list[EventGroup], device: torch.device
) -> list[GroupModel]:
    """The generators of ``path`` for ``groups`` (the input's record layouts), in their order.

    Raises:
        ValueError: naming the file, for a file that is not one of :func:`save_models`, or that has
            no generator for one of the input's layouts.
    """
    try:
        # weights_only: a model file is data; one that would run code when unpickled is refused
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        wanted = _global_of(err)
        if wanted is None:
            raise ValueError(f"{path}: not a file of trained generators ({_last_line(err)})") from None
        raise ValueError(
            f"{path}: refused: it holds Python objects that loading would have to run ({wanted}); "
            "a file of trained generators holds tensors and plain values only (one written by an "
            "mlgen before issue 27 may hold them too: train and save the generators again)"
        ) from None
    except (OSError, RuntimeError, EOFError) as err:
        raise ValueError(f"{path}: not a file of trained generators ({err})") from None
    if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: not a file of trained generators (expected format {MODEL_FORMAT!r})")
    by_layout = {tuple(tuple(x) for x in m["layout"]): m for m in state["models"]}
    out = []
    for group in groups:
        saved = by_layout.get(group.key)
        if saved is None:
            raise ValueError(
                f"{path}: no generator for the input's record layout {group.key}; it has "
                f"{len(by_layout)} layout(s): train on this input instead of loading generators"
            )
        if saved["columns"] != group.columns:
            raise ValueError(
                f"{path}: the generator of layout {group.key} has the features {saved['columns']}, "
                f"this input's events have {group.columns} (another collider energy, or another version)"
            )
        flow = Flow(**saved["flow_config"])
        flow.load_state_dict(saved["flow"])
        model = GroupModel(
            group, flow.to(device), FeatureMap.from_state(saved["features"], device), 0.0, saved["losses"]
        )
        model.best_epoch, model.seconds, model.line_shapes = saved["best_epoch"], 0.0, saved["line_shapes"]
        model.held = saved["held"]
        out.append(model)
    return out
