"""SLHA param-card reader: blocks, decays, comments, case, and errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgen.physics.slha import SLHAError, format_slha, parse_slha, read_slha, slha_in_header

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"

CARD = """\
# a comment line
Block Mass  # masses
    6 1.730000e+02 # MT
   23 9.118800e+01
block sminputs
    1 1.325070e+02 # aEWM1
    3 1.18d-01
BLOCK MIX Q= 100.0
  1 2 0.5
DECAY 6 1.491500e+00 # WT
   1.0 2 5 24 # BR
decay   23 2.441404e+00
"""


def test_parse_blocks_and_decays():
    card = parse_slha(CARD, "card.dat")
    assert card.value("MASS", 6) == 173.0
    assert card.value("mass", 23) == 91.188
    assert card.value("SMInputs", 3) == pytest.approx(0.118)
    assert card.value("MIX", 1, 2) == 0.5
    assert card.value("MASS", 25) is None
    assert card.decays == {6: 1.4915, 23: 2.441404}


@pytest.mark.parametrize(
    "text,line,what",
    [
        ("  1 2.0\n", 1, "outside any BLOCK"),
        ("BLOCK MASS\n 6 abc\n", 2, "expected a number"),
        ("BLOCK MASS\n 6\n", 2, "expected '<index"),
        ("BLOCK MASS\n x 1.0\n", 2, "integer indices"),
        ("\nDECAY 6\n", 2, "DECAY <pdg> <width>"),
        ("DECAY t 1.0\n", 1, "integer PDG id"),
        ("DECAY 6 -1.0\n", 1, "negative width"),
        ("BLOCK\n", 1, "without a name"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "param_card.dat"
    path.write_text(text)
    with pytest.raises(SLHAError, match=rf"param_card.dat:{line}: .*{what}"):
        read_slha(path)


def test_missing_file(tmp_path):
    with pytest.raises(SLHAError, match="nope.dat: cannot read"):
        read_slha(tmp_path / "nope.dat")


def test_written_masses_and_widths_read_back_as_line_shapes():
    text = format_slha({6: 173.0, 23: 91.1876, 32: 1500.0}, {6: 1.4915, 23: 2.4952, 32: 0.0})
    card = parse_slha(text, "written")
    assert card.value("MASS", 23) == 91.1876
    # a particle of width zero is stable: it has no line shape
    assert card.resonances() == {6: (173.0, 1.4915), 23: (91.1876, 2.4952)}


def test_the_slha_block_of_a_madgraph_header_is_found():
    header = (DATA / "pylhe-testfile-madgraph-2.0.0-wbj.lhe").read_text().split("</header>")[0]
    card = slha_in_header(header, "wbj.lhe")
    assert card is not None
    # the file's param card: m_t 173.2 with the LO width, the W at zero width (no line shape)
    lines = card.resonances()
    assert lines[6] == (173.2, 1.5017) and lines[23] == (91.1876, 2.4952) and 24 not in lines
    assert slha_in_header("<mlgen_card>\n</mlgen_card>") is None
    with pytest.raises(SLHAError, match=r"x.lhe <slha>:3: expected a number"):
        slha_in_header("<slha>\nBLOCK MASS\n 6 heavy\n</slha>", "x.lhe")
