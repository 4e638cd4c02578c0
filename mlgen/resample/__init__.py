"""What both post-processing routes share: the event embedding, cell resampling, the classifier.

Below :mod:`mlgen.generative` (amplification, subtraction, refinement) and :mod:`mlgen.positive`
(negative-weight removal); imports neither.
"""

from mlgen.resample.cell import CellResult, cell_resample
from mlgen.resample.classifier import ClassifierConfig, Ensemble, cross_fit, cross_fit_ensemble
from mlgen.resample.embedding import TAU, embed_events, network_features, object_layout

__all__ = [
    "TAU",
    "CellResult",
    "ClassifierConfig",
    "Ensemble",
    "cell_resample",
    "cross_fit",
    "cross_fit_ensemble",
    "embed_events",
    "network_features",
    "object_layout",
]
