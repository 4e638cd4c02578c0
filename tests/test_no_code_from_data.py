"""No code from data (issue 27 item 6): a crafted model file that would run a command is refused
with no side effect; a card or hook naming ``os:system`` and the like is refused before anything
runs, in one line naming the key; the user's own functions and classes still load."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import torch

from mlgen.cards import parse_card
from mlgen.generative.persist import MODEL_FORMAT, load_models
from mlgen.hooks import HookContext, HookError, resolve_step, run_hooks
from mlgen.matrix.loader import CodeRefused, load_matrix_element
from mlgen.process.build import build_process


class _RunsACommand:
    """What a hostile model file holds: unpickling it calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


def test_a_crafted_model_file_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    model = tmp_path / "model.pt"
    torch.save({"format": MODEL_FORMAT, "models": [_RunsACommand(f"touch {marker}")]}, model)
    with pytest.raises(
        ValueError, match=r"model.pt: refused: .*posix.system|model.pt: refused: .*system"
    ) as err:
        load_models(model, [], torch.device("cpu"))
    assert "\n" not in str(err.value)
    assert not marker.exists()
    # the same file unpickled as before issue 27 would have run the command: the test has teeth
    torch.load(model, weights_only=False)
    assert marker.exists()


def _card(spec: str, options: str = "") -> str:
    return textwrap.dedent(
        f"""
        [process]
        matrix_element = "{spec}"
        {options}
        [beams]
        particles = ["e-", "e+"]
        sqrt_s = 91.0
        """
    )


@pytest.mark.parametrize(
    "spec",
    [
        "os:system",
        "subprocess:run",
        "builtins:exec",
        "posix:system",
        "shutil:rmtree",
        "importlib:import_module",
    ],
)
def test_a_card_naming_the_standard_library_is_refused_before_anything_runs(
    tmp_path: Path, spec: str
) -> None:
    marker = tmp_path / "ran"
    card = parse_card(
        _card(spec, f'options = {{ command = "touch {marker}" }}'), source=str(tmp_path / "c.toml")
    )
    with pytest.raises(
        CodeRefused, match=rf"^process.matrix_element = '{spec}' refused: .*standard library"
    ) as err:
        build_process(card)
    assert "\n" not in str(err.value)
    assert not marker.exists()


USER_MODULE = textwrap.dedent(
    """
    from os import system                  # re-exported: not the user's function
    from subprocess import run as launch   # re-exported Python function
    from mlgen.matrix.ee_mumu import EEMuMu

    def factory(*, parameters):
        return EEMuMu(parameters=parameters)

    def step(context):
        return {"n": 1}

    NOT_CALLABLE = 3
    """
)


def test_names_re_exported_from_elsewhere_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mlgen_test_user_code.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    for attr, origin in [("system", "posix"), ("launch", "subprocess")]:
        with pytest.raises(CodeRefused, match=rf"'mlgen_test_user_code:{attr}' refused: .* from '{origin}'"):
            load_matrix_element(f"mlgen_test_user_code:{attr}", {"args": "true"})
        with pytest.raises(ValueError, match=rf"hooks.step = 'mlgen_test_user_code:{attr}' refused"):
            resolve_step(f"mlgen_test_user_code:{attr}")
    # the user's own factory, class and step load as before
    me = load_matrix_element("mlgen_test_user_code:factory", parameters=None)
    assert me.name
    assert resolve_step("mlgen_test_user_code:step")(None) == {"n": 1}
    # a file next to the card is the user's code too
    (tmp_path / "hooks_here.py").write_text(USER_MODULE)
    assert resolve_step("hooks_here.py:step", tmp_path)(None) == {"n": 1}
    with pytest.raises(ValueError, match=r"hooks.step = 'hooks_here.py:system' refused"):
        resolve_step("hooks_here.py:system", tmp_path)


def test_a_hook_naming_os_system_is_refused_before_any_hook_runs(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text("RAN = []\ndef first(context):\n    RAN.append(1)\n    return {}\n")
    recorded: list = []
    context = HookContext(events_file=None, events=None, result={}, output_dir=tmp_path)
    with pytest.raises(
        HookError, match=r"^hook 2 \(os:system\): hooks.step = 'os:system' refused: .*standard library"
    ):
        run_hooks([("steps.py:first", {}), ("os:system", {"command": "touch x"})], context, recorded.append,
                  base_dir=tmp_path)  # fmt: skip
    assert recorded == []  # nothing ran, not even the first step


def test_mlgen_functions_are_reached_by_their_registered_names_only(tmp_path: Path) -> None:
    """``mlgen.atomic:write_text`` with options ``path`` and ``text`` would write any file: refused;
    a matrix-element class of mlgen.matrix by module:attr is still one."""
    target = tmp_path / "written"
    with pytest.raises(CodeRefused, match=r"'mlgen.atomic:write_text' refused: it names a function"):
        load_matrix_element("mlgen.atomic:write_text", {"path": str(target), "text": "x"})
    assert not target.exists()
    with pytest.raises(ValueError, match=r"hooks.step = 'mlgen.hooks:_shower' refused"):
        resolve_step("mlgen.hooks:_shower")
    me = load_matrix_element("mlgen.matrix.ee_mumu:EEMuMu", parameters=None)
    assert me.name
    assert resolve_step("shower").__name__ == "_shower"  # the built-in step, by its name


def test_mlgen_run_refuses_a_hook_naming_os_system_before_building_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mlgen run`` on a card whose second hook names ``os:system``: refused in one line naming the
    card and the hook, before the process is built (nothing is integrated, no output written)."""
    import mlgen.run as run_module

    text = (Path(__file__).resolve().parents[1] / "cards" / "ee_mumu.toml").read_text()
    card_path = tmp_path / "card.toml"
    card_path.write_text(text + '\n[[hooks]]\nstep = "compare"\n\n[[hooks]]\nstep = "os:system"\noptions = { command = "touch x" }\n')
    built: list[object] = []
    monkeypatch.setattr(run_module, "build_process", lambda *a, **k: built.append(a))
    from mlgen.cards import load_card

    with pytest.raises(ValueError, match=r"card.toml: hooks 2 \(os:system\): .*standard library") as err:
        run_module.prepare(load_card(card_path), log=None)
    assert "\n" not in str(err.value) and not built
