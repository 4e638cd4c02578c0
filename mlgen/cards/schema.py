"""The run card: what a TOML card may say, its defaults and its value checks.

A card has one table per concern (``[process]``, ``[beams]``, ``[pdf]``,
``[model]``, ``[scales]``, ``[[cuts]]``, ``[integrator]``, ``[events]``,
``[run]``, ``[[hooks]]``). Types are checked by :mod:`mlgen.cards.validate`; each table's
``validate()`` checks values and raises ``ValueError("key: what was expected")``.
"""

from __future__ import annotations

__all__ = [
    "BEAM_PARTICLES",
    "BeamsCard",
    "Card",
    "CutCard",
    "EventsCard",
    "FlowCard",
    "HookCard",
    "IntegratorCard",
    "ModelCard",
    "PDFCard",
    "ProcessCard",
    "PropagatorCard",
    "RunCard",
    "SCALE_CHOICES",
    "ScalesCard",
    "UserMatrixElementCard",
]

from dataclasses import dataclass, field
from typing import Any, Literal

from mlgen.integrate.base import Budget
from mlgen.integrate.kinds import INTEGRATORS
from mlgen.physics.sm import GMU

#: Beam particle names and their PDG ids.
BEAM_PARTICLES = {"p": 2212, "pbar": -2212, "e-": 11, "e+": -11}

#: Dynamical scale choices (see :mod:`mlgen.process.scales`).
SCALE_CHOICES = ("fixed", "m_ll", "m_final", "ht_half", "ht", "sqrt_shat", "m_t", "mt_half", "mt_sum", "et")

Observable = Literal[
    "pt", "eta", "abs_eta", "y", "abs_y", "m", "delta_r", "ht", "y_pair", "m_pair", "pt_leading"
]
Objects = Literal[
    "leptons", "charged_leptons", "neutrinos", "jets", "quarks", "gluons", "b", "photons", "top", "all"
]


@dataclass(frozen=True)
class PropagatorCard:
    """An s-channel propagator of a user matrix element (``daughters`` index the external particles)."""

    daughters: tuple[int, ...]
    mass: float
    width: float = 0.0
    pdg: int = 0

    def validate(self) -> None:
        if len(self.daughters) < 2:
            raise ValueError(f"daughters: expected at least two particle indices, got {list(self.daughters)}")
        if self.mass < 0 or self.width < 0:
            raise ValueError(f"mass, width: expected values >= 0 GeV, got {self.mass}, {self.width}")


@dataclass(frozen=True)
class UserMatrixElementCard:
    """``[process.user]``: the particles of a user's ``|M|^2`` function (:mod:`mlgen.matrix.user`)."""

    subprocesses: tuple[tuple[int, ...], ...]
    kind: Literal["torch", "numpy", "event"] = "torch"
    masses: tuple[float, ...] | None = None
    colour: tuple[tuple[tuple[int, int], ...], ...] | None = None
    propagators: tuple[PropagatorCard, ...] = ()


@dataclass(frozen=True)
class ProcessCard:
    """The matrix element: a built-in name, ``module:attr`` or ``path/file.py:attr``.

    With a ``[process.user]`` table, ``matrix_element`` names a plain ``|M|^2``
    function and the table describes its particles.

    ``bwcutoff`` (MadGraph's run-card key of the same name and meaning) keeps the
    invariant mass of every resonance in a decay chain within ``bwcutoff`` widths
    of its pole: a cut, and a restriction of the phase-space maps to the window.
    Resonances over the whole final state (the Z of Drell–Yan) are not affected.
    MadGraph's default is 15; here there is none unless the card gives one.

    ``only`` keeps the subprocesses it names, ``exclude`` drops them: an initial state in
    either beam order (``"g g"``, ``"u u~"``) or a whole subprocess as MadGraph5 writes it
    (``"u d~ > e+ ve"``). The others are left out of the cross section and the events.
    """

    matrix_element: str
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    user: UserMatrixElementCard | None = None
    bwcutoff: float | None = None
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def validate(self) -> None:
        if not self.matrix_element:
            raise ValueError("matrix_element: expected a built-in name or module:attr")
        if self.bwcutoff is not None and not self.bwcutoff > 0:
            raise ValueError(f"bwcutoff: expected a number of widths > 0, got {self.bwcutoff}")


