"""Build a :class:`~mlgen.process.process.Process` from a run card."""

from __future__ import annotations

__all__ = ["build_process"]

import math
from pathlib import Path
from typing import Literal

import torch

from mlgen.cards.schema import BEAM_PARTICLES, Card
from mlgen.matrix.base import MatrixElement
from mlgen.matrix.builtin import BUILTIN_MATRIX_ELEMENTS
from mlgen.matrix.loader import load_matrix_element, load_user_matrix_element
from mlgen.matrix.mg5.matrix_element import MadGraphCPP
from mlgen.phasespace import PhaseSpace, from_propagators
from mlgen.phasespace.cut_window import TwoBodyCutWindow
from mlgen.phasespace.onebody import NarrowResonance
from mlgen.phasespace.tchannel import TChain
from mlgen.phasespace.topologies import bw_window, channel_groups
from mlgen.phasespace.tree import Node
from mlgen.physics.propagators import Propagator
from mlgen.process.cuts import Cut, Cuts
from mlgen.process.diagrams import diagram_channels
from mlgen.process.objects import object_indices
from mlgen.process.priors import ChannelPrior, DiagramPrior
from mlgen.process.process import Process, ScaleSetup


def _check_ckm_honoured(card: Card, ckm: tuple[tuple[float, float, float], ...], replaced: bool) -> None:
    """A CKM matrix other than the identity reaches the built-in matrix elements only (their factories
    take the SM parameters); another has its couplings built in, so it is refused before any work."""
    from mlgen.physics.sm import IDENTITY_CKM

    name = card.process.matrix_element
    builtin = not replaced and card.process.user is None and name in BUILTIN_MATRIX_ELEMENTS
    if ckm == IDENTITY_CKM or builtin:
        return
    key = "model.ckm" if card.model.ckm is not None else f"model.param_card ({card.model.param_card})"
    what = "a matrix element given in Python" if replaced else f"matrix element {name!r}"
    raise ValueError(
        f"{card.source}: {key}: {what} has its own couplings, which mlgen cannot change; a CKM matrix "
        f"applies to the built-in ones ({', '.join(BUILTIN_MATRIX_ELEMENTS)})"
    )


