"""The generative models' names and training settings (:class:`AmplifyConfig`)."""

from __future__ import annotations

__all__ = ["MODELS", "AmplifyConfig", "GANConfig"]

from dataclasses import dataclass

#: The generative models by name: ``flow``, a normalizing flow trained by weighted maximum
#: likelihood; ``discflow``, the same flow with a discriminator weighing its likelihood (the DiscFlow
#: coupling of arXiv:2110.13632, ``adversarial > 0``); ``gan``, a generative adversarial network in
#: the form of arXiv:1907.03764 (:mod:`mlgen.generative.gan`, ``AmplifyConfig.gan`` set).
MODELS = ("flow", "discflow", "gan")


@dataclass(frozen=True)
class GANConfig:
    """The adversarial generator's settings (:mod:`mlgen.generative.gan`).

    Generator and discriminator are MLPs of ``layers`` hidden layers of width ``hidden``; the
    generator draws ``noise`` Gaussian numbers per event beyond one per column it generates. Each
    minibatch of ``batch`` events (a GAN takes many small steps: ``AmplifyConfig.batch`` is the
    flow's) gives one step of each network. The
    discriminator learns at ``lr_discriminator``, the generator at ``lr_generator`` (two time
    scales, arXiv:1706.08500), both Adam with ``betas = (0.5, 0.9)`` as in arXiv:1907.03764.
    ``regulariser`` weighs the Jensen-Shannon gradient penalty of Roth et al. (arXiv:1705.09367) on
    the discriminator; ``mmd_weight`` the resonance masses' MMD with a Breit-Wigner kernel of the
    physical width (arXiv:1907.03764); ``ema`` the decay of the generator's weights' moving
    average, the network that generates and is evaluated (0: the last step's weights);
    ``check_every`` the epochs between evaluations on the held-out events (early stopping, on
    a sliced chi2 of ``check_factor`` times as many generated events). ``normalisation`` weighs the
    subtraction GAN's normalisation loss, ``(<f(c)> - sigma_S / sigma_B)^2``
    (:mod:`mlgen.generative.subtract_gan`; the amplification GAN has none).
    """

    hidden: int = 128
    layers: int = 3
    batch: int = 256
    noise: int = 6
    lr_generator: float = 2e-4
    lr_discriminator: float = 5e-4
    regulariser: float = 0.1
    mmd_weight: float = 1.0
    ema: float = 0.999
    check_every: int = 5
    check_factor: int = 10
    normalisation: float = 100.0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field for a setting out of its range."""
        for key in ("hidden", "layers", "batch", "check_every", "check_factor"):
            if getattr(self, key) < 1:
                raise ValueError(f"gan.{key}: expected an integer >= 1, got {getattr(self, key)}")
        for key in ("noise", "regulariser", "mmd_weight", "normalisation"):
            if getattr(self, key) < 0:
                raise ValueError(f"gan.{key}: expected a value >= 0, got {getattr(self, key)}")
        for key in ("lr_generator", "lr_discriminator"):
            if not getattr(self, key) > 0:
                raise ValueError(f"gan.{key}: expected a learning rate > 0, got {getattr(self, key)}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"gan.ema: expected a decay in [0, 1), got {self.ema}")


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
    (:mod:`mlgen.seeds`). ``gan`` makes the generator a GAN with these settings instead of a flow
    (the model ``gan``; ``epochs``, ``validation``, the feature map's settings and ``held_lines``
    apply to it as to the flow; ``batch``, ``hidden``, ``bins``, ``blocks``, ``lr``, ``adversarial``
    and ``mmd_weight`` are the flow's).
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
    gan: GANConfig | None = None

    @property
    def model(self) -> str:
        """``gan`` with GAN settings, else ``discflow`` with a discriminator in the flow's loss
        (``adversarial > 0``), else ``flow``."""
        if self.gan is not None:
            return "gan"
        return "discflow" if self.adversarial > 0 else "flow"

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field for a negative loss weight or a bad GAN setting."""
        for key in ("adversarial", "mmd_weight"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}: expected a weight >= 0, got {getattr(self, key)}")
        if self.gan is not None:
            if self.adversarial:
                raise ValueError("adversarial: weighs the flow's discriminator (discflow), not a GAN's")
            self.gan.validate()
