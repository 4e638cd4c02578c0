"""What a new user meets first: the install's dependencies, the shipped cards, --version and --help."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlgen
from mlgen.cards import load_card
from mlgen.cards.catalogue import SHIPPED, copy_card, shipped_cards
from mlgen.cli import COMMANDS, _parser, main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# distribution name -> the module it provides, where they differ
MODULE_OF = {"pythia8mc": "pythia8mc", "tomli": "tomli"}


def _imported_modules() -> set[str]:
    """Top-level modules that mlgen/ and plugins/ import, anywhere in a file."""
    found: set[str] = set()
    for path in [*(ROOT / "mlgen").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]


def test_every_core_dependency_is_imported_and_pylhe_is_not_one() -> None:
    imported = _imported_modules()
    core = [_name(r) for r in PYPROJECT["project"]["dependencies"]]
    assert "pylhe" not in core and "pylhe" not in imported
    assert [name for name in core if MODULE_OF.get(name, name) not in imported] == []
    # tomli only where tomllib is missing, the one PDF-bearing wheel in the core
    assert any(
        r.startswith("tomli") and "python_version < '3.11'" in r for r in PYPROJECT["project"]["dependencies"]
    )
    assert "pythia8mc" in core


def test_the_default_cards_pdf_comes_with_the_core_dependencies() -> None:
    from mlgen.pdf.locate import find_member, pythia_pdfdata

    card = load_card(SHIPPED / "drell_yan.toml")
    member, _, name = find_member(card.pdf.set, card.pdf.member)
    wheel = pythia_pdfdata()
    assert wheel is not None and member.parent == wheel and name == card.pdf.set


def test_license_and_shipped_cards_are_package_data() -> None:
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["mlgen.cards"]
    assert "shipped/*.toml" in data
    shipped = {card.name for card in shipped_cards()}
    assert shipped == {p.stem for p in (ROOT / "cards").glob("*.toml")} and "drell_yan" in shipped
    for card in shipped_cards():
        for rel in card.companions():
            assert any((card.path.parent / rel).match(pattern.removeprefix("shipped/")) for pattern in data)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"mlgen {mlgen.__version__}"


def test_cards_lists_prints_and_copies_with_the_files_a_card_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cards"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"^drell_yan +The main job", listing, re.M)
    assert main(["cards", "ttbar"]) == 0
    assert capsys.readouterr().out == (SHIPPED / "ttbar.toml").read_text()
    assert main(["cards", "user_scalar", "--copy", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "user" / "scalar.py").read_text() == (SHIPPED / "user" / "scalar.py").read_text()
    load_card(tmp_path / "user_scalar.toml")  # the copy is a card that loads
    # no overwriting without --force, nothing written
    (tmp_path / "user_scalar.toml").write_text("# mine")
    assert main(["cards", "user_scalar", "--copy", "-o", str(tmp_path)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert (tmp_path / "user_scalar.toml").read_text() == "# mine"
    assert [p.name for p in copy_card("user_scalar", tmp_path, overwrite=True)] == [
        "user_scalar.toml",
        "scalar.py",
    ]
    assert main(["cards", "no_such_card"]) == 2
    assert "no shipped card 'no_such_card'" in capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_text_with_defaults(command: str) -> None:
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[attr-defined]
    text = sub.format_help()
    assert not re.search(r":[a-z]+:`|``", text), text
    assert "mlgen." not in re.sub(r"\(mlgen\.[a-z_.]+\)", "", text).split("options:")[1], text
    for action in sub._actions:
        if action.option_strings and action.default not in (None, False, [], "==SUPPRESS=="):
            assert "default" in (action.help or "") or f"(default: {action.default})" in text, action.dest


def test_positive_tau_in_the_help_is_the_distances_default() -> None:
    """The parser shows --tau's value without importing torch; it is the embedding's own default."""
    from mlgen.commands import positive
    from mlgen.resample.embedding import TAU

    assert positive.TAU == TAU
    sub = next(a for a in _parser()._actions if a.dest == "command").choices["positive"]  # type: ignore[index]
    assert f"(default: {TAU})" in " ".join(sub.format_help().split())
    built = "import sys; from mlgen.cli import _parser; _parser(); print('torch' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", built], capture_output=True, text=True, check=True)
    assert run.stdout == "False\n"


def test_merge_scale_takes_the_fraction_its_help_names(tmp_path: Path) -> None:
    parser = _parser()
    args = parser.parse_args(["merge", "a.lhe", "-o", "b.lhe", "--scale", "1/4"])
    assert args.scale == 0.25
    with pytest.raises(SystemExit):
        parser.parse_args(["merge", "a.lhe", "-o", "b.lhe", "--scale", "1/0"])
