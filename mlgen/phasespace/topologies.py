"""Ready-made decay trees (:class:`~mlgen.phasespace.tree.Node`); the tree of a matrix element's propagators.

Final-state orders (0-based, after the two incoming partons in a
:class:`~mlgen.phasespace.base.PhaseSpacePoint`):

* :func:`drell_yan` / :func:`w_to_lepton_neutrino`: ``(l-, l+)`` / ``(l, nu)`` from one s-channel resonance;
* :func:`ttbar_decay_chain` (all-hadronic)
  ``b, q, qbar' (from t), bbar, qbar, q' (from tbar)``.

Default masses and widths in GeV are MadGraph5's ``sm`` card (:data:`mlgen.physics.sm.MG5_SM`);
pass your parameter scheme's values where they differ.
"""

from __future__ import annotations

__all__ = [
    "bw_window",
    "channel_groups",
    "drell_yan",
    "from_propagators",
    "ttbar_decay_chain",
    "w_to_lepton_neutrino",
]

from collections.abc import Mapping, Sequence

from mlgen.phasespace.tree import Node
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import MG5_SM

#: power of the map of an inner massless propagator ``1/s^nu``: below 1 so that it needs no lower cut;
#: where the cuts give one (a ``floor``), the map is flat in ``log s``, the propagator's own shape
MASSLESS_NU = 0.8
#: the W mass as MadGraph5 writes its derived value, to 6 decimals (80.419002 GeV), so that a tree
#: built from the propagators of a MadGraph5 card is this one
_W_MASS = round(MG5_SM.mw, 6)


def drell_yan(mass: float = MG5_SM.mz, width: float = MG5_SM.wz, pdg: int = 23) -> Node:
    """``q qbar -> Z/gamma* -> l- l+``: one s-channel resonance sampled by the luminosity's ``tau`` map."""
    return Node((0, 1), mass, width, pdg=pdg)


def w_to_lepton_neutrino(mass: float = _W_MASS, width: float = MG5_SM.ww, pdg: int = 24) -> Node:
    """``q qbar' -> W -> l nu``: order ``(l, nu)``."""
    return Node((0, 1), mass, width, pdg=pdg)


def ttbar_decay_chain(
    top_mass: float = MG5_SM.mt,
    top_width: float = MG5_SM.wt,
    w_mass: float = _W_MASS,
    w_width: float = MG5_SM.ww,
) -> Node:
    """``t tbar -> (b W+ -> b q qbar')(bbar W- -> bbar qbar q')`` with Breit-Wigner tops and Ws.

    Final-state order: ``b, q, qbar'`` (from t) then ``bbar, qbar, q'`` (from tbar).
    The root (``s_hat``) is massless: the luminosity samples it flat in ``log tau``.
    """
    w_plus = Node((1, 2), w_mass, w_width, pdg=24)
    w_minus = Node((4, 5), w_mass, w_width, pdg=-24)
    top = Node((0, w_plus), top_mass, top_width, pdg=6)
    antitop = Node((3, w_minus), top_mass, top_width, pdg=-6)
    return Node((top, antitop))


