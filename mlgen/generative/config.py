"""The generative models' names and training settings (:class:`AmplifyConfig`)."""

from __future__ import annotations

__all__ = ["MODELS", "AmplifyConfig"]

from dataclasses import dataclass

#: The generative models by name: ``flow``, a normalizing flow trained by weighted maximum
#: likelihood; ``discflow``, the same flow with a discriminator weighing its likelihood (the DiscFlow
#: coupling of arXiv:2110.13632, ``adversarial > 0``); ``gan``, an adversarial generator (not
#: implemented yet).
MODELS = ("flow", "discflow", "gan")


@dataclass(frozen=True)
class AmplifyConfig:
    """Training settings.

    ``epochs`` over the group's events in minibatches of ``batch``; the flow has
    ``blocks`` repetitions of its coupling masks with ``bins`` spline bins and
    MLPs of width ``hidden``; ``adversarial`` and ``mmd_weight`` weigh the
    discriminator's and the resonance-mass MMD's terms against the likelihood
    (``adversarial > 0`` makes the flow a ``discflow``: :attr:`model`);
    ``knots`` is the resolution of the features' CDF map, ``mass_knots`` that of
    the resonance masses (narrow peaks need more; more knots copy more of the
    training sample's fluctuations); ``line_shapes`` gives a resonance its Breit-Wigner
    step in the map (:mod:`mlgen.generative.preprocess`; the pole and width of the input's
    ``<slha>`` block, else the PDG width, :data:`mlgen.physics.sm.PDG_WIDTHS`),
    and a fitted residual instead of ``mass_knots`` quantile knots; ``held_lines``
    draws such a mass from its line shape and makes it the flow's context, so the
    flow cannot move the peak back to the training sample's; ``mass_bins`` the
    bins of the system's mass in which the scattering angle's map is fitted
    (:func:`~mlgen.generative.layoutmap.conditioned_columns`; 0: its marginal); ``validation``
    the held-out share for early stopping; ``seed`` the root of the random streams
    (:mod:`mlgen.seeds`).
    """

    epochs: int = 60
    batch: int = 1024
    hidden: int = 32
    bins: int = 8
    blocks: int = 1
    lr: float = 2e-3
    adversarial: float = 0.0
    mmd_weight: float = 0.0
    knots: int = 24
    mass_knots: int = 64
    line_shapes: bool = True
    held_lines: bool = True
    mass_bins: int = 4
    validation: float = 0.1
    seed: int = 1

    @property
    def model(self) -> str:
        """``discflow`` with a discriminator in the loss (``adversarial > 0``), else ``flow``."""
        return "discflow" if self.adversarial > 0 else "flow"

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field for a negative loss weight."""
        for key in ("adversarial", "mmd_weight"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}: expected a weight >= 0, got {getattr(self, key)}")
