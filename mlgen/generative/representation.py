"""Events as generator features and back: the decay tree of the record, exact by construction.

Events are grouped by their record layout (:func:`group_events`): the status of
every line and its particle class (incoming and outgoing quarks and gluons
together as ``j``, massless charged leptons of one charge as ``l-`` or ``l+``,
anything else by PDG id), so Z + 0, 1, 2 jets from MLM merging fall into
separate groups with their own generator, and Z -> ee and Z -> mumu share one.
Flavours within a class come from the nearest training event.

Within a group the features follow the record's decay tree (the intermediate
lines, status 2), so every resonance mass is a feature of its own and a narrow
peak is a narrow peak in one coordinate, not a thin curved surface in the
momenta of its daughters (How to GAN LHC events, arXiv:1907.03764, needed an
MMD term to recover them from momenta):

* the system of all outgoing particles (zero transverse momentum in a
  parton-level record) is its rapidity and mass (sqrt(s-hat)); it decays into
  the top-level objects (outermost resonances, and outgoing particles that come
  from none) like a resonance; with a single top-level resonance (a Z) the
  system is that resonance;
* a resonance (and the system) decaying to ``k`` children is ``k - 1`` two-body steps
  ``R -> c_1 + rest_1, rest_1 -> c_2 + rest_2, ...``: in each parent's rest
  frame (reached from the lab by a pure boost) the child's ``cos theta`` and
  ``phi``, and, for ``k > 2``, the masses of the ``rest`` systems;
* a two-body decay of a resonance that itself comes from one (t -> b W, W -> q q'
  in t tbar) is described in its helicity frame instead: the polar axis is the
  resonance's flight in its parent's rest frame, the azimuth is measured from
  the beam's plane (``cos_theta_h``, ``phi_h``), so the W's helicity fractions
  are the shape of one coordinate. Measured from the lab's axes, the angle was a
  function of two features, and the generator came out flat where the truth
  falls to a third (q of W -> q q' against the top's direction);
* the scattering angle of a system of two (t tbar) is
  ``z = atanh(beta cos theta) / atanh(beta)`` with ``beta = 2 p / m`` (at most
  ``BETA_MAX``), which is flat for the t- and u-channel poles ``1 / (1 - beta^2 cos^2)``:
  in ``cos theta`` the forward peak grows with m(t tbar) (from 26% to 62% of the
  events at ``|cos| > 0.8``), a correlation the generator missed, and the top's pT
  tail came out 40% high; in ``z`` the shape hardly changes with the mass;
* with the collider energy (:func:`group_events`) at a hadron collider, the root's
  rapidity is a share of its kinematic range, ``y / log(sqrt(s) / m)`` (``y_frac``): the
  range shrinks with the mass, and a rapidity beyond it (x > 1) cannot be generated;
  and the system's mass is its excess over its children's masses (``m_excess``, at
  least 0), so no generated system falls below its threshold (0.5% of t tbar's did,
  all from the lowest bin of its mass);
* at a hadron collider, when the top level holds outgoing partons (the jets of
  Z + jets), the top-level objects are described in the lab instead: each
  one's ``log pT``, rapidity and azimuth, except one that balances their
  transverse momentum (the first resonance, else the last object), of which
  only the rapidity is a feature; top-level resonances add their masses.
  Generator cuts on the jets (MadGraph's ``ptj``, MLM's ``xqcut``) are then a
  boundary of one coordinate that the feature map keeps sharp
  (:func:`~mlgen.generative.amplify.feature_bounds`), where in the rest frame of the
  system they are a curved surface that a flow smooths over;
* the first azimuth of the list is the event's orientation, which is uniform
  (the azimuthal symmetry is exact): it is not a feature, every other azimuth
  is measured from it.

Outgoing particles get the group's on-shell masses, the incoming partons are
rebuilt from the final state, ``x_{1,2} = (E +- p_z) / sqrt(s)``: momentum
conservation holds exactly, and events with ``x > 1`` or a resonance below the
threshold of its children are rejected (they come back as NaN momenta).
Intermediate lines get the sum of their daughters' momenta.
"""