def build_process(
    card: Card, device: torch.device | str = "cpu", *, matrix_element: MatrixElement | None = None
) -> Process:
    """Everything a card describes, assembled into a process for ``device``.

    The built-in pieces (phase space, PDFs, matrix elements, cuts, scales) create
    their tensors on the device of their inputs, so they need no device here; a
    matrix-element factory that takes a ``device`` argument (a user's, or a surrogate
    with weights) gets this one, to build its constants there.

    ``matrix_element`` replaces the card's ``[process] matrix_element`` (the Python
    route: e.g. a :class:`~mlgen.matrix.user.UserMatrixElement` built in a script).
    Errors name the card key that caused them (``process.options.mode: ...``).
    """
    from mlgen.physics.sm import parameters_from_card

    source = Path(card.source) if card.source else None
    parameters = parameters_from_card(
        card.model.scheme,
        card.model.param_card,
        base_dir=source.parent if source else None,
        ckm=card.model.ckm,
    )
    _check_ckm_honoured(card, parameters.ckm, matrix_element is not None)
    me: MatrixElement
    if matrix_element is not None:
        me = matrix_element
    elif card.process.user is not None:
        me = load_user_matrix_element(
            card.process.matrix_element,
            card.process.user,
            base_dir=source.parent if source else None,
            name=card.process.name,
        )
    else:
        me = load_matrix_element(
            card.process.matrix_element,
            card.process.options,
            base_dir=source.parent if source else None,
            parameters=parameters,
            device=torch.device(device),
            name=card.process.name,
        )
    beams = (BEAM_PARTICLES[card.beams.particles[0]], BEAM_PARTICLES[card.beams.particles[1]])
    hadronic = card.beams.hadronic
    final_pdgs = [sub.pdg[2:] for sub in me.subprocesses]
    try:
        cuts = Cuts.from_cards(card.cuts, final_pdgs)
    except ValueError as err:
        raise ValueError(f"{card.source}: {err}") from None
    bwcutoff = card.process.bwcutoff
    n_final = len(me.masses) - 2
    for prop in me.propagators if bwcutoff is not None else ():
        window = bw_window(prop, bwcutoff)
        if window is not None and len(prop.daughters) < n_final:
            label = f"bwcutoff: |m({prop.pdg}) - {prop.mass:g}| <= {bwcutoff:g} x {prop.width:g} GeV"
            cuts = Cuts([*cuts.cuts, Cut("m", tuple(prop.daughters), *window, label)])
    leptons = object_indices("leptons", final_pdgs)
    floors = cuts.pair_floors(n_final)  # the maps sample pair masses only where the cuts allow
    final_masses = list(me.masses[2:])
    # Restrict sqrt(s_hat) to the cut window when a mass cut covers the whole final state.
    m_lo, m_hi = cuts.window("m", tuple(range(2, 2 + n_final)))
    if leptons == tuple(range(2, 2 + n_final)):
        m_lo, m_hi = cuts.window("m", leptons)
    phase_space: PhaseSpace | TwoBodyCutWindow | NarrowResonance
    if n_final == 1:
        resonance = getattr(me, "narrow_width_resonance", None)
        if resonance is None or not hadronic:
            raise ValueError(
                f"{card.source}: a 2 -> 1 process needs hadron beams and a narrow_width_resonance"
            )
        phase_space = NarrowResonance(card.beams.sqrt_s, resonance[0])
    else:
        # the default map: the first channel (the others are the multi-channel sampler's)
        topology: Node | Literal["rambo"] = (
            from_propagators(n_final, channel_groups(me.propagators)[0], bwcutoff, floors)
            if me.propagators
            else "rambo"
        )
        if n_final == 2 and topology == "rambo":
            topology = from_propagators(n_final, (), pair_floors=floors)
        try:
            phase_space = PhaseSpace(
                card.beams.sqrt_s, final_masses, topology, hadronic=hadronic, m_min=m_lo, m_max=m_hi
            )
        except ValueError as err:
            raise ValueError(
                f'{card.source}: phase space: {err} (add a [[cuts]] table with observable = "m", '
                f'objects = "all" and a min)'
            ) from None
    channels: list[tuple[tuple[Propagator, ...], PhaseSpace | TwoBodyCutWindow]] = []
    channel_prior: ChannelPrior | None = None
    topologies: list[tuple[tuple[Propagator, ...], Node | TChain]]
    if isinstance(me, MadGraphCPP) and me.configs:
        # MadEvent's own channels, weighted as MadEvent weights them
        topologies = diagram_channels(me.configs, me.card_values, n_final, bwcutoff)
        channel_prior = DiagramPrior(me, len(topologies))
    else:
        # one map per channel of the propagator structure
        topologies = [
            (group, from_propagators(n_final, group, bwcutoff, floors))
            for group in channel_groups(me.propagators)
        ]
    if isinstance(phase_space, PhaseSpace):
        for group, channel_topology in topologies:
            space = PhaseSpace(
                card.beams.sqrt_s,
                final_masses,
                channel_topology,
                hadronic=hadronic,
                m_min=m_lo,
                m_max=m_hi,
            )
            channels.append((group, cut_window(space, cuts)))
        phase_space = cut_window(phase_space, cuts)
    pdf = None
    alpha_s = None
    if hadronic:
        from mlgen.pdf import load

        pdf = load(
            card.pdf.set,
            card.pdf.member,
            backend=card.pdf.backend,
            alphas_loops=card.pdf.alphas_loops,
            alphas_nf_max=card.pdf.alphas_nf_max,
            alphas_mz=card.pdf.alphas_mz,
        )
    else:
        from mlgen.physics.alphas import AlphaS

        alpha_s = AlphaS.from_mz(parameters.alpha_s_mz, mz=parameters.mz)
    scales = ScaleSetup(
        mu_r=card.scales.mu_r,
        mu_f=card.scales.mu_f,
        value=card.scales.value,
        factor_r=card.scales.factor_r,
        factor_f=card.scales.factor_f,
        top_mass=parameters.mt,
        variations=card.scales.variations,
    )
    return Process(
        matrix_element=me,
        beams=beams,
        sqrt_s=card.beams.sqrt_s,
        phase_space=phase_space,
        pdf=pdf,
        alpha_s=alpha_s,
        alpha_qed=parameters.alpha,
        scales=scales,
        cuts=cuts,
        lepton_indices=leptons,
        name=card.process.name,
        channels=tuple(channels),
        channel_prior=channel_prior,
    )


def cut_window(space: PhaseSpace, cuts: Cuts) -> PhaseSpace | TwoBodyCutWindow:
    """``space`` restricted to the ``pT``/rapidity windows of ``cuts`` when it is a hadronic
    ``2 -> 2`` map of two massless particles (:class:`TwoBodyCutWindow`); otherwise ``space``.

    Only lower ``pT`` bounds and rapidity intervals enter (a forward cut ``|eta| > a`` or a ``pT``
    maximum would allow two intervals): the window always contains every passing point.
    """
    if space.n != 2 or any(space.masses) or space.beams.dim != 2 or space.final.dim != 2:
        return space
    pt_min = 0.0
    eta = [[-math.inf, math.inf], [-math.inf, math.inf]]
    for cut in cuts.cuts:
        for k in (0, 1):
            if k + 2 not in cut.indices:
                continue
            if cut.observable == "pt" and cut.lo is not None:
                pt_min = max(pt_min, cut.lo)  # both have the same pT in 2 -> 2
            elif cut.observable in ("eta", "y"):
                eta[k][0] = max(eta[k][0], -math.inf if cut.lo is None else cut.lo)
                eta[k][1] = min(eta[k][1], math.inf if cut.hi is None else cut.hi)
            elif cut.observable in ("abs_eta", "abs_y") and cut.hi is not None:
                eta[k] = [max(eta[k][0], -cut.hi), min(eta[k][1], cut.hi)]
    if pt_min == 0.0 and all(math.isinf(x) for w in eta for x in w):
        return space
    return TwoBodyCutWindow(space, pt_min, ((eta[0][0], eta[0][1]), (eta[1][0], eta[1][1])))
