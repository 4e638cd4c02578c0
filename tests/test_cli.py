"""`mlgen run` end to end through main(argv): every card in a short mode, its LHE file
read back by mlgen and showered by Pythia 8 with the same sigma."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgen.cli import main
from mlgen.lhe import read_lhe
from mlgen.shower import shower_lhe

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted((ROOT / "cards").glob("*.toml"))
SHORT = [
    "integrator.n_adapt_iter=3",
    "integrator.n_per_iter=4000",
    "integrator.n_iter=2",
    "events.batch_size=20000",
    "integrator.flow.n_calls=8000",
    "integrator.flow.batch=2000",
    "integrator.flow.vegas_per_iter=4000",
]

pytest.importorskip("pythia8mc")


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.stem)
def test_every_card_runs_short_and_showers(
    card: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(card), "--events", "200", "--seed", "3", "--output-dir", str(tmp_path), "--json"]
    for item in [*SHORT, "run.plots=false"]:
        argv += ["--set", item]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == json.loads((tmp_path / "result.json").read_text())
    assert result["n_events"] == 200 and result["sigma_pb"] > 0
    info, events = read_lhe(tmp_path / "events.lhe.gz")
    assert len(events) == 200
    assert info.xsec_pb == pytest.approx(result["sigma_pb"], rel=1e-15)
    assert float(events.weight.sum()) == pytest.approx(result["sigma_pb"], rel=1e-12)
    # every event is valid as written: momentum conserved, x <= 1
    p, status = events.momenta.double(), events.status
    balance = (p * (status == -1)[..., None]).sum(1) - (p * (status == 1)[..., None]).sum(1)
    # to the rounding of the event's largest numbers (not of the softer parton's: at x ~ 2e-5 in the
    # wide Drell-Yan card its energy is 0.16 GeV, and the balance 5e-13 GeV)
    assert float((balance.abs().amax(-1) / (p[:, 0, 0] + p[:, 1, 0])).max()) < 1e-12
    assert float(events.x1.max()) <= 1 and float(events.x2.max()) <= 1
    report = shower_lhe(tmp_path / "events.lhe.gz", 200, hadronise=False, mpi=False)
    # Pythia's own check after the shower rejects a few valid events in 10^4 (MadGraph's Z + jets
    # file: 4, benchmarks/README.md); here the scalar card's event 80 (x1 = 0.56, x2 = 0.006,
    # conserved to 1e-16 in the file). One such rejection is tolerated, nothing else.
    pythia_check = {
        "Error in Pythia::check: energy-momentum not conserved",
        "Abort from Pythia::next: check of event revealed problems",
    }
    rejected = {
        k: v
        for k, v in report.messages.items()
        if k.startswith(("Error", "Abort")) and "end of Les Houches" not in k
    }
    assert set(rejected) <= pythia_check and max(rejected.values(), default=0) <= 1, report.messages
    assert report.n_showered >= 199, report.messages
    assert report.sigma_pb == pytest.approx(result["sigma_pb"], rel=1e-6)


def test_run_writes_plots_and_scale_weights(tmp_path: Path) -> None:
    argv = ["run", str(ROOT / "cards" / "drell_yan.toml"), "-n", "300", "-o", str(tmp_path), "--no-progress"]
    for item in SHORT:
        argv += ["--set", item]
    assert main(argv) == 0
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert {"m_leptons.png", "weights.png"} <= names
    info, events = read_lhe(tmp_path / "events.lhe.gz")
    assert len(info.weights) == 9 and events.extra_weights.shape == (300, 9)
    # the nominal variation weight equals the event weight
    assert events.extra_weights[:, 0].tolist() == pytest.approx(events.weight.tolist(), rel=1e-12)


def test_bad_card_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "tests" / "cards" / "bad_unknown_key.toml"), "-o", str(tmp_path)]) == 2
    assert "n_iters" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                str(ROOT / "cards" / "drell_yan.toml"),
                "--set",
                "process.options.mode=bogus",
                "-o",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "mode" in capsys.readouterr().err
    assert not (tmp_path / "events.lhe.gz").exists()


@pytest.mark.parametrize("kind", ["flow", "multichannel"])
def test_trained_sampler_is_saved_and_reused_without_training(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = ROOT / "cards" / "drell_yan.toml"
    common = ["--events", "300", "--json", "--set", "run.plots=false", "--set", "run.device=cpu"]
    train = [f"integrator.kind={kind!r}".replace("'", '"'), *SHORT, "integrator.flow.n_calls=20000"]
    argv = ["run", str(card), "--output-dir", str(tmp_path / "a"), *common]
    for item in train:
        argv += ["--set", item]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    flags = first["integration"]["flags"]
    assert flags["coverage"]["passed"] and "training" in flags
    assert first["sampler_file"] == str(tmp_path / "a" / "sampler.pt")
    # a later run loads it: no adaptation, no training, no integration (the same physics: the training
    # run's sigma stands), new events
    load = f'integrator.load="{first["sampler_file"]}"'
    argv = ["run", str(card), "--output-dir", str(tmp_path / "b"), "--seed", "9", *common, "--set", load]
    for item in SHORT:
        argv += ["--set", item]
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    # its integration record is the training run's, marked as reused
    assert second["integration"]["flags"]["loaded_from"] == first["sampler_file"]
    assert "reused" in second["integration"]["flags"] and "reused" not in first["integration"]["flags"]
    assert (second["sigma_pb"], second["sigma_err_pb"]) == (first["sigma_pb"], first["sigma_err_pb"])
    assert second["n_events"] == 300
    # asked to, it integrates anew: n_iter x n_per_iter points, the same sigma within errors
    assert main([*argv, "--set", "integrator.reintegrate=true", "-o", str(tmp_path / "c")]) == 0
    third = json.loads(capsys.readouterr().out)
    assert third["integration"]["n_eval"] == 2 * 4000 and "training" not in third["integration"]["flags"]
    assert "reused" not in third["integration"]["flags"]
    sigma = lambda r: (r["sigma_pb"], r["sigma_err_pb"])  # noqa: E731
    (m1, e1), (m3, e3) = sigma(first), sigma(third)
    assert abs(m1 - m3) < 4 * (e1**2 + e3**2) ** 0.5 and e3 / m3 < 0.02
    # another physics table (here a cut) makes the saved sigma stale: integrated anew, said so
    cut = "cuts=[{observable='m', objects='leptons', min=70.0, max=110.0}]"
    assert main([*argv, "--set", cut, "-o", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    fourth = json.loads(out[out.index("{") :])
    assert fourth["integration"]["n_eval"] == 2 * 4000 and fourth["sigma_pb"] < first["sigma_pb"]


def _trained_sampler(tmp_path: Path, card: str) -> Path:
    """sampler.pt of a short VEGAS run of ``cards/card``."""
    argv = _short_run(ROOT / "cards" / card, tmp_path / card, 10, "--no-progress")
    assert main(argv) == 0
    return tmp_path / card / "sampler.pt"


def test_a_sampler_of_another_process_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # t t~ and Drell-Yan both sample 4 dimensions: the matrix element tells them apart
    sampler = _trained_sampler(tmp_path, "ttbar.toml")
    capsys.readouterr()
    argv = _short_run(
        ROOT / "cards" / "drell_yan.toml", tmp_path / "dy", 10, "--set", f'integrator.load="{sampler}"'
    )
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "integrator.load" in err and "'pp -> t t~' (ttbar" in err and "'pp -> e+ e-' (drell_yan" in err
    assert not (tmp_path / "dy" / "events.lhe.gz").exists()
    # a multi-channel sampler of 3 channels on a card with 2 (Drell-Yan's photon and Z): one line too
    zprime = ROOT / "cards" / "drell_yan_zprime.toml"
    argv = _short_run(zprime, tmp_path / "zp", 10, "--no-progress", "--set", 'integrator.kind="multichannel"')
    argv += ["--set", "integrator.flow.n_calls=4000", "--set", "integrator.flow.batch=1000"]
    assert main(argv) == 0
    capsys.readouterr()
    argv = _short_run(
        ROOT / "cards" / "drell_yan.toml", tmp_path / "dy2", 10, "--set", 'integrator.kind="multichannel"'
    )
    argv += ["--set", f'integrator.load="{tmp_path / "zp" / "sampler.pt"}"']
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "3 channels" in err, err


def test_physics_defaults_are_printed_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a card without [scales] runs at a fixed mu = M_Z: said, and written to result.json
    text = (ROOT / "cards" / "drell_yan.toml").read_text()
    card = tmp_path / "noscales.toml"
    card.write_text(text.replace('[scales]\nmu_r = "m_ll"\nmu_f = "m_ll"\n', ""))
    assert main(_short_run(card, tmp_path / "out", 10, "--no-progress")) == 0
    out = capsys.readouterr().out
    assert "mu_R = 91.1876 GeV (fixed) (default), mu_F = 91.1876 GeV (fixed) (default)" in out
    assert "alpha_s(M_Z) = 0.13 from the pdf" in out and "PDF NNPDF23_lo_as_0130_qed member 0" in out
    physics = json.loads((tmp_path / "out" / "result.json").read_text())["physics"]
    assert {"scales.mu_r", "scales.mu_f", "scales.value"} <= set(physics["defaults"])
    assert physics["scales"]["mu_r"] == "fixed" and physics["scales"]["value"] == 91.1876
    assert physics["alpha_s"]["at_mz"] == pytest.approx(0.130, abs=1e-9)  # NNPDF23_lo_as_0130
    assert physics["pdf"]["set"] == "NNPDF23_lo_as_0130_qed"
    # the shipped card sets its scales: not marked as defaults
    assert main(_short_run(ROOT / "cards" / "drell_yan.toml", tmp_path / "dy", 10, "--no-progress")) == 0
    assert "mu_R = m_ll, mu_F = m_ll" in capsys.readouterr().out


def test_plots_without_the_plot_extra_are_skipped_with_one_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlgen.run

    monkeypatch.setattr(mlgen.run, "plotting_available", lambda: False)
    argv = _short_run(ROOT / "cards" / "drell_yan.toml", tmp_path, 50, "--no-progress")
    argv[argv.index("run.plots=false")] = "run.plots=true"
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("plots: skipped") == 1 and "mlgen[plot]" in out and "run.plots = false" in out
    assert out.index("plots: skipped") < out.index("itn")  # before the compute
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["plots"] == [] and result["n_events"] == 50 and not (tmp_path / "plots").exists()
    assert "+- 0 " not in out


def test_missing_saved_sampler_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "run",
        str(ROOT / "cards" / "drell_yan.toml"),
        "-o",
        str(tmp_path),
        "--set",
        'integrator.load="gone.pt"',
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "integrator.load" in err and "gone.pt" in err


HOOKS_MODULE = """
import json

