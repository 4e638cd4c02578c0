"""Colour flow for files that give none: assigned only where it is unique."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mlgen.lhe import read_lhe
from mlgen.shower.colour import assign_unique_colour_flow, lacks_colour_flow

SHERPA = Path(__file__).resolve().parents[3] / "shared/data/lhe/pylhe-testfile-sherpa-3.0.1-eejjj.lhe"
pytestmark = pytest.mark.skipif(not SHERPA.is_file(), reason="../shared/data/lhe not present")


def test_sherpa_events_get_a_closed_colour_flow() -> None:
    _, events = read_lhe(SHERPA)
    assert events is not None and lacks_colour_flow(events)
    coloured = assign_unique_colour_flow(events)
    assert not lacks_colour_flow(coloured)
    assert int(events.colors.abs().sum()) == 0  # the input is not changed
    # every tag is opened once and closed once in each event; quarks carry colour, antiquarks anticolour
    for cols, pdg in zip(coloured.colors.tolist(), coloured.pdg.tolist()):
        opened = sorted(c for c, _ in cols if c)
        closed = sorted(a for _, a in cols if a)
        assert opened == closed and len(set(opened)) == len(opened) > 0
        for (c, a), pid in zip(cols, pdg):
            assert (c > 0) == (1 <= pid <= 6 or pid == 21) and (a > 0) == (-6 <= pid <= -1 or pid == 21)


def test_an_ambiguous_flow_is_refused() -> None:
    _, events = read_lhe(SHERPA)
    assert events is not None
    three = int((events.pdg[:, 2:] != 0).sum(-1).argmax())  # an event with q qbar g
    one = events[three : three + 1]
    one.pdg = torch.where(one.pdg == 21, torch.full_like(one.pdg, 1), one.pdg)  # q q qbar: not unique
    with pytest.raises(ValueError, match="event 1 has no colour tags and no unique colour flow"):
        assign_unique_colour_flow(one)
