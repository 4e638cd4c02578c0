"""build_process hands its device to a matrix-element factory that asks for one."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.matrix.ee_mumu import EEMuMu
from mlgen.process.build import build_process

FACTORY = textwrap.dedent(
    """
    from mlgen.matrix.ee_mumu import EEMuMu

    SEEN = []

    def factory(*, parameters, device):
        SEEN.append(device)
        return EEMuMu(parameters=parameters)
    """
)

CARD = textwrap.dedent(
    """
    [process]
    matrix_element = "mlgen_test_device_factory:factory"
    [beams]
    particles = ["e-", "e+"]
    sqrt_s = 91.0
    """
)


def test_a_factory_that_takes_a_device_gets_the_one_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mlgen_test_device_factory.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    process = build_process(parse_card(CARD), "cpu")
    module = importlib.import_module("mlgen_test_device_factory")
    assert module.SEEN == [torch.device("cpu")]
    assert isinstance(process.matrix_element, EEMuMu)