@dataclass(frozen=True)
class BeamsCard:
    """Beams: particle names (``p``, ``pbar``, ``e-``, ``e+``) and the collider energy in GeV."""

    sqrt_s: float
    particles: tuple[str, str] = ("p", "p")

    def validate(self) -> None:
        for name in self.particles:
            if name not in BEAM_PARTICLES:
                raise ValueError(f"particles: expected names among {sorted(BEAM_PARTICLES)}, got {name!r}")
        if not self.sqrt_s > 0:
            raise ValueError(f"sqrt_s: expected a positive energy in GeV, got {self.sqrt_s}")

    @property
    def hadronic(self) -> bool:
        return all(abs(BEAM_PARTICLES[p]) == 2212 for p in self.particles)


@dataclass(frozen=True)
class PDFCard:
    """PDF set (LHAPDF name or path) and member; ``backend = "lhapdf"`` uses the lhapdf module.

    ``alphas_loops`` sets the loop order of alpha_s's running for a set without an ``.info``
    (the pythia8mc wheel's): by default the set's order (LO 1); MadEvent runs its built-in
    NNPDF 2.3 sets at 2 loops. ``alphas_nf_max`` caps the number of active flavours in that
    running (default 6: a top threshold at 172.5 GeV, as LHAPDF's ``ode``; MadEvent's
    ``alfas_functions.f`` stops at 5, which gives a 1% smaller alpha_s^2 at 250 GeV).
    ``alphas_mz`` runs alpha_s from this value at M_Z instead of the set's own (the PDFs stay the
    set's: a choice made knowingly, e.g. to match another program's coupling)."""

    set: str = "NNPDF23_lo_as_0130_qed"
    member: int = 0
    backend: Literal["mlgen", "lhapdf"] = "mlgen"
    alphas_loops: int | None = None
    alphas_nf_max: int | None = None
    alphas_mz: float | None = None

    def validate(self) -> None:
        if self.member < 0:
            raise ValueError(f"member: expected an integer >= 0, got {self.member}")
        if self.alphas_loops is not None and self.alphas_loops not in (1, 2, 3):
            raise ValueError(f"alphas_loops: expected 1, 2 or 3, got {self.alphas_loops}")
        if self.alphas_nf_max is not None and self.alphas_nf_max not in (3, 4, 5, 6):
            raise ValueError(f"alphas_nf_max: expected 3, 4, 5 or 6, got {self.alphas_nf_max}")
        if self.alphas_mz is not None and not 0.05 <= self.alphas_mz <= 0.3:
            raise ValueError(f"alphas_mz: expected alpha_s(M_Z) between 0.05 and 0.3, got {self.alphas_mz}")


CKMRow = tuple[float, float, float]