def from_propagators(
    n_final: int,
    propagators: Sequence[Propagator],
    bwcutoff: float | None = None,
    pair_floors: Mapping[tuple[int, int], tuple[float, float]] | None = None,
) -> Node:
    """A binary tree from a matrix element's s-channel propagators.

    Arguments:
        n_final: number of final-state particles.
        propagators: :class:`~mlgen.physics.propagators.Propagator` s whose ``daughters`` index
            the external particles (incoming at 0 and 1, so final state ``i`` is ``i + 2``);
            their daughter sets must nest (any two are disjoint or one contains the other).
        bwcutoff: when given, each massive propagator inside the final state (a decay chain)
            samples its mass only within ``bwcutoff`` widths of the pole (:attr:`Node.window`).
        pair_floors: ``{(i, j): (s_lo, y_lo)}`` over final-state pairs ``i < j`` (0-based): the cuts
            keep ``m_ij^2`` above ``s_lo`` and ``y_lo s_hat``
            (:meth:`~mlgen.process.cuts.Cuts.pair_floors`). An inner node's mass squared is at least
            that of any pair below it (momenta are future-pointing), so it gets the largest of its
            pairs' floors (:attr:`Node.floor`).

    A propagator over the whole final state becomes the root (and so the
    luminosity's ``tau`` map); of several propagators over the same set the first is used
    (the others are other channels, :func:`channel_groups`); a set with more than two maximal subsets is split
    by flat massless intermediates, joining its parts left to right.
    """
    sets: dict[frozenset[int], Propagator] = {}
    for prop in propagators:
        daughters = frozenset(d - 2 for d in prop.daughters)
        if min(daughters) < 0 or max(daughters) >= n_final or len(daughters) < 2:
            raise ValueError(
                f"propagator {prop} must have >= 2 final-state daughters (indices 2..{n_final + 1})"
            )
        sets.setdefault(daughters, prop)  # the first (dominant) propagator of a set sets the map
    keys = sorted(sets, key=len)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a & b and not a <= b:
                raise ValueError(f"propagators {sorted(a)} and {sorted(b)} overlap without nesting")

    def build(members: frozenset[int]) -> Node | int:
        if len(members) == 1:
            return next(iter(members))
        inner = [k for k in keys if k < members]
        maximal = [k for k in inner if not any(k < other for other in inner)]
        covered = frozenset().union(*maximal) if maximal else frozenset()
        parts = sorted(maximal, key=min) + [frozenset([i]) for i in sorted(members - covered)]
        parts.sort(key=min)
        built = [build(part) for part in parts]
        while len(built) > 2:
            built = [Node((built[0], built[1])), *built[2:]]
        prop = sets.get(members)
        is_inner = len(members) < n_final
        floor = _floor(members, pair_floors or {}) if is_inner else None
        if prop is None:
            return Node((built[0], built[1]), floor=floor)
        # an inner massless propagator (a collinear pair): 1/s^0.8, integrable down to s = 0,
        # or 1/s above the floor the cuts give
        nu = (1.0 if floor else MASSLESS_NU) if prop.mass == 0.0 and is_inner else None
        window = bw_window(prop, bwcutoff) if is_inner else None
        return Node(
            (built[0], built[1]), prop.mass, prop.width, nu=nu, pdg=prop.pdg, window=window, floor=floor
        )

    root = build(frozenset(range(n_final)))
    if not isinstance(root, Node):
        raise ValueError("need at least two final-state particles")
    return root


def _floor(
    members: frozenset[int], pair_floors: Mapping[tuple[int, int], tuple[float, float]]
) -> tuple[float, float] | None:
    """The largest ``(s_lo, y_lo)`` over the pairs in ``members``; ``None`` when the cuts give none."""
    floors = [f for (i, j), f in pair_floors.items() if i in members and j in members]
    s_lo = max((f[0] for f in floors), default=0.0)
    y_lo = max((f[1] for f in floors), default=0.0)
    return (s_lo, y_lo) if s_lo > 0 or y_lo > 0 else None


def bw_window(prop: Propagator, bwcutoff: float | None) -> tuple[float, float] | None:
    """``(M - n Gamma, M + n Gamma)`` (lower end at least 0) of a massive propagator, else ``None``."""
    if bwcutoff is None or prop.mass <= 0.0 or prop.width <= 0.0:
        return None
    return max(prop.mass - bwcutoff * prop.width, 0.0), prop.mass + bwcutoff * prop.width


def channel_groups(propagators: Sequence[Propagator]) -> list[tuple[Propagator, ...]]:
    """Split a matrix element's propagators into channels: sets that one decay tree can map.

    Propagators go, in order, into the first channel whose propagators they nest
    with (disjoint or contained daughter sets, none with the same set); one that
    fits nowhere opens a new channel. Drell-Yan with gamma, Z and Z' (three
    propagators over the lepton pair) gives three channels; the t tbar decay
    chain, whose propagators nest, gives one; e+e- -> q q~ g gives two (gluon
    along the quark, along the antiquark), each with the Z.
    """

    def compatible(a: Propagator, b: Propagator) -> bool:
        da, db = set(a.daughters), set(b.daughters)
        return da != db and (not da & db or da <= db or db <= da)

    groups: list[list[Propagator]] = []
    for prop in propagators:
        for group in groups:
            if all(compatible(prop, other) for other in group):
                group.append(prop)
                break
        else:
            groups.append([prop])
    # a propagator shared by several topologies belongs to each (the Z of e+e- -> q q~ g is in both
    # collinear channels), so that it cancels in the prior channel weights instead of favouring one
    full = []
    for group in groups:
        members = [p for p in propagators if p in group or all(compatible(p, other) for other in group)]
        full.append(tuple(members))
    return full
