"""The models' names on the command line: the old spellings still work for one release, and say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgen.cli import main
from mlgen.lhe import read_lhe, write_lhe
from tests.positive.toys import signed_sample, subtraction_toys


def test_amplify_model_gan_is_a_gan_and_writes_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lhe(tmp_path / "in.lhe", *subtraction_toys(200, 200, seed=1)[0])
    out = tmp_path / "out.lhe"
    argv = ["amplify", str(source), "-o", str(out), "-n", "10", "--model", "gan", "--epochs", "2"]
    assert main(argv + ["--no-progress"]) == 0
    assert "(gan; sigma" in capsys.readouterr().out
    assert len(read_lhe(out)[1]) == 10
    assert main(argv + ["--adversarial", "0.5"]) == 2
    assert "--adversarial weighs the discriminator of --model discflow, not of --model gan" in (
        capsys.readouterr().err
    )


def test_subtract_accepts_generator_for_flow_with_a_deprecation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, sub = subtraction_toys(200, 200, seed=1)
    b, s = write_lhe(tmp_path / "b.lhe", *base), write_lhe(tmp_path / "s.lhe", *sub)
    argv = [
        "subtract",
        str(b),
        str(s),
        "-o",
        str(tmp_path / "d.lhe"),
        "--method",
        "generator",
        "--keep-negative",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "mlgen subtract: --method generator is deprecated: it names the mixture of normalizing flows; use "
        "--method flow" in err
    )
    assert "--keep-negative needs --method classifier" in err  # checked as the flow route
    argv = ["subtract", str(b), str(s), "-o", str(tmp_path / "d.lhe"), "--method", "gan", "--gan-epochs", "0"]
    assert main(argv) == 2
    assert "--gan-epochs: expected a number of epochs >= 1, got 0" in capsys.readouterr().err


def test_positive_accepts_gan_for_flow_with_a_deprecation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lhe(tmp_path / "signed.lhe", *signed_sample(100, seed=1))
    assert main(["positive", str(source), "-o", str(tmp_path / "p.lhe"), "--method", "gan", "-n", "0"]) == 2
    err = capsys.readouterr().err
    assert "mlgen positive: --method gan is deprecated: it names a normalizing flow; use --method flow" in err
    assert "n_out: expected at least one event" in err
    assert main(["positive", str(source), "-o", str(tmp_path / "p.lhe"), "--refine"]) == 2
    assert (
        "--refine refines a generator's events: it needs --method flow, not cell" in capsys.readouterr().err
    )
