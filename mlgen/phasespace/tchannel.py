"""t-channel chains: blocks emitted one after another from a beam, as one invertible map.

A :class:`TChain` is the t-channel part of a Feynman diagram as MadEvent reads it from
``configs.inc``: the final state splits into ``k >= 2`` *blocks* (a final-state particle, or an
s-channel :class:`~mlgen.phasespace.tree.Node` over several), emitted in order from the beam
``start`` along a line of ``k - 1`` spacelike propagators ``q_i``; the last block joins the other
beam. With ``p_e`` the other ("end") beam and ``R_i`` the system of blocks ``i, .., k - 1``
(``R_0 = P``), step ``i`` is the two-body decay ``R_i -> B_i R_(i+1)`` in the rest frame of
``R_i``, with ``B_i``'s polar angle measured from ``q = R_i - p_e`` (the line coming from the
start beam: in that frame it points against ``p_e``), so that

    t_i = q_(i+1)^2 = (q - B_i)^2 = q^2 + m_B^2 - 2 (E_q E_B - |q| |B| cos(theta))

is linear in ``cos(theta)``. The map samples ``x = -t_i`` flattening the propagator
``1 / (x + M^2)^nu`` (``nu = 1`` for a massive one, :data:`MASSLESS_NU` for a massless one, whose
collinear end needs no cut), and the azimuth flat. The factorisation is that of
:mod:`mlgen.phasespace.tree`::

    dPhi_n(P) = prod_B ds_B / (2 pi) dPhi(B -> leaves)  prod_i ds_(R_i) / (2 pi) dPhi_2(R_i; B_i, R_(i+1)),
    dPhi_2 = lambda^(1/2) / (8 pi s) dcos(theta) dphi / (4 pi),  dcos(theta) = dx / (2 |q| |B|).

Layout of ``u`` (``dim = 3 n - 4``): one number per s-channel block's mass (block order), one per
remainder mass ``R_1 .. R_(k-2)`` (flat in ``s``), ``(x, phi)`` per step, then each s-channel
block's own :class:`~mlgen.phasespace.tree.DecayTree` numbers (block order). Masses are nested as
in the tree: block ``j`` gets at most ``sqrt(s) - sum(earlier blocks) - sum(m_min of later)``.

The beams are massless and along ``z`` in the rest frame of ``P`` (as
:class:`~mlgen.phasespace.space.PhaseSpace` gives them): beam A (``start = 0``) along ``+z``.

References:
    the phase-space generation of MadEvent, F. Maltoni, T. Stelzer, arXiv:hep-ph/0208156;
    Byckling and Kajantie, *Particle Kinematics* (1973), ch. V.
"""

from __future__ import annotations

__all__ = ["MASSLESS_NU", "TChain", "TChannelMap", "TPropagator"]

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mlgen.phasespace.base import boost_from_rest, boost_to_rest, kallen
from mlgen.phasespace.invariants import Flat
from mlgen.phasespace.tree import DecayTree, Node
from mlgen.phasespace.twobody import two_body_log_weight
from mlgen.physics.vectors import mass2

_LOG_2PI = math.log(2.0 * math.pi)
#: power of the map of a massless t-channel propagator ``1/t^nu``: below 1, so that the collinear
#: end ``t -> 0`` needs no cut (the same choice as an inner massless s-channel propagator)
MASSLESS_NU = 0.8


@dataclass(frozen=True)
class TPropagator:
    """A spacelike propagator of a t-channel chain: ``mass`` in GeV (0 for a gluon), ``pdg`` for labels."""

    mass: float = 0.0
    pdg: int = 0

    @property
    def nu(self) -> float:
        return 1.0 if self.mass > 0.0 else MASSLESS_NU


