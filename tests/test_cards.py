"""Run cards: every card in cards/ loads; every bad card names its bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgen.cards import CardError, load_card, parse_card

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted((ROOT / "cards").glob("*.toml"))
BAD = {
    "bad_unknown_key.toml": "n_iters",
    "bad_type.toml": "beams.sqrt_s",
    "bad_negative_energy.toml": "sqrt_s",
    "bad_cut_window.toml": "max",
    "bad_kind.toml": "integrator.kind",
    "bad_beam.toml": "particles",
    "bad_scale.toml": "mu_r",
    "bad_missing_process.toml": "process",
    "bad_toml.toml": "not valid TOML",
}


def test_cards_exist() -> None:
    names = {p.stem for p in CARDS}
    assert {"ee_mumu", "drell_yan", "ttbar", "w_enu", "higgs", "ttbar_6j"} <= names


@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.name)
def test_every_card_loads(path: Path) -> None:
    card = load_card(path)
    assert card.source == str(path)
    assert card.beams.sqrt_s > 0


def test_every_bad_card_is_listed() -> None:
    assert {p.name for p in (ROOT / "tests" / "cards").glob("bad_*.toml")} == set(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_card_names_key(name: str) -> None:
    path = ROOT / "tests" / "cards" / name
    with pytest.raises(CardError) as info:
        load_card(path)
    message = str(info.value)
    assert str(path) in message
    assert BAD[name] in message


def test_override_sets_nested_key_and_is_validated() -> None:
    card = load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.n_iter=3", "run.device=cpu"])
    assert card.integrator.n_iter == 3
    assert card.run.device == "cpu"
    with pytest.raises(CardError, match="integrator.n_iter"):
        load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.n_iter=zero"])
    with pytest.raises(CardError, match="n_iter: expected an integer >= 1"):
        load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.n_iter=0"])
    with pytest.raises(CardError, match="key=value"):
        load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.n_iter"])


def test_flow_training_keys_reach_the_trainer_and_are_checked() -> None:
    from mlgen.run import flow_settings

    card = load_card(
        ROOT / "cards" / "drell_yan.toml", ["integrator.flow.anneal=0.2", 'integrator.flow.loss="variance"']
    )
    train = flow_settings(card).train
    assert train.anneal == 0.2 and train.loss == "variance"
    assert not flow_settings(card).warm_start  # the flow learns on the plain cube by default
    warm = load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.flow.warm_start=true"])
    assert flow_settings(warm).warm_start
    with pytest.raises(CardError, match="anneal: expected a share"):
        load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.flow.anneal=2"])
    # the defensive shares are re-chosen after training unless the card says not to
    settings = flow_settings(card)
    assert settings.tune_shares and settings.min_uniform == 0.005
    fixed = load_card(
        ROOT / "cards" / "drell_yan.toml",
        ["integrator.flow.tune_shares=false", "integrator.flow.min_uniform=0.02"],
    )
    assert not flow_settings(fixed).tune_shares and flow_settings(fixed).min_uniform == 0.02
    with pytest.raises(CardError, match="min_uniform: expected a share"):
        load_card(ROOT / "cards" / "drell_yan.toml", ["integrator.flow.min_uniform=0.7"])


def test_exploration_keys_reach_the_flow_settings_and_are_checked() -> None:
    from mlgen.run import flow_settings

    dy = ROOT / "cards" / "drell_yan.toml"
    default = flow_settings(load_card(dy))
    assert default.explore and (default.explore_starts, default.explore_steps) == (64, 200)
    keys = ("explore=false", "explore_starts=16", "explore_steps=50")
    card = load_card(dy, [f"integrator.flow.{key}" for key in keys])
    settings = flow_settings(card)
    assert not settings.explore and (settings.explore_starts, settings.explore_steps) == (16, 50)
    with pytest.raises(CardError, match="explore_steps: expected an integer >= 1"):
        load_card(dy, ["integrator.flow.explore_steps=0"])
    with pytest.raises(CardError, match="integrator.flow.explore"):
        load_card(dy, ['integrator.flow.explore="yes"'])


def test_renamed_flow_keys_reach_the_flow_and_old_spellings_warn() -> None:
    from mlgen.run import flow_settings

    dy = ROOT / "cards" / "drell_yan.toml"
    card = load_card(dy, ["integrator.flow.n_bins=7", "integrator.flow.n_blocks=2"])
    assert flow_settings(card).flow == {"n_bins": 7, "hidden": 32, "layers": 3, "n_blocks": 2}
    with pytest.warns(FutureWarning, match="integrator.flow.bins is deprecated: it is now called 'n_bins'"):
        old = load_card(dy, ["integrator.flow.bins=7"])
    assert old.integrator.flow.n_bins == 7
    with pytest.raises(CardError, match="integrator.flow.blocks: the old name of 'n_blocks'"):
        load_card(dy, ["integrator.flow.blocks=2", "integrator.flow.n_blocks=3"])


def test_bwcutoff_is_read_and_checked() -> None:
    card = load_card(ROOT / "cards" / "ttbar_6j.toml")
    assert card.process.bwcutoff == 15.0
    assert load_card(ROOT / "cards" / "drell_yan.toml").process.bwcutoff is None
    with pytest.raises(CardError, match="process.bwcutoff"):
        load_card(ROOT / "cards" / "ttbar_6j.toml", ["process.bwcutoff=-1"])


def test_source_is_not_a_card_key() -> None:
    text = '[process]\nmatrix_element = "drell_yan"\n[beams]\nsqrt_s = 1.0\nsource = "x"\n'
    with pytest.raises(CardError, match="unknown key 'source'"):
        parse_card(text)
    text = 'source = "x"\n[process]\nmatrix_element = "drell_yan"\n[beams]\nsqrt_s = 1.0\n'
    with pytest.raises(CardError, match="unknown key 'source'"):
        parse_card(text)


def test_missing_card_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="nope.toml"):
        load_card(tmp_path / "nope.toml")


def test_readme_documents_every_card_key_as_the_schema_has_it() -> None:
    from mlgen.cards.reference import BEGIN, END, card_reference

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert block == card_reference(), "run: python -m mlgen.cards.reference README.md"
    # every key of every table is in it, with its default
    assert "| `overweight_fraction` | a number | `0.001` |" in block
    assert "| `reintegrate` | true or false | `false` |" in block
    assert "#### `[integrator.flow]`" in block and "#### `[[cuts]]`" in block