from __future__ import annotations

__all__ = [
    "BETA_MAX",
    "EventGroup",
    "descends",
    "features_of",
    "group_events",
    "layouts",
    "momenta_of",
    "reference_azimuth",
]

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor

from mlgen.events import EventBatch
from mlgen.phasespace.base import boost_to_rest
from mlgen.phasespace.twobody import two_body_angles, two_body_decay
from mlgen.physics import vectors as v

_JET = {1, 2, 3, 4, 5, 21}
_LEPTON = {11, 13, 15}

#: A node of the decay tree: ``("res", record slot)`` or ``("fin", index into group.final)``.
Node = tuple[str, int]
#: The slot of the pseudo-resonance "all outgoing particles" (mass sqrt(s-hat), rapidity of the system).
SYSTEM = -1


@dataclass
class _Tree:
    top: list[Node]
    children: dict[int, list[Node]]  # resonance slot -> children, in record order
    raw_columns: list[tuple[str, ...]]  # every column, the orientation included
    ref: int  # the raw column of the event's orientation (the first azimuth)
    mass_columns: dict[int, int]  # resonance slot -> its feature column
    balance: Node | None = None  # the top-level object whose pT balances the others' (lab mode)
    parents: dict[int, int] = field(default_factory=dict)  # resonance slot -> the slot it comes from

    def helicity(self, slot: int) -> bool:
        """The decay of ``slot`` is described in its helicity frame (a two-body decay of a resonance
        whose own parent is known), not in its rest frame's lab-parallel axes."""
        return slot in self.parents and len(self.children[slot]) == 2

    @property
    def lab(self) -> bool:
        """The top level is described in the lab (pT, y, phi), not as the system's decay."""
        return self.balance is not None

    @property
    def movers(self) -> list[Node]:
        """The top-level objects with their own pT (lab mode)."""
        return [node for node in self.top if node != self.balance]

    @property
    def columns(self) -> list[tuple[str, ...]]:
        return self.raw_columns[: self.ref] + self.raw_columns[self.ref + 1 :]

    @property
    def n_features(self) -> int:
        return len(self.raw_columns) - 1


@dataclass
class EventGroup:
    """Events of one record layout.

    Attributes:
        key: the layout (status and particle class per line).
        index: ``(N,)`` indices of the group's events in the input batch.
        final: record slots of the outgoing particles (status 1), in record order.
        resonances: ``{slot: daughter slots}`` of the intermediate lines (status 2).
        masses: ``(n_final,)`` on-shell masses (the median of the input's mass column).
        sqrt_s: the collider energy (GeV); at a hadron collider it sets the root's rapidity range.
    """

    key: tuple
    index: Tensor
    final: list[int]
    resonances: dict[int, list[int]]
    masses: Tensor
    sqrt_s: float | None = None
    _tree: _Tree | None = field(default=None, repr=False)

    @property
    def tree(self) -> _Tree:
        if self._tree is None:
            self._tree = _build_tree(self)
        return self._tree

    @property
    def n_features(self) -> int:
        return self.tree.n_features

    @property
    def columns(self) -> list[str]:
        """A name for every feature column, e.g. ``m(23)`` or ``cos_theta(24->1)``."""
        return [":".join(c) for c in self.tree.columns]

    @property
    def mass_columns(self) -> dict[int, int]:
        """``{resonance slot: feature column of its mass}``."""
        return self.tree.mass_columns


def _parton(label: object) -> bool:
    """A layout line's class is a parton of some flavour (``"j"``, or ``"j<mass>"`` for massive ones)."""
    return isinstance(label, str) and label.startswith("j")