ORDER = []


def count(ctx):
    ORDER.append("count")
    n = len(ctx.events)
    (ctx.output_dir / "count.json").write_text(json.dumps({"n": n}))
    return {"n_events": n, "sigma_pb": ctx.result["sigma_pb"], "scale": ctx.options.get("scale", 1)}


def broken(ctx):
    ORDER.append("broken")
    raise RuntimeError("the analysis fell over")
"""


def _hook_card(tmp_path: Path, steps: list[str]) -> Path:
    (tmp_path / "my_hooks.py").write_text(HOOKS_MODULE)
    text = (ROOT / "cards" / "drell_yan.toml").read_text()
    for step in steps:
        text += (
            f'\n[[hooks]]\nstep = "{step}"\noptions = {{ scale = 2 }}\n'
            if "count" in step
            else f'\n[[hooks]]\nstep = "{step}"\n'
        )
    card = tmp_path / "card.toml"
    card.write_text(text)
    return card


def _short_run(card: Path, out: Path, n: int, *extra: str) -> list[str]:
    """``mlgen run`` argv for a short, plot-free run of ``card`` into ``out``."""
    argv = ["run", str(card), "-n", str(n), "-o", str(out), "--set", "run.plots=false", *extra]
    for item in SHORT:
        argv += ["--set", item]
    return argv


def test_hooks_run_in_order_and_are_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card = _hook_card(tmp_path, ["my_hooks.py:count", "shower"])
    assert main(_short_run(card, tmp_path / "out", 100, "--json")) == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    steps = [(h["step"], h["status"]) for h in result["hooks"]]
    assert steps == [("my_hooks.py:count", "ok"), ("shower", "ok")]
    assert result["hooks"][0]["output"] == {"n_events": 100, "sigma_pb": result["sigma_pb"], "scale": 2}
    assert result["hooks"][1]["output"]["n_showered"] == 100 and result["hooks"][1]["output"]["n_errors"] == 0


def test_failing_hook_stops_the_chain_and_keeps_the_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = _hook_card(tmp_path, ["my_hooks.py:count", "my_hooks.py:broken", "shower"])
    assert main(_short_run(card, tmp_path / "out", 50, "--no-progress")) == 1
    err = capsys.readouterr().err
    assert "hook 2 (my_hooks.py:broken) failed: RuntimeError: the analysis fell over" in err
    out = tmp_path / "out"
    assert len(read_lhe(out / "events.lhe.gz")[1]) == 50
    result = json.loads((out / "result.json").read_text())
    assert [h["status"] for h in result["hooks"]] == ["ok", "failed"]  # the shower never ran
    assert "the analysis fell over" in result["hooks"][1]["error"]


def test_unknown_hook_step_is_named_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = _hook_card(tmp_path, ["shower", "amplfy"])
    # a card error (exit 2), found before the process is built: nothing integrated, nothing written
    assert main(_short_run(card, tmp_path / "out", 20, "--no-progress")) == 2
    assert (
        "hooks 2 (amplfy): step 'amplfy': expected a built-in step (compare, positive, shower)"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "out" / "result.json").exists()


def test_compare_hook_against_an_earlier_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_short_run(ROOT / "cards" / "drell_yan.toml", tmp_path / "ref", 400, "--no-progress")) == 0
    text = (ROOT / "cards" / "drell_yan.toml").read_text()
    text += (
        f'\n[[hooks]]\nstep = "compare"\noptions = {{ reference = "{tmp_path / "ref" / "events.lhe.gz"}" }}\n'
    )
    (tmp_path / "card.toml").write_text(text)
    assert (
        main(_short_run(tmp_path / "card.toml", tmp_path / "new", 400, "--no-progress", "--seed", "5")) == 0
    )
    result = json.loads((tmp_path / "new" / "result.json").read_text())
    hook = result["hooks"][0]
    assert hook["status"] == "ok" and abs(hook["output"]["classifier"]["auc"] - 0.5) < 0.1
    assert (tmp_path / "new" / "compare" / "m_leptons.png").is_file()


def test_positive_hook_on_a_signed_weighted_run(tmp_path: Path) -> None:
    """The gamma-Z interference alone, weighted: the hook writes it with non-negative weights, same sigma."""
    text = (ROOT / "cards" / "drell_yan_offpeak.toml").read_text()
    text += '\n[[hooks]]\nstep = "positive"\noptions = { method = "cell" }\n'
    (tmp_path / "card.toml").write_text(text)
    extra = ["--set", "process.options.mode=interference", "--set", "events.unweight=none", "--no-progress"]
    assert main(_short_run(tmp_path / "card.toml", tmp_path / "out", 400, *extra)) == 0
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    hook = result["hooks"][0]
    assert hook["status"] == "ok", hook
    report = hook["output"]
    assert report["before"]["r_minus"] > 0.2 and report["after"]["r_minus"] == 0
    info, signed = read_lhe(tmp_path / "out" / "events.lhe.gz")
    # XMAXUP of weighted events is the largest |w|, not sigma (the interference's sigma is far below it)
    assert info.processes[0].xmax_pb == pytest.approx(float(signed.weight.abs().max()), rel=1e-6)
    _, positive = read_lhe(tmp_path / "out" / "events_positive.lhe.gz")
    assert (positive.weight >= 0).all()
    assert float(positive.weight.sum()) == pytest.approx(float(signed.weight.sum()), rel=1e-9)


def test_sample_command_writes_the_nlo_sample_with_its_closed_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nlo.lhe.gz"
    assert main(["sample", "ee-jets-nlo", "-o", str(out), "--born", "2000", "--real", "2000"]) == 0
    text = capsys.readouterr().out
    assert "exact 7166.85" in text and "negative weights" in text
    info, events = read_lhe(out)
    assert info.weight_strategy == -4 and (events.weight < 0).any()
    assert set(events.n_particles.tolist()) == {4, 5}  # q q~ (Born, counter-events) and q q~ g
