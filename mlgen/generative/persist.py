"""Trained generators to a file and back: more events later from the same input, with no training."""

from __future__ import annotations

__all__ = ["MODEL_FORMAT", "load_models", "save_models", "saved_model"]

import dataclasses
import os
import pickle
from typing import Any

import numpy as np
import torch

from mlgen.atomic import atomic_path
from mlgen.flows.coupling import Flow
from mlgen.generative.config import AmplifyConfig
from mlgen.generative.gan import GANGenerator
from mlgen.generative.model import GANModel, GroupModel
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup

#: What :func:`save_models` writes, so a later version can tell its files from older ones.
#: 3: the model's name, and a GAN's generator with its fixed columns (2: flows only; the Breit-Wigner
#: step in s = m^2, fitted residuals, masses held out of the flow; 1: the step in m).
MODEL_FORMAT = "mlgen-amplify-3"
#: The formats :func:`load_models` reads: format 2's files hold flows and name no model.
READABLE = ("mlgen-amplify-2", MODEL_FORMAT)


def _entry(m: GroupModel) -> dict[str, Any]:
    """One layout's generator as plain values: a flow's or a GAN's network, its weights, the feature map."""
    common = {
        "layout": m.group.key,
        "columns": m.group.columns,
        "features": m.features.state(),
        "losses": m.losses,
        "best_epoch": m.best_epoch,
        "seconds": m.seconds,
        "line_shapes": m.line_shapes,
        "held": m.held,
    }
    weights = {k: v.cpu() for k, v in m.generator.state_dict().items()}
    if isinstance(m, GANModel):
        # the fixed columns as pairs: a dict keyed by int reads back keyed by int, but say so plainly
        fixed = [[j, value] for j, value in sorted(m.fixed.items())]
        return common | {"gan_config": m.gan.config, "gan": weights, "fixed": fixed}
    return common | {"flow_config": m.flow.config, "flow": weights}


def save_models(path: str | os.PathLike[str], models: list[GroupModel], config: AmplifyConfig) -> None:
    """Write the trained generators (one per record layout; flows or GANs, ``config.model``) to ``path``:
    a partial file never takes the final name."""
    state = {
        "format": MODEL_FORMAT,
        "model": config.model,
        "config": dataclasses.asdict(config),
        "models": [_entry(m) for m in models],
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


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The plain values of a file of :func:`save_models`, read without running code from it."""
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
    if not isinstance(state, dict) or state.get("format") not in READABLE:
        raise ValueError(f"{path}: not a file of trained generators (expected format {MODEL_FORMAT!r})")
    return state


def _model_name(state: dict[str, Any]) -> str:
    """The saved model's name (format 2 names none: its flow is a discflow where it had a discriminator)."""
    if "model" in state:
        return str(state["model"])
    return "discflow" if state["config"].get("adversarial", 0.0) > 0 else "flow"


def saved_model(path: str | os.PathLike[str]) -> str:
    """The name of the model whose generators ``path`` holds (``flow``, ``discflow``, ``gan``).

    Raises:
        ValueError: naming the file, for a file that is not one of :func:`save_models`.
    """
    return _model_name(_read(path))


def _generator(saved: dict[str, Any], group: EventGroup, device: torch.device) -> GroupModel:
    """One layout's saved generator, on ``device``."""
    features = FeatureMap.from_state(saved["features"], device)
    if "gan" in saved:
        network = GANGenerator(**saved["gan_config"])
        network.load_state_dict(saved["gan"])
        fixed = {int(j): float(value) for j, value in saved["fixed"]}
        model: GroupModel = GANModel(group, network.to(device), features, 0.0, saved["losses"], fixed=fixed)
    else:
        flow = Flow(**saved["flow_config"])
        flow.load_state_dict(saved["flow"])
        model = GroupModel(group, flow.to(device), features, 0.0, saved["losses"])
    model.best_epoch, model.seconds, model.line_shapes = saved["best_epoch"], 0.0, saved["line_shapes"]
    model.held = saved["held"]
    return model


def load_models(
    path: str | os.PathLike[str], groups: list[EventGroup], device: torch.device, model: str | None = None
) -> list[GroupModel]:
    """The generators of ``path`` for ``groups`` (the input's record layouts), in their order; ``model``
    (:data:`~mlgen.generative.config.MODELS`), when given, the model whose generators the file must hold.

    Raises:
        ValueError: naming the file, for a file that is not one of :func:`save_models`, that holds
            another model's generators, or that has no generator for one of the input's layouts.
    """
    state = _read(path)
    if model is not None and _model_name(state) != model:
        raise ValueError(
            f"{path}: holds the generators of the model {_model_name(state)}, not of {model}: "
            f"generate with the model {_model_name(state)}, or train {model} on this input"
        )
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
        out.append(_generator(saved, group, device))
    return out
