"""Generative post-processing: amplification, subtraction and refinement of events by flows and GANs.

The models (:data:`~mlgen.generative.config.MODELS`): ``flow``, a normalizing flow
trained by weighted likelihood; ``discflow``, the same with a discriminator weighing
the likelihood; ``gan``, a generative adversarial network (:mod:`~mlgen.generative.gan`).
:mod:`~mlgen.generative.amplify` writes more events than it trained on,
:mod:`~mlgen.generative.subtract` events of a difference B - S,
:mod:`~mlgen.generative.refine` corrects generated events by a classifier, and
:mod:`~mlgen.generative.quality` and :mod:`~mlgen.generative.compare` say how good a
generated sample is. Built on :mod:`mlgen.resample` and :mod:`mlgen.flows`; never
imports :mod:`mlgen.positive`.
"""

from mlgen.generative.amplify import AmplifyReport, LayoutReport, amplify
from mlgen.generative.compare import CompareReport, compare_samples
from mlgen.generative.config import MODELS, AmplifyConfig
from mlgen.generative.refine import RefineConfig, RefineReport, refine
from mlgen.generative.subtract import SubtractReport, subtract

__all__ = [
    "MODELS",
    "AmplifyConfig",
    "AmplifyReport",
    "CompareReport",
    "LayoutReport",
    "RefineConfig",
    "RefineReport",
    "SubtractReport",
    "amplify",
    "compare_samples",
    "refine",
    "subtract",
]