@dataclass(frozen=True)
class ModelCard:
    """Standard Model parameters: a named scheme or an SLHA ``param_card.dat``.

    ``ckm`` gives the magnitudes ``|V_ij|`` of the CKM matrix, rows ``(u, c, t)``, columns
    ``(d, s, b)``, e.g. the PDG's global fit
    ``[[0.97435, 0.22500, 0.00369], [0.22486, 0.97349, 0.04182], [0.00857, 0.04110, 0.999118]]``.
    Each row and column must be unitary to 1% (``sum |V|^2 = 1``). Default: the identity, or the
    Cabibbo angle of a param card's ``CKMBLOCK`` (MadGraph5's ``sm-ckm``). It enters the matrix
    elements with W couplings as ``|V_ij|^2`` (``w_lnu``: a ``u s~`` initial state appears with
    ``|V_us|^2``; ``ttbar_6j``: ``|V_tb|^2`` per top, and the ``W -> u d~, c s~`` decays it generates
    take ``|V_ud|^2``, ``|V_cs|^2``: the off-diagonal ones are not generated); the others have no W
    coupling. A MadGraph5 or a user's matrix element has its own couplings, which mlgen cannot
    change: a CKM matrix there is refused.
    """

    scheme: Literal["gmu", "mg5_sm"] = "gmu"
    param_card: str | None = None
    ckm: tuple[CKMRow, CKMRow, CKMRow] | None = None

    def validate(self) -> None:
        if self.ckm is None:
            return
        if any(not 0 <= v <= 1 for row in self.ckm for v in row):
            given = [list(row) for row in self.ckm]
            raise ValueError(f"ckm: expected magnitudes |V_ij| between 0 and 1, got {given}")
        lines = [(f"row {q}", row) for q, row in zip("uct", self.ckm)]
        lines += [(f"column {q}", column) for q, column in zip("dsb", zip(*self.ckm))]
        for name, values in lines:
            total = sum(v * v for v in values)
            if abs(total - 1) > 0.01:
                raise ValueError(
                    f"ckm: {name} has sum |V|^2 = {total:.4g}, expected 1 within 0.01 (a unitary matrix)"
                )


@dataclass(frozen=True)
class ScalesCard:
    """Renormalisation and factorisation scales: a choice each, a fixed value and factors."""

    mu_r: str = "fixed"
    mu_f: str = "fixed"
    value: float = GMU.mz
    factor_r: float = 1.0
    factor_f: float = 1.0
    variations: bool = True

    def validate(self) -> None:
        for key in ("mu_r", "mu_f"):
            if getattr(self, key) not in SCALE_CHOICES:
                raise ValueError(
                    f"{key}: expected one of {', '.join(SCALE_CHOICES)}, got {getattr(self, key)!r}"
                )
        for key in ("value", "factor_r", "factor_f"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key}: expected a positive number, got {getattr(self, key)}")


