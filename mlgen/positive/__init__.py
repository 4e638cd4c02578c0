"""Negative-weight elimination: cell resampling, neural resampling, and the GAN route (``mlgen positive``)."""

from mlgen.positive.cell import CellResult, cell_resample
from mlgen.positive.embedding import embed_events
from mlgen.positive.neural import NeuralConfig, NeuralResult, neural_resample
from mlgen.positive.resample import METHODS, PositiveConfig, make_positive
from mlgen.positive.summary import WeightSummary, distortion, summarize

__all__ = [
    "METHODS",
    "CellResult",
    "NeuralConfig",
    "NeuralResult",
    "PositiveConfig",
    "WeightSummary",
    "cell_resample",
    "distortion",
    "embed_events",
    "make_positive",
    "neural_resample",
    "summarize",
]
