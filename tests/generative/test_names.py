"""The models' names on the command line: the old spellings still work for one release, and say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgen.cli import main
from mlgen.lhe import write_lhe
from tests.positive.toys import signed_sample, subtraction_toys


def test_amplify_refuses_a_gan_that_does_not_exist_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lhe(tmp_path / "in.lhe", *subtraction_toys(200, 200, seed=1)[0])
    argv = ["amplify", str(source), "-o", str(tmp_path / "out.lhe"), "-n", "10", "--model", "gan"]
    assert main(argv) == 2
    assert "--model gan: the adversarial generator (GAN) is not implemented yet" in capsys.readouterr().err
    assert not (tmp_path / "out.lhe").exists()


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
    assert main(["subtract", str(b), str(s), "-o", str(tmp_path / "d.lhe"), "--method", "gan"]) == 2
    assert "--method gan: the adversarial generator (GAN) is not implemented yet" in capsys.readouterr().err


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
