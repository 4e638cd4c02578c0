"""Decay trees: the recursion's weight, the t tbar chain at fixed P, and trees from propagators."""

from __future__ import annotations

import pytest
import torch
from ps_checks import assert_conserved, assert_mc, assert_on_shell, massless_volume, uniform

from mlgen.matrix.base import Propagator
from mlgen.phasespace.topologies import from_propagators, ttbar_decay_chain
from mlgen.phasespace.tree import DecayTree, Node
from mlgen.physics.vectors import mass2

TTBAR_MASSES = (4.7, 0.0, 0.0, 4.7, 0.0, 0.0)


def _boosted(n: int, sqrt_s: float) -> torch.Tensor:
    """``(n, 4)`` copies of a momentum of mass ``sqrt_s`` (GeV) boosted off every axis."""
    energy = (sqrt_s**2 + 300.0**2 + 400.0**2 + 1200.0**2) ** 0.5
    return torch.tensor([energy, 300.0, -400.0, 1200.0], dtype=torch.float64).expand(n, 4)


@pytest.mark.parametrize(
    "root",
    [
        Node((0, Node((1, 2)))),
        Node((Node((0, 1)), 2)),
        Node((Node((0, 1)), Node((2, 3)))),
        Node((0, Node((1, Node((2, 3)))))),
    ],
    ids=["3-right", "3-left", "4-symmetric", "4-chain"],
)
def test_flat_tree_reproduces_massless_volume(root: Node) -> None:
    """The recursion with flat intermediates estimates V_n: a check of every 2 pi and lambda factor."""
    n = len(root.leaves)
    tree = DecayTree(root, [0.0] * n)
    P = _boosted(40000, 500.0)
    p, log_w = tree.forward(uniform(40000, tree.dim, seed=30), P)
    assert_conserved(P, p)
    assert_on_shell(p, [0.0] * n)
    assert_mc(torch.exp(log_w), massless_volume(n, 500.0**2), max_rel_sdev=0.02)


def test_ttbar_chain_at_fixed_momentum() -> None:
    tree = DecayTree(ttbar_decay_chain(), TTBAR_MASSES)
    assert tree.dim == 14
    P = _boosted(3000, 600.0)
    u = uniform(3000, tree.dim, seed=31)
    p, log_w = tree.forward(u, P)
    assert_conserved(P, p)
    assert_on_shell(p, TTBAR_MASSES)
    top, antitop = p[:, :3].sum(1), p[:, 3:].sum(1)
    w_plus, w_minus = p[:, 1:3].sum(1), p[:, 4:].sum(1)
    # Breit-Wigner sampling puts most tops and Ws near their poles
    for res, pole in ((top, 173.0), (antitop, 173.0), (w_plus, 80.419), (w_minus, 80.419)):
        near = (mass2(res).sqrt() - pole).abs() < 10.0
        assert float(near.double().mean()) > 0.6
    u2, log_w2 = tree.inverse(p)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-9)


def test_tree_from_propagators_is_the_ttbar_chain() -> None:
    props = [
        Propagator((2, 3, 4), 173.0, 1.4915, 6),
        Propagator((5, 6, 7), 173.0, 1.4915, -6),
        Propagator((3, 4), 80.419002, 2.0476, 24),
        Propagator((6, 7), 80.419002, 2.0476, -24),
    ]
    assert from_propagators(6, props) == ttbar_decay_chain()
    dy = from_propagators(2, [Propagator((2, 3), 91.188, 2.441404, 23)])
    assert dy == Node((0, 1), 91.188, 2.441404, pdg=23)
    flat = from_propagators(4, [])
    assert sorted(flat.leaves) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="overlap"):
        from_propagators(3, [Propagator((2, 3), 10.0, 1.0), Propagator((3, 4), 10.0, 1.0)])


def test_bad_trees() -> None:
    with pytest.raises(ValueError, match="leaves"):
        DecayTree(Node((0, Node((1, 1)))), [0.0, 0.0])
    with pytest.raises(ValueError, match="width"):
        DecayTree(Node((0, Node((1, 2), 80.0))), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="two children"):
        Node((0, 1, 2))  # type: ignore[arg-type]