@dataclass(frozen=True)
class TChain:
    """The t-channel structure of a diagram.

    Attributes:
        blocks: ``k >= 2`` final-state indices (``int``, 0-based) or s-channel :class:`Node` s,
            in the order they leave the line, starting at beam ``start``.
        propagators: the ``k - 1`` propagators between them (``propagators[i]`` after ``blocks[i]``).
        start: ``0`` when beam A (along ``+z``) emits ``blocks[0]``, ``1`` for beam B.
    """

    blocks: tuple[Node | int, ...]
    propagators: tuple[TPropagator, ...]
    start: int = 0

    def __post_init__(self) -> None:
        if len(self.blocks) < 2 or len(self.propagators) != len(self.blocks) - 1:
            raise ValueError(
                f"TChain needs k >= 2 blocks and k - 1 propagators, got {len(self.blocks)} and "
                f"{len(self.propagators)}"
            )
        if self.start not in (0, 1):
            raise ValueError(f"TChain start must be 0 (beam A) or 1 (beam B), got {self.start}")

    @property
    def leaves(self) -> tuple[int, ...]:
        out: list[int] = []
        for b in self.blocks:
            out.extend(b.leaves if isinstance(b, Node) else (b,))
        return tuple(out)


def _pow(x: Tensor, a: float) -> Tensor:
    """``x^a`` for ``x >= 0`` whose gradient stays finite at ``x = 0`` (a collinear end)."""
    return torch.where(x > 0, x.clamp(min=1e-300) ** a, torch.zeros_like(x))


