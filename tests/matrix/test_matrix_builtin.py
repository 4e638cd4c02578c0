"""Every built-in name builds a matrix element that satisfies the protocol, with either scheme."""

from __future__ import annotations

import importlib

import pytest

from mlgen.matrix.base import MatrixElement
from mlgen.matrix.builtin import BUILTIN_MATRIX_ELEMENTS
from mlgen.physics.sm import scheme


@pytest.mark.parametrize("name", sorted(BUILTIN_MATRIX_ELEMENTS))
def test_builtin_factories(name):
    module, _, attr = BUILTIN_MATRIX_ELEMENTS[name].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    me = factory(parameters=scheme("mg5_sm"))
    assert isinstance(me, MatrixElement)
    assert me.parameters == scheme("mg5_sm")
    assert factory().parameters == scheme("gmu")
