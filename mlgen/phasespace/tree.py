"""Decay chains: a binary tree of s-channel two-body splittings, as one invertible map.

A topology is a :class:`Node` whose children are final-state indices (``int``,
0-based, in the output order) or further nodes; each node is an intermediate
whose invariant mass squared is sampled by its propagator's map (Breit-Wigner
for ``width > 0``, power law when ``nu`` is given, flat otherwise) and which
splits into two in its rest frame. Decay angles are those of the first child in
the rest frame of its parent, reached from the grandparent's rest frame by a pure
boost (the root's rest frame from the frame of ``P``); the inverse descends the
same chain of rest frames, so the overall boost of the system costs no precision
(see :class:`~mlgen.phasespace.space.PhaseSpace` for the limits that remain).
The map implements the recursion (normalisation of :mod:`mlgen.phasespace.base`)::

    dPhi_n(P; p_1..p_n) = dPhi_j(Q; p_1..p_j) ds_Q / (2 pi) dPhi_(n-j+1)(P; Q, p_(j+1)..p_n).

The root is the whole final state; its own ``mass``/``width``/``nu`` are not used
here (its ``s`` is the partonic ``s_hat``, sampled by the luminosity map, see
:class:`~mlgen.phasespace.space.PhaseSpace`).

Layout of ``u`` (``dim = 3 n - 4``): internal nodes in pre-order (parent before
children, first child first); for each, one number per *internal* child's
invariant mass (first child first), then ``(cos(theta*), phi*)`` of its first
child in its rest frame. Mass ranges are nested: the first child gets
``[m_min(A)^2, (M - m_min(B))^2]``, the second ``[m_min(B)^2, (M - m_A)^2]``,
``m_min`` being the sum of final-state masses below a node.

References:
    Byckling and Kajantie, *Particle Kinematics* (1973), ch. V;
    the same recursion underlies MadEvent's channels, arXiv:hep-ph/0208156.
"""

from __future__ import annotations

__all__ = ["DecayTree", "Node"]

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mlgen.phasespace.base import boost_from_rest, boost_to_rest
from mlgen.phasespace.invariants import BreitWigner, Flat, Invariant, PowerLaw
from mlgen.phasespace.twobody import rest_frame_angles, rest_frame_decay, two_body_log_weight
from mlgen.physics.vectors import mass2

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Node:
    """An s-channel intermediate splitting into two.

    Attributes:
        children: two entries, each a final-state index (``int``) or a :class:`Node`.
        mass: pole mass in GeV (0 for a massless propagator).
        width: width in GeV; ``> 0`` selects the Breit-Wigner map.
        nu: power of a massless propagator ``1/s^nu`` to flatten (``None``: flat in ``s``).
        pdg: PDG id, for labels only.
        window: ``(m_lo, m_hi)`` in GeV: the node's mass is sampled only there (a Breit-Wigner
            cutoff, MadGraph's ``bwcutoff``); where the window is closed by the parent's mass
            the point has weight 0. Not used at the root (its mass is the luminosity map's).
        floor: ``(s_lo, y_lo)``: the cuts keep the node's mass squared above ``s_lo`` (GeV^2) and
            above ``y_lo s_hat``, so it is sampled only there (MadEvent's ``smin`` from the cuts):
            no map spends points where the integrand is zero, nor puts a sharp edge inside the
            cube. Not used at the root.
    """

    children: tuple[Node | int, Node | int]
    mass: float = 0.0
    width: float = 0.0
    nu: float | None = None
    pdg: int = 0
    window: tuple[float, float] | None = None
    floor: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if len(self.children) != 2:
            raise ValueError(f"Node needs exactly two children, got {self.children!r}")
        if self.window is not None and not 0 <= self.window[0] < self.window[1]:
            raise ValueError(f"Node window needs 0 <= m_lo < m_hi, got {self.window}")
        if self.floor is not None and not (self.floor[0] >= 0 and 0 <= self.floor[1] < 1):
            raise ValueError(f"Node floor needs s_lo >= 0 and 0 <= y_lo < 1, got {self.floor}")

    @property
    def leaves(self) -> tuple[int, ...]:
        """Final-state indices below this node, in tree order."""
        out: list[int] = []
        for c in self.children:
            out.extend(c.leaves if isinstance(c, Node) else (c,))
        return tuple(out)

    def invariant(self) -> Invariant:
        """The map sampling this node's invariant mass squared."""
        if self.width > 0.0:
            return BreitWigner(self.mass, self.width)
        if self.mass > 0.0:
            raise ValueError(f"Node with mass {self.mass} GeV needs a width > 0 (narrow widths are fine)")
        return Flat() if self.nu is None else PowerLaw(self.nu)


Child = Node | int