def layouts(batch: EventBatch) -> dict[tuple, list[int]]:
    """The record layout of every event: ``{layout: event indices}``, in order of first appearance.

    A layout is the ``(status, class)`` of each line in record order (padding dropped).
    """
    status = batch.status.cpu()
    pdg = batch.pdg.cpu()
    mass = batch.masses.cpu()
    massless = mass.abs() < 1e-6
    keys: dict[tuple, list[int]] = {}
    for i in range(len(batch)):
        row = []
        for s, p, zero, m in zip(status[i].tolist(), pdg[i].tolist(), massless[i].tolist(), mass[i].tolist()):
            if p == 0:
                continue
            if abs(p) in _JET and s != 2:
                # partons of any flavour and one mass: the flavour is drawn later, from an event of
                # the layout, and the mass is the layout's (a gluon never gets a quark's mass)
                row.append((s, "j" if zero else f"j{m:.6g}"))
            elif abs(p) in _LEPTON and s == 1 and zero:
                row.append((s, "l+" if p < 0 else "l-"))  # massless e, mu: kinematically one
            else:
                row.append((s, p if s == 1 else abs(p)))
        keys.setdefault(tuple(row), []).append(i)
    return keys


def _by_process(batch: EventBatch, found: dict[tuple, list[int]]) -> dict[tuple, list[int]]:
    """Each layout split by process id; a layout of several processes gets ``("process", id)``
    appended to its key (a trailing pseudo-line, no record slot)."""
    pid = batch.process_id.cpu().numpy()
    out: dict[tuple, list[int]] = {}
    for key, members in found.items():
        ids = sorted(set(pid[members].tolist()))
        for p in ids:
            mine = [i for i in members if pid[i] == p]
            out[key if len(ids) == 1 else (*key, ("process", int(p)))] = mine
    return out


def group_events(
    batch: EventBatch, sqrt_s: float | None = None, *, by_process: bool = False
) -> list[EventGroup]:
    """Split ``batch`` into record layouts; groups in order of first appearance.

    With the collider energy ``sqrt_s``, at a hadron collider, the root's rapidity is a share of its
    kinematic range and the system's mass its excess over its children's (see the module); without
    it, the rapidity and the mass themselves. ``by_process``: a group per layout and process id, so
    that a generator's events (which take their process id from a training event of their group)
    never move cross section between processes that share a layout (the H events of FxFx's
    Z + 0 jets and the S events of its Z + 1 jet).
    """
    groups = []
    found = layouts(batch)
    for key, members in (_by_process(batch, found) if by_process else found).items():
        idx = torch.tensor(members)
        first = members[0]
        final = [k for k, (s, _) in enumerate(key) if s == 1]
        if len(final) < 2:
            raise ValueError(
                f"events with {len(final)} outgoing particle(s) cannot be described (layout {key})"
            )
        mothers = batch.mothers[first].cpu()
        resonances: dict[int, list[int]] = {}
        for k, (s, _) in enumerate(key):
            if s == 2:
                resonances[k] = [j for j in final if descends(mothers, j, k)]
        masses = batch.masses[idx][:, final].double().median(0).values.cpu()
        groups.append(EventGroup(key, idx, final, resonances, masses, sqrt_s))
    return groups


def descends(mothers: Tensor, j: int, k: int) -> bool:
    """Line ``j`` descends from line ``k`` (1-based mother indices, 0 = none)."""
    seen = set()
    todo = [j]
    while todo:
        i = todo.pop()
        for m in mothers[i].tolist():
            if m > 0 and m - 1 not in seen:
                if m - 1 == k:
                    return True
                seen.add(m - 1)
                todo.append(m - 1)
    return False


