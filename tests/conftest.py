"""Shared test configuration: GPU tests are skipped without CUDA."""

from __future__ import annotations

import pytest
import torch


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def devices() -> list[str]:
    """Devices to run device-following tests on."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