class DecayTree:
    """The phase-space map ``u in [0, 1]^(3n-4) -> (p_1..p_n)`` of a decay tree at given ``P``.

    Arguments:
        root: the topology; its leaves must be ``0..n-1``, each once.
        masses: the ``n`` final-state masses in GeV.

    ``forward(u, P, s=None)``: ``u (B, 3n-4)``, ``P (B, 4)`` total momentum in any frame
    (``s (B,)`` its mass squared, when known exactly) -> momenta ``(B, n, 4)`` in
    the frame of ``P`` and ``log dPhi_n`` ``(B,)`` in GeV^(2n-4).
    ``inverse(p, P=None)``: momenta -> ``(u, -log dPhi_n)``.
    """

    def __init__(self, root: Node, masses: Sequence[float]) -> None:
        self.root = root
        self.masses = tuple(float(m) for m in masses)
        self.n = len(self.masses)
        if sorted(root.leaves) != list(range(self.n)):
            raise ValueError(f"tree leaves {root.leaves} must be 0..{self.n - 1}, each once")
        self.nodes: list[Node] = []
        self._collect(root)
        self._maps = {id(node): node.invariant() for node in self.nodes}
        self.dim = 3 * self.n - 4

    def _collect(self, node: Node) -> None:
        self.nodes.append(node)
        for c in node.children:
            if isinstance(c, Node):
                self._collect(c)

    def _m_min(self, c: Child) -> float:
        leaves = c.leaves if isinstance(c, Node) else (c,)
        return sum(self.masses[i] for i in leaves)

    def _child_masses(
        self, node: Node, m: Tensor, s_hat: Tensor, draw: Callable[[Node, Tensor | float, Tensor], Tensor]
    ) -> list[Tensor | float]:
        """Masses of the children of ``node`` (mass ``m``); ``draw(child, s_min, s_max)`` maps a node."""
        a, b = node.children
        out: list[Tensor | float] = []
        for c, other in ((a, b), (b, a)):
            if isinstance(c, Node):
                upper = m - (out[0] if out else self._m_min(other))
                s_max = upper**2
                s_min: Tensor | float = max(
                    self._m_min(c) ** 2,
                    c.window[0] ** 2 if c.window else 0.0,
                    c.floor[0] if c.floor else 0.0,
                )
                if c.floor is not None and c.floor[1] > 0:
                    s_min = (c.floor[1] * s_hat).clamp(min=s_min)
                if c.window is not None:
                    s_max = s_max.clamp(max=c.window[1] ** 2)
                # a range the parent's mass closes has zero measure: weight 0, finite momenta
                s_max = torch.clamp(s_max, min=s_min)
                out.append(torch.sqrt(draw(c, s_min, s_max)))
            else:
                out.append(self.masses[c])
        return out

    def _forward(
        self, node: Node, s: Tensor, u: Tensor, col: list[int], s_hat: Tensor
    ) -> tuple[dict[int, Tensor], Tensor]:
        """Leaf momenta in the rest frame of ``node`` (mass squared ``s``), and its subtree's log weight."""
        log_w = torch.zeros_like(s)
        inv: dict[int, Tensor] = {}

        def draw(c: Node, s_min: Tensor | float, s_max: Tensor) -> Tensor:
            nonlocal log_w
            sc, lj = self._maps[id(c)].forward(u[:, col[0]], s_min, s_max)
            col[0] += 1
            inv[id(c)] = sc
            log_w = log_w + lj - _LOG_2PI
            return sc

        m1, m2 = self._child_masses(node, torch.sqrt(s), s_hat, draw)
        p1, p2, lw = rest_frame_decay(s, m1, m2, u[:, col[0] : col[0] + 2])
        col[0] += 2
        log_w = log_w + lw
        leaves: dict[int, Tensor] = {}
        for c, pc in zip(node.children, (p1, p2), strict=True):
            if not isinstance(c, Node):
                leaves[c] = pc
                continue
            sub, lw = self._forward(c, inv[id(c)], u, col, s_hat)
            log_w = log_w + lw
            keys = list(sub)
            mc = torch.sqrt(inv[id(c)])[:, None]
            boosted = boost_from_rest(torch.stack([sub[k] for k in keys], 1), pc[:, None], mc)
            leaves.update({k: boosted[:, i] for i, k in enumerate(keys)})
        return leaves, log_w

    def forward(self, u: Tensor, P: Tensor, s: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """See the class docstring."""
        s = mass2(P) if s is None else s
        leaves, log_w = self._forward(self.root, s, u, [0], s)
        p = torch.stack([leaves[i] for i in range(self.n)], 1)
        return boost_from_rest(p, P[:, None], torch.sqrt(s)[:, None]), log_w

    def _inverse(self, node: Node, q: Tensor, s_hat: Tensor | None = None) -> tuple[list[Tensor], Tensor]:
        """``u`` columns and minus the log weight of ``node``'s subtree; ``q (B, n, 4)`` in its rest frame."""
        a, b = node.children
        child_p = {id(c): q[:, list(c.leaves)].sum(1) for c in (a, b) if isinstance(c, Node)}
        first = child_p[id(a)] if isinstance(a, Node) else q[:, a]
        second = child_p[id(b)] if isinstance(b, Node) else q[:, b]
        s = mass2(first + second)
        s_hat = s if s_hat is None else s_hat
        log_w = torch.zeros_like(s)
        cols: list[Tensor] = []

        def draw(c: Node, s_min: Tensor | float, s_max: Tensor) -> Tensor:
            nonlocal log_w
            sc = mass2(child_p[id(c)])
            uc, lj = self._maps[id(c)].inverse(sc, s_min, s_max)
            cols.append(uc[:, None])
            log_w = log_w + lj + _LOG_2PI
            return sc

        m1, m2 = self._child_masses(node, torch.sqrt(s), s_hat, draw)
        cols.append(rest_frame_angles(first))
        log_w = log_w - two_body_log_weight(s, m1, m2)
        for c in (a, b):
            if isinstance(c, Node):
                pc = child_p[id(c)]
                sub_cols, lw = self._inverse(
                    c, boost_to_rest(q, pc[:, None], torch.sqrt(mass2(pc))[:, None]), s_hat
                )
                cols.extend(sub_cols)
                log_w = log_w + lw
        return cols, log_w

    def inverse(self, p: Tensor, P: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """See the class docstring; ``P (B, 4)`` defaults to the sum of the momenta ``p (B, n, 4)``
        (pass it when it is known more precisely, e.g. from ``x1, x2``)."""
        P = p.sum(1) if P is None else P
        cols, log_w = self._inverse(self.root, boost_to_rest(p, P[:, None], torch.sqrt(mass2(P))[:, None]))
        return torch.cat(cols, -1), log_w