class _PowerMap:
    """``u in [0, 1] -> y in [y_lo, y_hi]`` flattening ``1 / y^nu`` (``nu = 1``: flat in ``log y``),
    with ``y_lo = 0`` allowed for ``nu < 1``; ``(y, log dy/du)`` and ``(u, log du/dy)``."""

    def __init__(self, nu: float) -> None:
        self.nu = nu
        self.a = 1.0 - nu

    def forward(self, u: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
        if self.a == 0.0:
            log_ratio = torch.log(hi / lo)
            y = lo * torch.exp(u * log_ratio)
            return y, torch.log(y * log_ratio)
        span = _pow(hi, self.a) - _pow(lo, self.a)
        y = (_pow(lo, self.a) + u * span) ** (1.0 / self.a)
        return y, torch.log(span / self.a) + self.nu * torch.log(y)

    def inverse(self, y: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
        if self.a == 0.0:
            log_ratio = torch.log(hi / lo)
            return torch.log(y / lo) / log_ratio, -torch.log(y * log_ratio)
        span = _pow(hi, self.a) - _pow(lo, self.a)
        return (_pow(y, self.a) - _pow(lo, self.a)) / span, -torch.log(span / self.a) - self.nu * torch.log(y)


def _relabel(node: Node, local: dict[int, int]) -> Node:
    children = tuple(_relabel(c, local) if isinstance(c, Node) else local[c] for c in node.children)
    return Node((children[0], children[1]), node.mass, node.width, node.nu, node.pdg, node.window, node.floor)


def _basis(n: Tensor) -> tuple[Tensor, Tensor]:
    """Unit vectors ``e1, e2`` with ``(e1, e2, n)`` right-handed, ``e1`` in the plane of ``n`` and ``x``."""
    ref = torch.zeros_like(n)
    ref[:, 0] = 1.0
    e1 = ref - (ref * n).sum(-1, keepdim=True) * n
    e1 = e1 / torch.linalg.vector_norm(e1, dim=-1, keepdim=True)
    return e1, torch.linalg.cross(n, e1)


class TChannelMap:
    """The phase-space map ``u in [0, 1]^(3n-4) -> (p_1..p_n)`` of a :class:`TChain` at given ``P``.

    Arguments:
        chain: the topology; its leaves must be ``0..n-1``, each once.
        masses: the ``n`` final-state masses in GeV.

    ``forward(u, P, s=None)``: ``u (B, 3n-4)``, ``P (B, 4)`` the total momentum of the two beams
    (along ``z``; ``s (B,)`` its mass squared, when known exactly) -> momenta ``(B, n, 4)`` in the
    frame of ``P`` and ``log dPhi_n`` ``(B,)`` in GeV^(2n-4). ``inverse(p, P=None)``: momenta ->
    ``(u, -log dPhi_n)``.
    """

    def __init__(self, chain: TChain, masses: Sequence[float]) -> None:
        self.chain = chain
        self.masses = tuple(float(m) for m in masses)
        self.n = len(self.masses)
        if sorted(chain.leaves) != list(range(self.n)):
            raise ValueError(f"t-channel chain leaves {chain.leaves} must be 0..{self.n - 1}, each once")
        self.blocks = chain.blocks
        self.k = len(self.blocks)
        self.m_min = [
            sum(self.masses[i] for i in (b.leaves if isinstance(b, Node) else (b,))) for b in self.blocks
        ]
        self.trees: dict[int, DecayTree] = {}
        for j, b in enumerate(self.blocks):
            if isinstance(b, Node):
                local = {leaf: i for i, leaf in enumerate(b.leaves)}
                self.trees[j] = DecayTree(_relabel(b, local), [self.masses[leaf] for leaf in b.leaves])
        self.t_maps = [_PowerMap(prop.nu) for prop in chain.propagators]
        self.dim = 3 * self.n - 4

    # -- the ranges, shared by forward and inverse ------------------------------------------------
    def _block_range(
        self, j: int, root_m: Tensor, m_blk: list[Tensor], s_hat: Tensor
    ) -> tuple[Tensor, Tensor]:
        node = self.blocks[j]
        assert isinstance(node, Node)
        upper = (root_m - sum(m_blk[:j], torch.zeros_like(root_m)) - sum(self.m_min[j + 1 :])).clamp(min=0.0)
        s_lo = torch.full_like(root_m, max(self.m_min[j] ** 2, node.window[0] ** 2 if node.window else 0.0))
        if node.floor is not None:
            s_lo = torch.maximum(s_lo.clamp(min=node.floor[0]), node.floor[1] * s_hat)
        s_hi = upper**2
        if node.window is not None:
            s_hi = s_hi.clamp(max=node.window[1] ** 2)
        return s_lo, torch.maximum(s_hi, s_lo)

    @staticmethod
    def _t_range(m2: Tensor, e_end: Tensor, m1: Tensor, mr: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``x = -t`` at ``cos(theta) = 1`` and ``-1``, ``2 |q| |B|`` and ``|B|`` in the rest frame of
        ``R`` (mass squared ``m2``) for daughters of masses ``m1`` (the block) and ``mr``.

        ``x`` at ``cos(theta) = 1`` is written without cancellations (it is 0 at a collinear end,
        where the massless map is steepest): with ``q^2 = m2 - 2 sqrt(m2) E_end`` and
        ``D_(1,2) = m2 -+ (m1^2 - mr^2) + lambda^(1/2)``, ``x = mr^2 (4 m2 m1^2 / D_2 - 2 q^2) / D_1``."""
        m = torch.sqrt(m2)
        root = torch.sqrt(kallen(m2, m1, mr))
        p_b = root / (2.0 * m)
        q2 = m2 - 2.0 * m * e_end
        d1 = m2 - m1**2 + mr**2 + root
        d2 = m2 + m1**2 - mr**2 + root
        x_lo = mr**2 * (4.0 * m2 * m1**2 / d2 - 2.0 * q2) / d1
        two_qb = 2.0 * e_end * p_b
        return x_lo, x_lo + 2.0 * two_qb, two_qb, p_b

    def _y_range(self, i: int, x_lo: Tensor, x_hi: Tensor) -> tuple[Tensor, Tensor, float]:
        """The propagator's variable ``y = x + M^2`` and ``M^2``."""
        shift = self.chain.propagators[i].mass ** 2
        return x_lo + shift, x_hi + shift, shift

    # -- forward ----------------------------------------------------------------------------------
    def forward(self, u: Tensor, P: Tensor, s: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """See the class docstring."""
        s = mass2(P) if s is None else s
        root_m = torch.sqrt(s)
        log_w = torch.zeros_like(s)
        col = 0
        m_blk: list[Tensor] = []
        s_blk: dict[int, Tensor] = {}
        for j, b in enumerate(self.blocks):
            if isinstance(b, Node):
                s_lo, s_hi = self._block_range(j, root_m, m_blk, s)
                sj, lj = b.invariant().forward(u[:, col], s_lo, s_hi)
                col += 1
                log_w = log_w + lj - _LOG_2PI
                s_blk[j] = sj
                m_blk.append(torch.sqrt(sj))
            else:
                m_blk.append(torch.full_like(s, self.masses[b]))
        # remainder masses R_1 .. R_(k-2)
        m_rem = [root_m]
        for i in range(1, self.k - 1):
            lo = sum(m_blk[i:], torch.zeros_like(s))
            hi = torch.maximum(m_rem[-1] - m_blk[i - 1], lo)
            sr, lj = Flat().forward(u[:, col], lo**2, hi**2)
            col += 1
            log_w = log_w + lj - _LOG_2PI
            m_rem.append(torch.sqrt(sr))
        # the steps, each in the rest frame of R_i
        e_half = 0.5 * root_m
        zero = torch.zeros_like(s)
        sign = -1.0 if self.chain.start == 0 else 1.0  # the end beam: B along -z, or A along +z
        p_end = torch.stack([e_half, zero, zero, sign * e_half], -1)
        local: list[Tensor] = []  # block i in the frame of R_i (the last block in that of R_(k-2))
        r_mom: list[Tensor] = []  # R_(i+1) in the frame of R_i
        for i in range(self.k - 1):
            m2 = m_rem[i] ** 2
            m1 = m_blk[i]
            mr = m_rem[i + 1] if i < self.k - 2 else m_blk[-1]
            e_end = p_end[:, 0]
            x_lo, x_hi, two_qb, p_b = self._t_range(m2, e_end, m1, mr)
            y_lo, y_hi, shift = self._y_range(i, x_lo, x_hi)
            y, lj = self.t_maps[i].forward(u[:, col], y_lo, y_hi)
            one_minus_cos = ((y - shift - x_lo) / two_qb).clamp(0.0, 2.0)
            cos = 1.0 - one_minus_cos
            sin = torch.sqrt((one_minus_cos * (2.0 - one_minus_cos)).clamp(min=0.0))
            phi = 2.0 * math.pi * u[:, col + 1]
            col += 2
            n = -p_end[:, 1:] / e_end[:, None]
            e1, e2 = _basis(n)
            direction = cos[:, None] * n + sin[:, None] * (
                torch.cos(phi)[:, None] * e1 + torch.sin(phi)[:, None] * e2
            )
            e_b = (m2 + m1**2 - mr**2) / (2.0 * m_rem[i])
            block = torch.cat([e_b[:, None], p_b[:, None] * direction], -1)
            rest = torch.cat([(m_rem[i] - e_b)[:, None], -p_b[:, None] * direction], -1)
            log_w = log_w + two_body_log_weight(m2, m1, mr) + lj - torch.log(2.0 * two_qb)
            local.append(block)
            if i < self.k - 2:
                r_mom.append(rest)
                p_end = boost_to_rest(p_end, rest, mr)
            else:
                local.append(rest)
        # up the chain of rest frames: the blocks from the frame of R_i to that of R_0, then P's
        for i in range(self.k - 2, 0, -1):
            moved = torch.stack(local[i:], 1)
            local[i:] = list(boost_from_rest(moved, r_mom[i - 1][:, None], m_rem[i][:, None]).unbind(1))
        blocks = boost_from_rest(torch.stack(local, 1), P[:, None], root_m[:, None])
        out: list[Tensor | None] = [None] * self.n
        for j, b in enumerate(self.blocks):
            if isinstance(b, Node):
                p_sub, lw = self.trees[j].forward(u[:, col : col + self.trees[j].dim], blocks[:, j], s_blk[j])
                col += self.trees[j].dim
                log_w = log_w + lw
                for i, leaf in enumerate(b.leaves):
                    out[leaf] = p_sub[:, i]
            else:
                out[b] = blocks[:, j]
        return torch.stack(out, 1), log_w  # type: ignore[arg-type]

    # -- inverse ----------------------------------------------------------------------------------
    def inverse(self, p: Tensor, P: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """See the class docstring; ``P (B, 4)`` defaults to the sum of the momenta ``p (B, n, 4)``."""
        P = p.sum(1) if P is None else P
        s = mass2(P)
        root_m = torch.sqrt(s)
        log_w = torch.zeros_like(s)
        leaves = [b.leaves if isinstance(b, Node) else (b,) for b in self.blocks]
        lab_blocks = torch.stack([p[:, list(ls)].sum(1) for ls in leaves], 1)
        cols: list[Tensor] = []
        m_blk: list[Tensor] = []
        for j, b in enumerate(self.blocks):
            if isinstance(b, Node):
                s_lo, s_hi = self._block_range(j, root_m, m_blk, s)
                sj = mass2(lab_blocks[:, j])
                uj, lj = b.invariant().inverse(sj, s_lo, s_hi)
                cols.append(uj)
                log_w = log_w + lj + _LOG_2PI
                m_blk.append(torch.sqrt(sj))
            else:
                m_blk.append(torch.full_like(s, self.masses[b]))
        frame = boost_to_rest(lab_blocks, P[:, None], root_m[:, None])  # blocks in the rest frame of R_0
        e_half = 0.5 * root_m
        zero = torch.zeros_like(s)
        sign = -1.0 if self.chain.start == 0 else 1.0
        p_end = torch.stack([e_half, zero, zero, sign * e_half], -1)
        m_rem = [root_m]
        for i in range(1, self.k - 1):
            lo = sum(m_blk[i:], torch.zeros_like(s))
            hi = torch.maximum(m_rem[-1] - m_blk[i - 1], lo)
            sr = mass2(p[:, [leaf for ls in leaves[i:] for leaf in ls]].sum(1))
            ur, lj = Flat().inverse(sr, lo**2, hi**2)
            cols.append(ur)
            log_w = log_w + lj + _LOG_2PI
            m_rem.append(torch.sqrt(sr))
        for i in range(self.k - 1):
            m2 = m_rem[i] ** 2
            m1 = m_blk[i]
            mr = m_rem[i + 1] if i < self.k - 2 else m_blk[-1]
            e_end = p_end[:, 0]
            x_lo, x_hi, two_qb, _ = self._t_range(m2, e_end, m1, mr)
            y_lo, y_hi, shift = self._y_range(i, x_lo, x_hi)
            n = -p_end[:, 1:] / e_end[:, None]
            e1, e2 = _basis(n)
            b3 = frame[:, i, 1:]
            direction = b3 / torch.linalg.vector_norm(b3, dim=-1, keepdim=True)
            one_minus_cos = 0.5 * ((direction - n) ** 2).sum(-1)
            y = x_lo + two_qb * one_minus_cos + shift
            ut, lj = self.t_maps[i].inverse(y, y_lo, y_hi)
            phi = torch.remainder(
                torch.atan2((direction * e2).sum(-1), (direction * e1).sum(-1)), 2.0 * math.pi
            )
            cols.extend([ut, phi / (2.0 * math.pi)])
            log_w = log_w - two_body_log_weight(m2, m1, mr) + lj + torch.log(2.0 * two_qb)
            if i < self.k - 2:
                rest = frame[:, i + 1 :].sum(1)
                frame = boost_to_rest(frame, rest[:, None], mr[:, None])
                p_end = boost_to_rest(p_end, rest, mr)
        for j, b in enumerate(self.blocks):
            if isinstance(b, Node):
                uj, lw = self.trees[j].inverse(p[:, list(b.leaves)], lab_blocks[:, j])
                cols.extend(uj.unbind(-1))
                log_w = log_w + lw
        return torch.stack(cols, -1), log_w
