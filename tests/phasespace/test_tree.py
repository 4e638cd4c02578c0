"""Decay trees: the recursion's weight, the t tbar chain at fixed P, and trees from propagators."""

from __future__ import annotations

import pytest
import torch
from ps_checks import assert_conserved, assert_mc, assert_on_shell, massless_volume, uniform

from mlgen.phasespace.topologies import from_propagators, ttbar_decay_chain
from mlgen.phasespace.tree import DecayTree, Node
from mlgen.physics.propagators import Propagator
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


def test_bw_window_keeps_masses_inside_and_its_volume() -> None:
    """A Breit-Wigner cutoff: masses stay in the window and the map keeps its exact volume.

    ``P -> 0 + Q(-> 1 2)``, all massless: ``V = int ds_Q / (2 pi) (1 / (8 pi))^2 (1 - s_Q / s)``
    over the window, in closed form.
    """
    m, gamma, n_widths, sqrt_s = 80.0, 2.0, 15.0, 200.0
    window = (m - n_widths * gamma, m + n_widths * gamma)
    tree = DecayTree(Node((0, Node((1, 2), m, gamma, window=window))), [0.0] * 3)
    P = _boosted(40000, sqrt_s)
    u = uniform(40000, tree.dim, seed=32)
    p, log_w = tree.forward(u, P)
    assert_conserved(P, p)
    mq = mass2(p[:, 1:].sum(1)).sqrt()
    assert float(mq.min()) >= window[0] - 1e-9 and float(mq.max()) <= window[1] + 1e-9
    s_lo, s_hi, s = window[0] ** 2, window[1] ** 2, sqrt_s**2
    exact = ((s_hi - s_lo) - (s_hi**2 - s_lo**2) / (2 * s)) / (2 * torch.pi * (8 * torch.pi) ** 2)
    # the map flattens the Breit-Wigner, not the flat integrand here: weights vary by ~200
    assert_mc(torch.exp(log_w), exact, max_rel_sdev=0.025)
    u2, log_w2 = tree.inverse(p)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-9)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-9)


def test_bw_window_closed_by_the_parent_has_zero_weight() -> None:
    tree = DecayTree(Node((0, Node((1, 2), 80.0, 2.0, window=(60.0, 100.0)))), [0.0] * 3)
    # sqrt(s) = 50 GeV: Q cannot reach 60 GeV
    p, log_w = tree.forward(uniform(100, tree.dim, seed=33), _boosted(100, 50.0))
    assert bool(torch.isfinite(p).all())
    assert bool((log_w == -torch.inf).all())
    with pytest.raises(ValueError, match="window"):
        Node((1, 2), 80.0, 2.0, window=(90.0, 70.0))


def test_bwcutoff_gives_decay_chain_nodes_windows() -> None:
    props = [
        Propagator((2, 3, 4), 173.0, 1.5, 6),
        Propagator((3, 4), 80.0, 2.0, 24),
    ]
    root = from_propagators(4, props, bwcutoff=15.0)
    top = next(c for c in root.children if isinstance(c, Node))
    w = next(c for c in top.children if isinstance(c, Node))
    assert top.window == (173.0 - 22.5, 173.0 + 22.5)
    assert w.window == (80.0 - 30.0, 80.0 + 30.0)
    # the root (the luminosity's s-hat) and the Z of Drell-Yan carry no window
    assert root.window is None
    dy = from_propagators(2, [Propagator((2, 3), 91.188, 2.441404, 23)], bwcutoff=15.0)
    assert dy.window is None


def test_floor_from_the_cuts_keeps_pair_masses_above_it_and_the_cut_volume() -> None:
    """``y_ij = m_ij^2 / s > y`` for all three massless pairs: the map sampling ``m_12^2`` only above
    ``y s`` (the floor ``from_propagators`` derives from the cuts) gives the cut volume
    ``V_3 (1 - 3 y)^2`` (the cut Dalitz triangle), inverts exactly, and spends no point below."""
    y, n = 0.05, 40000
    floors = {pair: (0.0, y) for pair in ((0, 1), (0, 2), (1, 2))}
    root = from_propagators(3, [Propagator((3, 4), 0.0, 0.0, 1)], pair_floors=floors)
    assert root == Node((0, Node((1, 2), nu=1.0, pdg=1, floor=(0.0, y))))
    tree = DecayTree(root, [0.0] * 3)
    P = _boosted(n, 200.0)
    u = uniform(n, tree.dim, seed=34)
    p, log_w = tree.forward(u, P)
    assert_conserved(P, p)
    s = 200.0**2
    pairs = torch.stack([mass2(p[:, i] + p[:, j]) for i, j in floors], -1) / s
    assert float(pairs[:, 2].min()) >= y * (1 - 1e-12)
    inside = (pairs > y).all(-1)
    assert 0.6 < float(inside.double().mean()) < 0.95  # the other two pairs still need the cut
    assert_mc(torch.exp(log_w) * inside, massless_volume(3, s) * (1 - 3 * y) ** 2, max_rel_sdev=0.01)
    u2, log_w2 = tree.inverse(p)
    torch.testing.assert_close(u2, u, rtol=0, atol=1e-9)
    torch.testing.assert_close(log_w2, -log_w, rtol=0, atol=1e-9)
    # an absolute floor (an m cut on the pair) the parent's mass cannot reach: zero weight
    closed = DecayTree(Node((0, Node((1, 2), floor=(300.0**2, 0.0)))), [0.0] * 3)
    p, log_w = closed.forward(uniform(100, closed.dim, seed=35), _boosted(100, 200.0))
    assert bool(torch.isfinite(p).all()) and bool((log_w == -torch.inf).all())
    with pytest.raises(ValueError, match="floor"):
        Node((1, 2), floor=(0.0, 1.5))
