"""The reader carries each event's tag attributes and uninterpreted lines (issue 25): what a tool that
keeps the input's events writes back, read in the one pass that reads the numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgen.lhe import iter_lhe, read_lhe, write_lhe

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
FILES = sorted(DATA.glob("*.lhe*")) if DATA.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason="../shared/data/lhe not present")


@pytest.mark.filterwarnings("ignore:.*the cross section of this file is unknown")  # pr29: no process lines
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_attributes_and_trailers_survive_a_round_trip_and_come_from_the_file(
    path: Path, tmp_path: Path
) -> None:
    info, batch = read_lhe(path, max_events=1000)
    assert batch is not None
    text = path.read_bytes()
    if path.suffix == ".gz":
        import gzip

        text = gzip.decompress(text)
    body = text.decode(errors="replace")
    for field in ("attributes", "trailer"):
        values = getattr(batch, field)
        if values is not None:
            assert len(values) == len(batch)
            for value in {v for v in values if v}:  # every line is the file's own
                assert all(line in body for line in value.split("\n")), (field, value[:80])
    if batch.trailer is not None and info.weights:  # the named weights are read, not carried as text
        assert not any("<rwgt" in t or "<weights" in t for t in batch.trailer)
    again = tmp_path / "again.lhe"
    write_lhe(again, info, batch)
    _, back = read_lhe(again)
    assert back is not None
    for field in ("attributes", "trailer"):
        mine, theirs = getattr(batch, field), getattr(back, field)
        assert (mine is None) == (theirs is None), field
        if mine is not None:
            assert list(mine) == list(theirs), field


def test_lhef3_attributes_and_streamed_batches() -> None:
    """MG5_aMC's LHEF 3 sample: npLO/npNLO on the first events' tags; a small batch size gives the
    same text as one batch."""
    path = DATA / "pylhe-testlhef3.lhe"
    _, batch = read_lhe(path)
    assert batch is not None and batch.attributes is not None and batch.trailer is not None
    assert batch.attributes[0] == 'npLO=" -1 " npNLO=" 1 "'
    assert batch.trailer[0].startswith("#aMCatNLO")
    streamed = [b for _, b in iter_lhe(path, batch_size=7)]
    attributes = [a for b in streamed for a in (b.attributes if b.attributes is not None else [""] * len(b))]
    trailers = [t for b in streamed for t in (b.trailer if b.trailer is not None else [""] * len(b))]
    assert attributes == list(batch.attributes) and trailers == list(batch.trailer)