def _build_tree(group: EventGroup) -> _Tree:
    """Nest the resonances by their daughter sets; a resonance that does not nest is left out."""
    sets: dict[int, frozenset[int]] = {}
    for slot, daughters in sorted(group.resonances.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        d = frozenset(daughters)
        nests = all(d <= other or d.isdisjoint(other) for other in sets.values())
        if len(d) >= 2 and nests and d not in sets.values():
            sets[slot] = d
    pos = {slot: i for i, slot in enumerate(group.final)}

    def parent(d: frozenset[int], exclude: int | None) -> int | None:
        best = None
        for slot, other in sets.items():
            if slot != exclude and d <= other and (best is None or len(other) < len(sets[best])):
                if d != other:
                    best = slot
        return best

    def first_slot(node: Node) -> int:
        return min(sets[node[1]]) if node[0] == "res" else group.final[node[1]]

    top: list[Node] = []
    children: dict[int, list[Node]] = {slot: [] for slot in sets}
    for slot, d in sets.items():
        p = parent(d, slot)
        (top if p is None else children[p]).append(("res", slot))
    for slot in group.final:
        p = parent(frozenset([slot]), None)
        (top if p is None else children[p]).append(("fin", pos[slot]))
    top.sort(key=first_slot)
    for c in children.values():
        c.sort(key=first_slot)
    hadrons = all(_parton(group.key[k][1]) for k in (0, 1))
    jets = [node for node in top if node[0] == "fin" and _parton(group.key[group.final[node[1]]][1])]
    balance = None
    if len(top) > 1 and hadrons and jets:
        balance = next((node for node in top if node[0] == "res"), top[-1])
    elif len(top) > 1:
        # the whole final state (zero pT in a parton-level record) decays into the top level
        children = {SYSTEM: top} | children

    columns: list[tuple[str, ...]] = []
    mass_columns: dict[int, int] = {}

    def name(node: Node) -> str:
        if node[1] == SYSTEM:
            return "sys"
        return f"r{node[1]}" if node[0] == "res" else f"p{group.final[node[1]]}"

    if balance is not None:
        for node in top:
            if node != balance:
                columns += [("log_pt", name(node)), ("y", name(node)), ("phi", name(node))]
        columns.append(("y", name(balance)))
        for node in top:
            if node[0] == "res":
                mass_columns[node[1]] = len(columns)
                columns.append(("m", name(node)))
    else:
        root = ("res", SYSTEM) if len(top) > 1 else top[0]
        collider = hadrons and bool(group.sqrt_s)
        rapidity = "y_frac" if collider else "y"
        # the system's mass above the sum of its children's: the threshold, wherever their masses are
        mass = "m_excess" if collider and root[1] == SYSTEM else "m"
        columns += [(rapidity, name(root)), (mass, name(root))]
        if root[1] != SYSTEM:
            mass_columns[root[1]] = 1
    parents = {kid[1]: slot for slot, kids in children.items() for kid in kids if kid[0] == "res"}
    for slot, kids in children.items():
        helicity = slot in parents and len(kids) == 2
        for j in range(len(kids) - 1):
            polar = "z_theta" if slot == SYSTEM and len(kids) == 2 else "cos_theta"
            suffix = "_h" if helicity else ""
            columns += [(polar + suffix, f"{name(('res', slot))}->{name(kids[j])}")]
            columns += [("phi" + suffix, f"{name(('res', slot))}->{name(kids[j])}")]
            if j < len(kids) - 2:
                columns.append(("m_rest", f"{name(('res', slot))}/{j + 1}"))
        for kid in kids:
            if kid[0] == "res":
                mass_columns[kid[1]] = len(columns)
                columns.append(("m", name(kid)))
    ref = next(k for k, c in enumerate(columns) if c[0] == "phi")  # n_final >= 2: there is one
    mass_columns = {s: c - (c > ref) for s, c in mass_columns.items()}
    return _Tree(top, children, columns, ref, mass_columns, balance, parents)


#: The largest velocity in the scattering angle's map (massless children): atanh(BETA_MAX) = 3.8.
BETA_MAX = 0.999


def _scattering_beta(m: Tensor, m_a: Tensor, m_b: Tensor) -> Tensor:
    """``2 p / m``: the children's mean velocity in the rest frame of a system of mass ``m``, within
    ``[1e-6, BETA_MAX]`` (NaN below threshold)."""
    lam = (m**2 - (m_a + m_b) ** 2) * (m**2 - (m_a - m_b) ** 2)
    return (torch.sqrt(lam) / m**2).clamp(1e-6, BETA_MAX)


def _helicity_axes(r: Tensor, grand: Tensor, mass: Tensor) -> Tensor:
    """``(N, 3, 3)`` the helicity frame's axes (rows x, y, z) in the rest frame of ``r`` (mass ``mass``)
    reached from the lab by a pure boost: z along ``r``'s flight in the rest frame of ``grand`` (the
    resonance or system it comes from), that is opposite to ``grand`` seen from ``r``; x in the
    plane of z and the beam (+z of the lab); y = z × x."""
    z = -boost_to_rest(grand, r, mass)[:, 1:]
    z = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    beam = torch.zeros_like(r)
    beam[:, 0], beam[:, 3] = 1.0, 1.0
    b = boost_to_rest(beam, r, mass)[:, 1:]
    x = b - (b * z).sum(-1, keepdim=True) * z
    x = x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return torch.stack([x, torch.linalg.cross(z, x), z], 1)


def _node_momentum(p: Tensor, group: EventGroup, node: Node) -> Tensor:
    if node[0] == "fin":
        return p[:, node[1]]
    if node[1] == SYSTEM:
        return p.sum(1)
    pos = {slot: i for i, slot in enumerate(group.final)}
    return p[:, [pos[s] for s in group.resonances[node[1]]]].sum(1)


def _raw_features(p: Tensor, group: EventGroup) -> list[Tensor]:
    """Every column of the tree, the first azimuth included, in absolute azimuths."""
    tree = group.tree
    cols: list[Tensor] = []
    if tree.lab:
        for node in tree.movers:
            q = _node_momentum(p, group, node)
            cols += [torch.log(v.pt(q)), v.rapidity(q), v.phi(q)]
        assert tree.balance is not None  # lab mode
        cols.append(v.rapidity(_node_momentum(p, group, tree.balance)))
        cols += [v.mass(_node_momentum(p, group, node)) for node in tree.top if node[0] == "res"]
    else:
        root = _node_momentum(p, group, ("res", SYSTEM) if SYSTEM in tree.children else tree.top[0])
        y, m = v.rapidity(root), v.mass(root)
        if tree.raw_columns[0][0] == "y_frac":
            assert group.sqrt_s is not None  # the rapidity is a share of its range only with sqrt(s)
            y = y / torch.log(group.sqrt_s / m)
        if tree.raw_columns[1][0] == "m_excess":
            kids = tree.children[SYSTEM]
            onshell = group.masses.to(p.dtype).to(p.device)
            m = m - sum(
                v.mass(_node_momentum(p, group, kid)) if kid[0] == "res" else onshell[kid[1]] for kid in kids
            )
        cols += [y, m]
    for slot, kids in tree.children.items():
        parent = _node_momentum(p, group, ("res", slot))
        for j in range(len(kids) - 1):
            child = _node_momentum(p, group, kids[j])
            if tree.helicity(slot):  # a two-body decay: j = 0 only
                mass = v.mass(parent)
                axes = _helicity_axes(parent, _node_momentum(p, group, ("res", tree.parents[slot])), mass)
                d = boost_to_rest(child, parent, mass)[:, 1:]
                d = torch.einsum("nij,nj->ni", axes, d / torch.linalg.vector_norm(d, dim=-1, keepdim=True))
                cols += [d[:, 2], torch.atan2(d[:, 1], d[:, 0])]
            else:
                u = two_body_angles(child, parent)
                cos_t = 2 * u[:, 0] - 1
                if slot == SYSTEM and len(kids) == 2:
                    beta = _scattering_beta(v.mass(parent), v.mass(child), v.mass(parent - child))
                    cos_t = torch.atanh(beta * cos_t) / torch.atanh(beta)
                cols += [cos_t, 2 * math.pi * u[:, 1]]
            parent = parent - child
            if j < len(kids) - 2:
                cols.append(v.mass(parent))
        for kid in kids:
            if kid[0] == "res":
                cols.append(v.mass(_node_momentum(p, group, kid)))
    return cols


def _wrap(phi: Tensor) -> Tensor:
    return torch.remainder(phi + math.pi, 2 * math.pi) - math.pi


def reference_azimuth(batch: EventBatch, group: EventGroup) -> Tensor:
    """``(N,)`` the orientation of each of the group's events (the azimuth features are relative to it)."""
    p = batch.momenta[group.index.to(batch.device)][:, group.final].double()
    return _raw_features(p, group)[group.tree.ref]


def features_of(batch: EventBatch, group: EventGroup) -> Tensor:
    """``(N, n_features)`` float64 features of the group's events."""
    tree = group.tree
    p = batch.momenta[group.index.to(batch.device)][:, group.final].double()
    cols = _raw_features(p, group)
    phi0 = cols[tree.ref]
    out = [_wrap(c - phi0) if name[0] == "phi" else c for c, name in zip(cols, tree.raw_columns)]
    return torch.stack(out[: tree.ref] + out[tree.ref + 1 :], 1)


def _from_pt_y(ptv: Tensor, y: Tensor, m: Tensor) -> Tensor:
    """``(E, px, py, pz)`` from the transverse momentum ``(N, 2)``, rapidity and mass."""
    mt = torch.sqrt((ptv**2).sum(-1) + m**2)
    return torch.stack([mt * torch.cosh(y), ptv[:, 0], ptv[:, 1], mt * torch.sinh(y)], -1)


def momenta_of(
    features: Tensor, group: EventGroup, phi0: Tensor, sqrt_s: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Final-state momenta ``(N, n_final, 4)``, ``x1``, ``x2`` from features (differentiable).

    ``phi0`` is the event's orientation (:func:`reference_azimuth`). A resonance lighter
    than its children gives NaN momenta.
    """
    tree = group.tree
    cols = list(features.unbind(1))
    cols.insert(tree.ref, torch.zeros_like(phi0, dtype=features.dtype))
    cols = [c + phi0 if name[0] == "phi" else c for c, name in zip(cols, tree.raw_columns)]
    it = iter(cols)
    onshell = group.masses.to(features.dtype).to(features.device)
    masses: dict[int, Tensor] = {}
    if tree.lab:
        objects = _lab_objects(tree, it, onshell, masses)
    else:
        # the root: the system of all outgoing particles (or the one top-level resonance), at zero pT
        y, m = next(it), next(it)
    # decays, in the order the columns were written (a parent before its children)
    decay_cols: dict[int, list[Tensor]] = {}
    for slot, kids in tree.children.items():
        n_cols = 3 * (len(kids) - 1) - 1 + sum(1 for kid in kids if kid[0] == "res")
        decay_cols[slot] = [next(it) for _ in range(n_cols)]
    if not tree.lab:
        objects = [_root_object(group, y, m, decay_cols, onshell, masses)]
    p = _decay_all(group, objects, decay_cols, onshell, masses)
    total = p.sum(1)
    x1 = (total[:, 0] + total[:, 3]) / sqrt_s
    x2 = (total[:, 0] - total[:, 3]) / sqrt_s
    return p, x1, x2


def _lab_objects(
    tree: _Tree, it: Iterator[Tensor], onshell: Tensor, masses: dict[int, Tensor]
) -> list[tuple[Node, Tensor]]:
    """The top level in the lab: pT, y, phi each; the balancing object's pT is minus their sum.
    Fills the top-level resonances' ``masses``."""
    assert tree.balance is not None  # lab mode
    movers = [(node, next(it), next(it), next(it)) for node in tree.movers]
    y_balance = next(it)
    for node in tree.top:
        if node[0] == "res":
            masses[node[1]] = next(it)
    n, like = len(y_balance), y_balance

    def mass_of(node: Node) -> Tensor:
        return masses[node[1]] if node[0] == "res" else onshell[node[1]].expand(n)

    objects = []
    total = torch.zeros(n, 2, dtype=like.dtype, device=like.device)
    for node, log_pt, y, phi in movers:
        pt = torch.exp(log_pt)
        ptv = torch.stack([pt * torch.cos(phi), pt * torch.sin(phi)], -1)
        total = total + ptv
        objects.append((node, _from_pt_y(ptv, y, mass_of(node))))
    objects.append((tree.balance, _from_pt_y(-total, y_balance, mass_of(tree.balance))))
    return objects


def _root_object(
    group: EventGroup,
    y: Tensor,
    m: Tensor,
    decay_cols: dict[int, list[Tensor]],
    onshell: Tensor,
    masses: dict[int, Tensor],
) -> tuple[Node, Tensor]:
    """The root's momentum at zero pT from its rapidity feature and mass feature (as an excess over
    its children's masses, or a share of the rapidity range, where the columns say so)."""
    tree = group.tree
    if tree.raw_columns[1][0] == "m_excess":  # the children's masses are the system's last columns
        kids = tree.children[SYSTEM]
        res_masses = iter(decay_cols[SYSTEM][3 * (len(kids) - 1) - 1 :])
        m = m + sum(next(res_masses) if kid[0] == "res" else onshell[kid[1]] for kid in kids)
    if tree.raw_columns[0][0] == "y_frac":
        assert group.sqrt_s is not None  # the rapidity is a share of its range only with sqrt(s)
        y = y * torch.log(group.sqrt_s / m)
    root = ("res", SYSTEM) if SYSTEM in tree.children else tree.top[0]
    masses[root[1]] = m
    zero = torch.zeros_like(m)
    return root, torch.stack([m * torch.cosh(y), zero, zero, m * torch.sinh(y)], -1)


def _decay_all(
    group: EventGroup,
    objects: list[tuple[Node, Tensor]],
    decay_cols: dict[int, list[Tensor]],
    onshell: Tensor,
    masses: dict[int, Tensor],
) -> Tensor:
    """Every resonance decayed in turn, from the top-level ``objects`` down: the final state's
    momenta ``(N, n_final, 4)``."""
    tree = group.tree
    n, like = len(objects[0][1]), objects[0][1]
    p = torch.zeros(n, len(group.final), 4, dtype=like.dtype, device=like.device)
    lab: dict[Node, Tensor] = dict(objects)
    todo = [node for node, _ in objects]
    while todo:
        node = todo.pop(0)
        if node[0] == "fin":
            p[:, node[1]] = lab[node]
            continue
        slot = node[1]
        kids = tree.children[slot]
        cols_k = decay_cols[slot]
        n_steps = len(kids) - 1
        steps = cols_k[: 3 * n_steps - 1]
        for kid, m in zip([kid for kid in kids if kid[0] == "res"], cols_k[3 * n_steps - 1 :]):
            masses[kid[1]] = m
        parent = lab[node]
        parent_mass = masses[slot]
        for j in range(n_steps):
            cos_t, phi = steps[3 * j], steps[3 * j + 1]
            kid = kids[j]
            m_a = masses[kid[1]] if kid[0] == "res" else onshell[kid[1]].expand(n)
            if j < n_steps - 1:
                m_b = steps[3 * j + 2]  # the mass of the rest
            else:
                last = kids[-1]
                m_b = masses[last[1]] if last[0] == "res" else onshell[last[1]].expand(n)
            # below threshold the momenta are NaN (rejected), also where M < |m_a - m_b| (lambda > 0)
            s_parent = torch.where(parent_mass < m_a + m_b, math.nan, parent_mass**2)
            if slot == SYSTEM and len(kids) == 2:
                beta = _scattering_beta(parent_mass, m_a, m_b)
                cos_t = torch.tanh(cos_t * torch.atanh(beta)) / beta
            if tree.helicity(slot):
                # the helicity angles back to the rest frame's lab-parallel axes
                sin_t = torch.sqrt(((1 - cos_t) * (1 + cos_t)).clamp(min=0))
                d = torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t], -1)
                axes = _helicity_axes(parent, lab[("res", tree.parents[slot])], parent_mass)
                d = torch.einsum("nji,nj->ni", axes, d)
                cos_t, phi = d[:, 2], torch.remainder(torch.atan2(d[:, 1], d[:, 0]), 2 * math.pi)
            u = torch.stack([(cos_t + 1) / 2, phi / (2 * math.pi)], -1)
            a, b, _ = two_body_decay(parent, s_parent, m_a, m_b, u)
            lab[kid] = a
            todo.append(kid)
            parent, parent_mass = b, m_b
        lab[kids[-1]] = parent
        todo.append(kids[-1])
    return p
