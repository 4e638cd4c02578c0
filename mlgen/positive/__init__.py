"""Negative-weight elimination (``mlgen positive``): cell resampling, neural resampling, a flow."""

from mlgen.positive.neural import NeuralConfig, NeuralResult, neural_resample
from mlgen.positive.resample import METHODS, PositiveConfig, make_positive
from mlgen.positive.summary import WeightSummary, distortion, summarize

__all__ = [
    "METHODS",
    "NeuralConfig",
    "NeuralResult",
    "PositiveConfig",
    "WeightSummary",
    "distortion",
    "make_positive",
    "neural_resample",
    "summarize",
]
