"""MadEvent's channels as mlgen phase-space maps: one map per config of ``configs.inc``.

A config (:class:`~mlgen.matrix.mg5.configs.ChannelConfig`, plain data from the parser) becomes

* an s-channel :class:`~mlgen.phasespace.tree.Node` tree when its last line covers the whole final
  state (the root's propagator is then the luminosity's ``tau`` map), or
* a :class:`~mlgen.phasespace.tchannel.TChain` whose blocks are final-state particles or s-channel
  trees, in the order the t-channel line emits them,

with the propagators' masses and widths valued from the card (``props.inc``'s names). Massive
s-channel lines get Breit-Wigner maps (inside ``bwcutoff`` widths when given, as MadEvent does), inner
massless ones the power law of :data:`~mlgen.phasespace.topologies.MASSLESS_NU`; t-channel lines the
maps of :mod:`mlgen.phasespace.tchannel`.
"""

from __future__ import annotations

__all__ = ["config_channel", "diagram_channels"]

from collections.abc import Mapping, Sequence

from mlgen.matrix.mg5.configs import ChannelConfig, Line
from mlgen.phasespace.tchannel import TChain, TPropagator
from mlgen.phasespace.topologies import MASSLESS_NU, bw_window
from mlgen.phasespace.tree import Node
from mlgen.physics.propagators import Propagator


def _value(values: Mapping[str, float], name: str, config: ChannelConfig) -> float:
    try:
        return abs(values[name])
    except KeyError:
        raise ValueError(f"config {config.number}: parameter {name} is not in the param card") from None


def config_channel(
    config: ChannelConfig, values: Mapping[str, float], n_final: int, bwcutoff: float | None = None
) -> tuple[tuple[Propagator, ...], Node | TChain]:
    """The s-channel propagators (external indices 0-based, incoming at 0 and 1) and the topology
    (final-state indices 0-based) of one MadEvent config.

    Arguments:
        config: the parsed config.
        values: parameter values by ``props.inc`` name (:func:`~mlgen.matrix.mg5.configs.card_parameters`).
        n_final: number of final-state particles.
        bwcutoff: when given, massive s-channel lines inside the final state sample their mass only
            within ``bwcutoff`` widths of the pole.
    """
    lines = {line.id: line for line in config.lines}
    leaves: dict[int, frozenset[int]] = {}

    def leaf_set(d: int) -> frozenset[int]:
        return frozenset([d]) if d > 0 else leaves[d]

    s_lines = [line for line in config.lines if not line.t_channel]
    for line in s_lines:  # daughters come before their parents (ids -1, -2, ...)
        leaves[line.id] = leaf_set(line.daughters[0]) | leaf_set(line.daughters[1])
    propagators = tuple(
        Propagator(
            tuple(sorted(e - 1 for e in leaves[line.id])),
            _value(values, line.mass, config),
            _value(values, line.width, config),
            line.pdg,
        )
        for line in s_lines
    )

    def build(d: int, root: bool = False) -> Node | int:
        if d > 0:
            return d - 3
        line: Line = lines[d]
        mass, width = _value(values, line.mass, config), _value(values, line.width, config)
        prop = Propagator((), mass, width, line.pdg)
        children = (build(line.daughters[0]), build(line.daughters[1]))
        if root:
            return Node(children, mass, width, pdg=line.pdg)
        return Node(
            children,
            mass,
            width,
            nu=MASSLESS_NU if mass == 0.0 else None,
            pdg=line.pdg,
            window=bw_window(prop, bwcutoff),
        )

    everything = frozenset(range(3, 3 + n_final))
    t_lines = [line for line in config.lines if line.t_channel]
    if not t_lines:
        top = s_lines[-1]
        if leaves[top.id] != everything:
            raise ValueError(f"config {config.number}: no t-channel line and no s-channel line over all")
        node = build(top.id, root=True)
        assert isinstance(node, Node)
        return propagators, node
    blocks, t_props, start = _t_chain(config, t_lines)
    chain = TChain(
        tuple(build(b) for b in blocks),
        tuple(TPropagator(_value(values, line.mass, config), line.pdg) for line in t_props),
        start=start,
    )
    return propagators, chain


def _t_chain(config: ChannelConfig, t_lines: Sequence[Line]) -> tuple[list[int], list[Line], int]:
    """The t-channel lines of a config as one chain from a beam: ``(blocks, propagators, start)``.

    MadEvent (3.6 and later) writes a config's t-channel lines in the order of its ``TSTRATEGY``:
    one chain from beam 1 or from beam 2, or "ping-pong" (``-1``, ``-2``) with lines growing from both
    beams in turn. Every line joins an earlier line of its half (or its beam) with one block; the
    last line closes the diagram and is no propagator. Read from both halves, the chain from the
    beam of the half without the closing line is that half's blocks, the closing line's block, then
    the other half's blocks backwards (the same spacelike lines, each ``t`` unchanged).
    """
    halves: dict[int, list[tuple[Line, int]]] = {1: [], 2: []}
    end: dict[int, int] = {1: 1, 2: 2}  # the line (or beam) each half has reached
    for line in t_lines:
        a, b = line.daughters
        for beam in (1, 2):
            if end[beam] in (a, b):
                halves[beam].append((line, b if a == end[beam] else a))
                end[beam] = line.id
                break
        else:
            raise ValueError(
                f"config {config.number}: t-channel line {line.id} joins {a} and {b}, neither continuing "
                f"the line from beam 1 ({end[1]}) nor from beam 2 ({end[2]})"
            )
    closing = t_lines[-1]
    closed = 1 if halves[1] and halves[1][-1][0] is closing else 2
    other = 3 - closed
    if not halves[other]:  # one chain from one beam: MadEvent's strategies 1 and 2
        chain = halves[closed]
        return [b for _, b in chain], [line for line, _ in chain[:-1]], closed - 1
    inner = halves[closed][:-1]
    blocks = [b for _, b in halves[other]] + [halves[closed][-1][1]] + [b for _, b in reversed(inner)]
    props = [line for line, _ in halves[other]] + [line for line, _ in reversed(inner)]
    return blocks, props, other - 1


def diagram_channels(
    configs: Sequence[ChannelConfig], values: Mapping[str, float], n_final: int, bwcutoff: float | None = None
) -> list[tuple[tuple[Propagator, ...], Node | TChain]]:
    """:func:`config_channel` of every config, in config order (MadEvent's channel order)."""
    return [config_channel(c, values, n_final, bwcutoff) for c in configs]
