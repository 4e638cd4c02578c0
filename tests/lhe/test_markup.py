"""What mlgen copies into an LHE header (a card's text, its path, weight names, notes) cannot break the
file: it reads back the same in mlgen's reader and in pylhe's XML parser (issue 27: a card comment
holding ``<init>`` or a path holding ``"`` made the output unreadable)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo, WeightInfo
from mlgen.lhe import read_lhe, write_lhe
from mlgen.lhe.markup import attribute, blank_literals, cdata, comment, escape_text, unescape

ROOT = Path(__file__).resolve().parents[2]
#: every character and sequence that ends or opens markup
HOSTILE = [
    "plain",
    "a ]]> b",
    "]]>]]>",
    "x]]",
    "<init>\n 1 2 3\n</init>",
    "</header>",
    "</mlgen_card>",
    'path "with" quotes',
    "it's",
    "a & b &amp; c &#65;",
    "-- double -- dash -->",
    "ends with a dash -",
    "<!-- not a comment -->",
    "<![CDATA[ nested",
    "tab\tand\nnewline",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_reads_back_in_an_xml_parser(text: str) -> None:
    element = ET.fromstring(f"<a x={attribute(text)}>{cdata(text)}{comment(text)}</a>")
    assert element.attrib["x"] == text
    assert (element.text or "") == text
    assert (ET.fromstring(f"<b>{escape_text(text)}</b>").text or "") == text
    assert unescape(attribute(text)[1:-1]) == text
    assert unescape(escape_text(text)) == text


def test_blank_literals_keeps_offsets_and_line_ends() -> None:
    text = "a<![CDATA[<init>\n</header>]]>b<!-- <x>\n-->c<![CDATA[ open <init"
    blank = blank_literals(text)
    assert len(blank) == len(text) and blank.count("\n") == text.count("\n")
    assert [i for i, c in enumerate(blank) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]
    assert "<init" not in blank and "</header>" not in blank and "<x>" not in blank
    assert blank.startswith("a<![CDATA[") and "]]>b<!--" in blank and "-->c<![CDATA[" in blank
    assert blank_literals(text.encode()) == blank.encode()


def _events(n: int, n_weights: int) -> EventBatch:
    g = torch.Generator().manual_seed(5)
    e = 10 + 100 * torch.rand(n, generator=g, dtype=torch.float64)
    p = torch.zeros(n, 4, 4, dtype=torch.float64)
    p[:, 0, 0], p[:, 0, 3], p[:, 1, 0], p[:, 1, 3] = e, e, e, -e
    p[:, 2, 0], p[:, 2, 1], p[:, 3, 0], p[:, 3, 1] = e, e, e, -e
    return EventBatch(
        momenta=p,
        pdg=torch.tensor([[2, -2, 11, -11]]).repeat(n, 1),
        status=torch.tensor([[-1, -1, 1, 1]]).repeat(n, 1),
        mothers=torch.tensor([[0, 0], [0, 0], [1, 2], [1, 2]]).repeat(n, 1, 1),
        colors=torch.tensor([[501, 0], [0, 501], [0, 0], [0, 0]]).repeat(n, 1, 1),
        masses=torch.zeros(n, 4, dtype=torch.float64),
        weight=torch.full((n,), 2.5, dtype=torch.float64),
        scale=torch.full((n,), 91.2, dtype=torch.float64),
        alpha_qed=torch.full((n,), 1 / 128.0, dtype=torch.float64),
        alpha_s=torch.full((n,), 0.118, dtype=torch.float64),
        process_id=torch.ones(n, dtype=torch.int64),
        extra_weights=torch.rand(n, n_weights, generator=g, dtype=torch.float64),
    )


def test_hostile_header_text_weight_names_and_generator_round_trip(tmp_path: Path) -> None:
    pylhe = pytest.importorskip("pylhe")
    card = "\n".join(HOSTILE)
    source = attribute(HOSTILE[7] + " & <x>")
    header = f"<mlgen_card source={source}>\n{cdata(card)}\n</mlgen_card>\n" + "\n".join(comment(t) for t in HOSTILE)
    weights = (
        WeightInfo("1001", "MUR=1 <nominal> & 'so'", "scale & <pdf>"),
        WeightInfo("a'b\"c&d<e>%s%%", "odd id", "scale & <pdf>"),
    )
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        weight_strategy=3,
        processes=(ProcessLine(2.5, 0.1, 2.5),),
        generator=('gen "x" & <y>', "1.0 --"),
        weights=weights,
        header=header,
    )
    events = _events(7, len(weights))
    path = write_lhe(tmp_path / "hostile.lhe", info, events)
    back, read = read_lhe(path)
    assert back.header == header
    assert [(w.id, w.description, w.group) for w in back.weights] == [
        (w.id, w.description, w.group) for w in weights
    ]
    assert back.weights[0].mur == 1.0 and back.generator == info.generator
    assert read is not None and read.extra_weights is not None and events.extra_weights is not None
    assert torch.equal(read.extra_weights, events.extra_weights)
    assert torch.equal(read.momenta, events.momenta)
    # pylhe parses the header and the events as XML
    lhe = pylhe.LHEFile.fromfile(str(path), generator=False)
    card_element = next(e for e in lhe.header.extra_elements if e.tag == "mlgen_card")
    assert card_element.attrib["source"] == HOSTILE[7] + " & <x>"
    assert card_element.text == "\n" + card + "\n"
    found = list(lhe.events)
    assert len(found) == 7
    assert [float(found[0].weights[w.id]) for w in weights] == events.extra_weights[0].tolist()


def test_mlgen_run_header_holds_a_hostile_card_and_path(tmp_path: Path) -> None:
    """A card whose comments hold markup, in a folder whose name holds quotes: the written file reads
    back in mlgen and in pylhe, and its <mlgen_card> holds the card's text and path exactly."""
    pylhe = pytest.importorskip("pylhe")
    from mlgen.cli import main

    folder = tmp_path / 'cards "quoted" & <odd>'
    folder.mkdir()
    card = folder / "card.toml"
    shutil.copy(ROOT / "cards" / "ee_mumu.toml", card)
    card.write_text(card.read_text() + "\n# ]]> </mlgen_card> </header> <init> -- & 'x' \"y\"\n")
    out = tmp_path / "out"
    argv = ["run", str(card), "-n", "40", "-o", str(out), "--no-progress", "--set", "run.plots=false"]
    short = ["integrator.n_adapt_iter=2", "integrator.n_per_iter=2000", "integrator.n_iter=1", "events.batch_size=2000"]
    for item in short:
        argv += ["--set", item]
    assert main(argv) == 0
    info, events = read_lhe(out / "events.lhe.gz")
    assert events is not None and len(events) == 40
    lhe = pylhe.LHEFile.fromfile(str(out / "events.lhe.gz"), generator=False)
    assert len(list(lhe.events)) == 40
    element = next(e for e in lhe.header.extra_elements if e.tag == "mlgen_card")
    assert element.attrib["source"] == str(card)
    assert element.text.strip("\n") == card.read_text().strip("\n")
