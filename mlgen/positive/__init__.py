"""Negative-weight elimination (``mlgen positive``): cell resampling, neural resampling, a flow."""

from mlgen.positive.make import METHODS, RENAMED, PositiveConfig, PositiveReport, make_positive
from mlgen.positive.neural import NeuralConfig, NeuralResult, neural_resample
from mlgen.positive.summary import WeightSummary, distortion, summarize

__all__ = [
    "METHODS",
    "NeuralConfig",
    "NeuralResult",
    "PositiveConfig",
    "PositiveReport",
    "RENAMED",
    "WeightSummary",
    "distortion",
    "make_positive",
    "neural_resample",
    "summarize",
]
