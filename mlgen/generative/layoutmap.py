"""The feature map of one record layout: the features' ranges, knots, conditioned columns, line shapes."""

from __future__ import annotations

__all__ = [
    "KNOWN_BOUNDS",
    "conditioned_columns",
    "feature_bounds",
    "fit_layout_map",
    "knots_per_column",
]

import math
from typing import Any

from torch import Tensor

from mlgen.generative.config import AmplifyConfig
from mlgen.generative.lineshapes import line_shapes
from mlgen.generative.preprocess import FeatureMap
from mlgen.generative.representation import EventGroup

#: The range of the feature kinds that have a physical one (angles, the rapidity's share of its range, the
#: system's mass above its threshold).
KNOWN_BOUNDS = {
    "cos_theta": (-1.0, 1.0),
    "cos_theta_h": (-1.0, 1.0),
    "z_theta": (-1.0, 1.0),
    "m_excess": (0.0, None),
    "y_frac": (-1.0, 1.0),
    "phi": (-math.pi, math.pi),
    "phi_h": (-math.pi, math.pi),
}


def feature_bounds(group: EventGroup, x: Tensor) -> list[tuple[float | None, float | None] | None]:
    """The range of each feature column where it is known, ``None`` where the data set it.

    Angles have their physical range. A jet's ``log pT`` is cut from below by the generator
    (``ptj``, MLM's ``xqcut``): the lowest value in the training features ``x`` is that
    edge, kept sharp (not padded) so the generated jets stop where the input's do. So are a
    resonance mass's lowest and highest values: generators cut resonance masses (MadGraph's
    ``bwcutoff`` and ``mmll``), and padded edges put 0.1% of MadGraph's Z + jets below its
    m_ll > 30 GeV (down to 21 GeV).
    """
    masses = set(group.mass_columns.values())
    out: list[tuple[float | None, float | None] | None] = []
    for j, (kind, *_) in enumerate(group.tree.columns):
        if kind == "log_pt":
            out.append((float(x[:, j].min()), None))
        elif j in masses:
            low, high = float(x[:, j].min()), float(x[:, j].max())
            out.append((low, high) if high > low else None)  # one mass in every event: held constant
        else:
            out.append(KNOWN_BOUNDS.get(kind))
    return out


def knots_per_column(
    group: EventGroup, config: AmplifyConfig, lines: list[tuple[float, float] | None] | None = None
) -> list[int]:
    """The CDF map's knots per feature column: more on resonance masses (narrow peaks), unless the
    column has its line shape (``lines``)."""
    knots = [config.knots] * group.n_features
    for col in group.mass_columns.values():
        if not (lines and lines[col]):
            knots[col] = config.mass_knots
    return knots


def conditioned_columns(group: EventGroup) -> dict[int, int]:
    """``{column: parent column}``: the system's scattering angle, given its mass.

    Even as ``z`` (:mod:`mlgen.generative.representation`) the forward peak grows with the mass of the
    system (the share at ``|z| > 0.8`` from 22% to 27% in t tbar); the generator's flow does not find
    that in 10^4 events, and the top's pT tail came out wrong (G = 0.4), a feature map fitted in four
    bins of the mass does (G = 8.6). The rapidity given the mass was tried too: its bulk G fell from
    1.8 to 1.1, the bins' quantiles copying the training sample's noise.
    """
    columns = group.tree.columns
    kinds = [c for c in (("m_excess", "sys"), ("m", "sys")) if c in columns]
    if not kinds:
        return {}
    mass = columns.index(kinds[0])
    return {j: mass for j, (kind, name) in enumerate(columns) if kind == "z_theta" and name.startswith("sys")}


def fit_layout_map(
    group: EventGroup,
    x: Tensor,
    w: Tensor,
    pdg: list[int],
    config: AmplifyConfig,
    spectrum: dict[int, tuple[float, float]] | None = None,
) -> tuple[FeatureMap, list[dict[str, Any]]]:
    """The feature map of ``group``'s training features ``x`` (weights ``w``), and its line shapes.

    ``pdg`` are the layout's (absolute) PDG ids per record slot, ``spectrum`` the input header's
    resonances (:func:`~mlgen.generative.lineshapes.header_spectrum`). Each line shape is described
    by its feature, source (``slha`` or ``median``), pole and width, and the residual's fit.

    Raises:
        ValueError: naming the layout, when every feature is the same in all events.
    """
    lines, sources = line_shapes(group, pdg, x, w, spectrum) if config.line_shapes else (None, {})
    fmap = FeatureMap.fit(
        x,
        w,
        bounds=feature_bounds(group, x),
        n_knots=knots_per_column(group, config, lines),
        lines=lines,
        given=conditioned_columns(group) if config.mass_bins else None,
        given_bins=max(config.mass_bins, 2),
        residuals={col for col, source in sources.items() if source == "slha"},
    )
    if fmap.dim == 0:
        raise ValueError(f"layout {group.key}: every feature is the same in all events; nothing to learn")
    described = []
    for col, source in sources.items():
        pole, width = (lines or [])[col] or (math.nan, math.nan)
        described.append(
            {"feature": group.columns[col], "source": source, "pole": pole, "width": width}
            | fmap.line_fits.get(col, {"degree": None})
        )
    return fmap, described
