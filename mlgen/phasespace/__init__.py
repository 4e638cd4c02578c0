"""Invertible phase-space maps ``u in [0, 1]^d -> (momenta, x1, x2)``, each returning ``(y, log|J|)``."""

from __future__ import annotations

__all__ = [
    "Angles",
    "BreitWigner",
    "DecayTree",
    "Flat",
    "LeptonBeams",
    "Node",
    "PhaseSpacePoint",
    "PhaseSpace",
    "PowerLaw",
    "Rambo",
    "RamboDiet",
    "TChain",
    "TChannelMap",
    "TPropagator",
    "TauRapidity",
    "TwoBody",
    "drell_yan",
    "incoming_momenta",
    "kallen",
    "from_propagators",
    "massless_volume",
    "ttbar_decay_chain",
    "w_to_lepton_neutrino",
]

from mlgen.phasespace.base import PhaseSpacePoint, incoming_momenta, kallen
from mlgen.phasespace.diet import RamboDiet
from mlgen.phasespace.invariants import BreitWigner, Flat, PowerLaw
from mlgen.phasespace.momentum_fractions import LeptonBeams, TauRapidity
from mlgen.phasespace.rambo import Rambo, massless_volume
from mlgen.phasespace.space import PhaseSpace
from mlgen.phasespace.tchannel import TChain, TChannelMap, TPropagator
from mlgen.phasespace.topologies import drell_yan, from_propagators, ttbar_decay_chain, w_to_lepton_neutrino
from mlgen.phasespace.tree import DecayTree, Node
from mlgen.phasespace.twobody import Angles, TwoBody
