"""The registry of integrator kinds: a new kind is one class and one registry line, the VEGAS route's
stream is the run's seed, and the multi-channel kind takes a plain integrand with maps of the cube."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.cli import main
from mlgen.integrate.base import Budget
from mlgen.integrate.channels import PeakMap
from mlgen.integrate.integrands import camel
from mlgen.integrate.kinds import INTEGRATORS, Integrator, MultiChannelIntegrator
from mlgen.integrate.loop import integrate, vegas_integrate
from mlgen.integrate.nis import FlowSettings
from mlgen.integrate.persist import load_sampler
from mlgen.integrate.train import TrainConfig
from mlgen.process.build import build_process
from mlgen.run import prepare
from mlgen.seeds import torch_generator
from tests.process.test_ee_mumu import closed_form

EE_MUMU = (
    '[process]\nmatrix_element = "ee_mumu"\noptions = { mode = "full" }\n'
    '[beams]\nparticles = ["e-", "e+"]\nsqrt_s = 91.1876\n[model]\nscheme = "gmu"\n'
    '[scales]\nmu_r = "fixed"\nmu_f = "fixed"\nvalue = 91.1876\n'
)


class ToySampler:
    """Antithetic uniform points: ``u`` and ``1 - u`` in pairs (``q = 1``)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        half = torch.rand((n + 1) // 2, self.dim, generator=generator, dtype=torch.float64)
        u = torch.cat([half, 1 - half])[:n]
        return u, torch.zeros(n, dtype=torch.float64)

    def log_prob(self, u: torch.Tensor) -> torch.Tensor:
        return torch.zeros(u.shape[0], dtype=torch.float64, device=u.device)

    def state(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def to(self, device: torch.device | str) -> ToySampler:
        return self

    @classmethod
    def from_state(cls, state: dict[str, Any], device: torch.device | str = "cpu") -> ToySampler:
        return cls(state["dim"])


class ToyIntegrator(Integrator):
    sampler_type = ToySampler

    def fit(self, f, dim, budget, seed, *, device="cpu", channels=None, progress=None):  # type: ignore[no-untyped-def]
        sampler = ToySampler(dim)
        result = integrate(
            f, sampler, n_iter=budget.n_iter, n_per_iter=budget.n_per_iter, generator=torch_generator(7)
        )
        return result, sampler


def test_a_new_kind_is_one_class_and_one_registry_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(INTEGRATORS, "toy", ToyIntegrator)
    card = tmp_path / "toy.toml"
    card.write_text(EE_MUMU + '[integrator]\nkind = "toy"\nn_per_iter = 20000\nn_iter = 4\n')
    out = tmp_path / "run"
    argv = ["run", str(card), "-o", str(out), "--events", "200", "--json", "--set", "run.plots=false"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    exact, _ = closed_form(91.1876)
    assert abs(result["sigma_pb"] - exact) < 4 * result["sigma_err_pb"]
    assert result["sigma_err_pb"] / exact < 5e-3
    assert result["n_events"] == 200 and result["integration"]["n_eval"] == 4 * 20000
    kind, sampler = load_sampler(out / "sampler.pt")
    assert kind == "toy" and isinstance(sampler, ToySampler) and sampler.dim == 2
    # without the registry line the card names the kinds there are
    monkeypatch.delitem(INTEGRATORS, "toy")
    assert main(argv) == 2
    assert "integrator.kind: expected one of 'uniform', 'vegas'" in capsys.readouterr().err


def test_the_vegas_route_draws_from_the_run_seed_itself() -> None:
    card = parse_card(
        EE_MUMU + '[integrator]\nkind = "vegas"\nn_adapt_iter = 3\nn_per_iter = 5000\n[run]\nseed = 4\n'
    )
    prepared = prepare(card, log=None)
    process = build_process(card)
    direct, _ = vegas_integrate(process, process.dim, n_adapt_iter=3, n_per_iter=5000, n_iter=5, seed=4)
    assert prepared.result.mean == direct.mean and prepared.result.sdev == direct.sdev
    other, _ = vegas_integrate(process, process.dim, n_adapt_iter=3, n_per_iter=5000, n_iter=5, seed=5)
    assert other.mean != direct.mean


def test_multichannel_kind_takes_a_plain_integrand_and_maps_of_the_cube() -> None:
    torch.set_num_threads(1)
    dim = 4
    f, exact = camel(dim, alpha=0.1)
    maps = [PeakMap([1 / 3] * dim, 0.08), PeakMap([2 / 3] * dim, 0.08)]
    settings = FlowSettings(
        vegas_per_iter=10_000,
        flow=dict(n_bins=8, hidden=16, layers=2),
        train=TrainConfig(n_calls=40_000, batch=2_000),
    )
    integrator = MultiChannelIntegrator(settings)
    result, sampler = integrator.fit(f, dim, Budget(3, 20_000, 3), 2, channels=maps)
    assert sampler.dim == 1 + dim
    assert abs(result.mean - exact) < 4 * result.sdev, (result.mean, result.sdev, exact)
    assert result.sdev / exact < 1e-2
    # each channel carries one peak: the allocation splits about evenly
    assert all(0.3 < a < 0.7 for a in result.flags["channels"]["allocation"])
    with pytest.raises(ValueError, match="needs channel maps"):
        integrator.fit(f, dim, Budget(3, 20_000, 3), 2)


@pytest.mark.parametrize("centre", [[0.3, 0.7, 0.5], [0.0, 1.0, 0.02]])
def test_peak_map_is_a_bijection_of_the_cube_with_its_jacobian(centre: list[float]) -> None:
    peak = PeakMap(centre, 0.05)
    z = torch.rand(400, 3, generator=torch_generator(1), dtype=torch.float64)
    u, log_jac = peak.forward(z)
    assert bool(((u >= 0) & (u <= 1)).all())
    back, log_jac_inv = peak.inverse(u)
    assert torch.allclose(back, z, atol=1e-10) and torch.allclose(log_jac_inv, -log_jac, atol=1e-9)
    for i in range(5):
        jac = torch.autograd.functional.jacobian(lambda x: peak.forward(x[None])[0][0], z[i])
        assert math.isclose(float(torch.linalg.det(jac).abs().log()), float(log_jac[i]), abs_tol=1e-8)
    # the density q(u) = |dz/du| integrates to one over the cube (it is a product: one axis at a time)
    for c in centre:
        axis = PeakMap([c], 0.05)
        u = torch.linspace(0, 1, 2_000_001, dtype=torch.float64)[:, None]
        q = torch.exp(axis.inverse(u)[1])
        assert abs(float(torch.trapezoid(q, u[:, 0])) - 1) < 1e-6