@dataclass(frozen=True)
class CutCard:
    """One cut: ``min <= observable(objects) <= max``.

    ``pt``, ``eta``, ``abs_eta``, ``y``, ``abs_y`` apply to every object of the
    class; ``m`` and ``ht`` to the sum over the class; ``pt_leading`` to the largest
    ``pt`` of the class (MadGraph's ``xptj``); ``delta_r``, ``m_pair`` (MadGraph's
    ``mmjj``) and ``y_pair`` (``m_ij^2 / s_hat``, the JADE-type resolution of a pair)
    to every pair.
    """

    observable: Observable
    objects: Objects
    min: float | None = None
    max: float | None = None

    def validate(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("min: a cut needs min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"max: expected max > min, got min={self.min}, max={self.max}")
        if self.observable not in ("eta", "y"):
            for key in ("min", "max"):
                value = getattr(self, key)
                if value is not None and value < 0:
                    raise ValueError(f"{key}: {self.observable} cannot be negative, got {value}")


@dataclass(frozen=True)
class FlowCard:
    """``[integrator.flow]``: the neural importance sampler (kinds ``flow`` and ``multichannel``).

    ``n_calls`` integrand calls go to training, on top of the VEGAS adaptation
    (``[integrator] n_adapt_iter`` iterations of ``vegas_per_iter`` points) and
    the VEGAS probe of the coverage check (``probe_iter`` iterations).
    ``warm_start = true`` puts the flow (each channel's flow) on top of the
    adapted VEGAS grid; by default it learns on the plain cube, which measured
    better in the unweighting efficiency on every benchmark case (the table in
    ``benchmarks/README.md``; the cube-against-grid runs are in its git history).
    ``defensive`` (VEGAS grid) and ``uniform`` are the shares of points that skip the flow while it trains;
    with ``tune_shares`` they are chosen again after training, for
    the least variance that keeps the unweighting efficiency, with the uniform
    share at least ``min_uniform``. ``n_bins`` spline bins per dimension, ``hidden`` and
    ``layers`` the width and depth of each coupling's network, ``n_blocks`` repetitions of
    the couplings (``bins`` and ``blocks`` are the old spellings, accepted with a warning).
    ``explore`` (kind ``flow``) looks for the integrand's separated peaks before training:
    ``explore_starts`` hill climbs of ``explore_steps`` steps each (one call per climb and step),
    then a probe with a mixture of Gaussians around the peaks found: a second probe of the
    coverage check, and points that seed training (64 x 200 found both peaks of the 16-d camel
    with alpha = 0.1 in 10 of 10 seeds). ``explore = false`` saves those calls (about
    ``explore_starts x explore_steps + probe_iter x vegas_per_iter``) where one peak is known.
    ``explore_channels = true`` (kind ``multichannel``) runs the same exploration after training on
    the channel sum: a second probe of the coverage check that names the regions the channels
    missed (off by default; it costs the same calls).
    """

    n_calls: int = 200_000
    batch: int = 1_024
    replay: int = 1
    loss: Literal["variance", "kl"] = "variance"
    anneal: float = 0.5
    lr: float = 3e-3
    n_bins: int = field(default=10, metadata={"old_name": "bins"})
    hidden: int = 32
    layers: int = 3
    n_blocks: int = field(default=1, metadata={"old_name": "blocks"})
    defensive: float = 0.1
    uniform: float = 0.01
    tune_shares: bool = True
    min_uniform: float = 0.005
    warm_start: bool = False
    vegas_per_iter: int = 20_000
    probe_iter: int = 2
    coverage_threshold: float = 4.0
    explore: bool = True
    explore_starts: int = 64
    explore_steps: int = 200
    explore_channels: bool = False

    def validate(self) -> None:
        counts: tuple[str, ...] = ("n_calls", "batch", "n_bins", "hidden", "layers", "n_blocks")
        counts += ("vegas_per_iter", "explore_starts", "explore_steps")
        for key in (*counts, "probe_iter"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: expected an integer >= 1, got {getattr(self, key)}")
        if self.batch > self.n_calls:
            raise ValueError(f"batch: expected at most n_calls = {self.n_calls}, got {self.batch}")
        if self.replay < 0:
            raise ValueError(f"replay: expected an integer >= 0, got {self.replay}")
        if self.lr <= 0:
            raise ValueError(f"lr: expected a number > 0, got {self.lr}")
        if not 0 <= self.anneal <= 1:
            raise ValueError(f"anneal: expected a share of the training in [0, 1], got {self.anneal}")
        if self.defensive < 0 or self.uniform < 0 or self.defensive + self.uniform >= 1:
            raise ValueError(
                f"defensive, uniform: expected shares >= 0 with a sum below 1, "
                f"got {self.defensive} and {self.uniform}"
            )
        if not 0 <= self.min_uniform < 0.5:
            raise ValueError(f"min_uniform: expected a share in [0, 0.5), got {self.min_uniform}")
        if self.coverage_threshold <= 0:
            raise ValueError(f"coverage_threshold: expected a number > 0, got {self.coverage_threshold}")


@dataclass(frozen=True)
class IntegratorCard:
    """How to integrate: the sampler kind and its budget.

    ``kind`` is a name of :data:`mlgen.integrate.kinds.INTEGRATORS`. ``auto`` runs VEGAS and an
    exploration that checks it, and trains a flow (the multi-channel flow where the process has
    several channels) only where VEGAS's estimate cannot be trusted or a flow reaches VEGAS's
    precision sooner at the measured cost per call (an expensive integrand); the printout says
    what it chose and why, and a saved sampler names the kind chosen. ``load`` names a
    sampler saved by an earlier run (``sampler.pt``): it is used as it stands, with no
    adaptation or training, to generate more events. It must have been trained on the
    card's process (matrix element, particles, dimension, channels: another is refused).
    Its run's cross section is reused when the card's physics tables (process, beams,
    pdf, model, scales, cuts) are the ones it was trained with; otherwise, or with
    ``reintegrate = true``, ``n_iter`` iterations of ``n_per_iter`` points integrate anew.
    """

    @property
    def budget(self) -> Budget:
        """The integrand calls of the fit (besides a neural kind's training)."""
        return Budget(self.n_adapt_iter, self.n_per_iter, self.n_iter)

    kind: str = "vegas"
    n_adapt_iter: int = 10
    n_per_iter: int = 100_000
    n_iter: int = 5
    load: str | None = None
    reintegrate: bool = False
    flow: FlowCard = field(default_factory=FlowCard)

    def validate(self) -> None:
        if self.kind not in INTEGRATORS:
            raise ValueError(f"kind: expected one of {', '.join(map(repr, INTEGRATORS))}, got {self.kind!r}")
        for key in ("n_per_iter", "n_iter"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: expected an integer >= 1, got {getattr(self, key)}")
        if self.n_adapt_iter < 0:
            raise ValueError(f"n_adapt_iter: expected an integer >= 0, got {self.n_adapt_iter}")
        if self.reintegrate and self.load is None:
            raise ValueError("reintegrate: integrates a loaded sampler anew; set load too, or drop it")
        if INTEGRATORS[self.kind].needs_adaptation and self.n_adapt_iter < 1:
            raise ValueError(f"n_adapt_iter: the {self.kind} sampler needs a VEGAS warm start (>= 1)")


@dataclass(frozen=True)
class EventsCard:
    """Event generation: how many unweighted events and how to unweight."""

    n: int = 10_000
    unweight: Literal["reduced", "max", "none"] = "reduced"
    overweight_fraction: float = 1e-3
    batch_size: int = 200_000

    def validate(self) -> None:
        if self.n < 0:
            raise ValueError(f"n: expected an integer >= 0, got {self.n}")
        if not 0 <= self.overweight_fraction < 1:
            raise ValueError(f"overweight_fraction: expected 0 <= q < 1, got {self.overweight_fraction}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected an integer >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class RunCard:
    """Seed, device and output.

    ``subprocesses`` adds each initial state's cross section (``u u~ > e+ e-``, both beam
    orders together) to ``result.json``, from ``[integrator] n_per_iter`` more points of the
    trained sampler; a process with one subprocess needs none."""

    seed: int = 1
    device: str = "auto"
    output_dir: str | None = None
    plots: bool = True
    subprocesses: bool = True


@dataclass(frozen=True)
class HookCard:
    """``[[hooks]]``: a step run after generation (see :mod:`mlgen.hooks`)."""

    step: str
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.step:
            raise ValueError("step: expected a built-in step name, module:attr or file.py:attr")


@dataclass(frozen=True)
class Card:
    """A whole run card. ``source`` is the file it came from and ``given`` the dotted keys the card (or
    an override) set, so that a run can say which settings are defaults; neither is a card key."""

    process: ProcessCard
    beams: BeamsCard
    pdf: PDFCard = field(default_factory=PDFCard)
    model: ModelCard = field(default_factory=ModelCard)
    scales: ScalesCard = field(default_factory=ScalesCard)
    cuts: tuple[CutCard, ...] = ()
    integrator: IntegratorCard = field(default_factory=IntegratorCard)
    events: EventsCard = field(default_factory=EventsCard)
    run: RunCard = field(default_factory=RunCard)
    hooks: tuple[HookCard, ...] = ()
    source: str = field(default="", metadata={"internal": True})
    given: frozenset[str] | None = field(default=None, metadata={"internal": True})

    def is_default(self, key: str) -> bool:
        """Whether the dotted ``key`` (``scales.mu_r``) took its default because the card did not set it
        (false when the card was not read from TOML, e.g. translated from a MadGraph5 run card)."""
        return self.given is not None and key not in self.given
