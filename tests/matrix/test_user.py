"""A user's own |M|^2, written only here: the card route and the Python route, all three call kinds."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.cards import CardError, parse_card
from mlgen.integrate.loop import vegas_integrate
from mlgen.matrix.base import MatrixElement
from mlgen.matrix.user import UserMatrixElement
from mlgen.physics.propagators import Propagator
from mlgen.process.build import build_process
from mlgen.process.process import GEV2_TO_PB

SQRT_S, A = 500.0, 0.02

# |M|^2 = A (1 + cos^2 theta): sigma = A / (2 s) * int dPhi_2 (1 + c^2) = A / (2 s) / (6 pi), in GeV^-2
EXACT = A / (2 * SQRT_S**2) / (6 * math.pi) * GEV2_TO_PB

ME_SOURCE = textwrap.dedent(
    """
    import numpy as np

    A = 0.02

    def batched(p):
        c = p[:, 2, 3] / (p[:, 2, 1:] ** 2).sum(-1) ** 0.5
        return A * (1 + c * c)

    def one_event(p):
        c = p[2, 3] / np.sqrt((p[2, 1:] ** 2).sum())
        return A * (1 + c * c)
    """
)


def _card(spec: str, kind: str) -> str:
    return textwrap.dedent(
        f"""
        [process]
        name = "e+ e- -> mu+ mu- (user)"
        matrix_element = "{spec}"
        [process.user]
        subprocesses = [[11, -11, 13, -13]]
        kind = "{kind}"
        [beams]
        particles = ["e-", "e+"]
        sqrt_s = {SQRT_S}
        [scales]
        variations = false
        """
    )


def _integrate(process):
    result, _ = vegas_integrate(process, process.dim, n_adapt_iter=3, n_per_iter=10_000, n_iter=4, seed=4)
    return result


@pytest.mark.parametrize("kind, attr", [("torch", "batched"), ("numpy", "batched"), ("event", "one_event")])
def test_card_route_integrates_to_the_closed_form(tmp_path: Path, kind: str, attr: str) -> None:
    (tmp_path / "my_me.py").write_text(ME_SOURCE)
    card = parse_card(_card(f"my_me.py:{attr}", kind), source=str(tmp_path / "card.toml"))
    process = build_process(card)
    assert isinstance(process.matrix_element, MatrixElement)
    result = _integrate(process)
    assert abs(result.mean - EXACT) < 4 * result.sdev, (result.mean, result.sdev, EXACT)
    assert result.sdev / EXACT < 2e-3


def test_python_route_with_a_torch_function_and_a_propagator() -> None:
    def amp2(p: torch.Tensor, alpha_s: torch.Tensor | None) -> torch.Tensor:
        c = p[:, 2, 3] / p[:, 2, 1:].norm(dim=-1)
        return A * (1 + c * c)

    me = UserMatrixElement(
        amp2, [[11, -11, 13, -13]], propagators=[Propagator((2, 3), 0.0, 0.0, 0)], name="user"
    )
    process = build_process(parse_card(_card("python", "torch")), matrix_element=me)
    result = _integrate(process)
    assert abs(result.mean - EXACT) < 4 * result.sdev and result.sdev / EXACT < 2e-3
    assert me.resonances == ()  # a propagator with pdg 0 feeds the map only


def test_bad_user_input_is_named() -> None:
    with pytest.raises(ValueError, match="colour: subprocess \\[21, 21, 22, 22\\] has coloured partons"):
        UserMatrixElement(lambda p: p[:, 0, 0], [[21, 21, 22, 22]])
    with pytest.raises(ValueError, match="kind: expected one of torch, numpy, event"):
        UserMatrixElement(lambda p: p[:, 0, 0], [[11, -11, 13, -13]], kind="fortran")
    wrong = UserMatrixElement(lambda p: np.ones((len(p), 3)), [[11, -11, 13, -13]], kind="numpy")
    with pytest.raises(ValueError, match="returned shape \\(2, 3\\), expected \\(2,\\) or \\(2, 1\\)"):
        wrong(torch.zeros(2, 4, 4, dtype=torch.float64))
    nan = UserMatrixElement(lambda p: p[:, 0, 0] * float("nan"), [[11, -11, 13, -13]], name="nanny")
    with pytest.raises(ValueError, match="nanny: returned 2 non-finite"):
        nan(torch.ones(2, 4, 4, dtype=torch.float64))
    negative = UserMatrixElement(lambda p: -p[:, 0, 0], [[11, -11, 13, -13]], name="neg")
    with pytest.raises(ValueError, match="neg: returned 2 negative"):
        negative(torch.ones(2, 4, 4, dtype=torch.float64))
    with pytest.raises(CardError, match="process.user.kind"):
        parse_card(_card("x.py:f", "fortran"))
