"""``merge_lhe``: cross sections add whatever weight convention each file uses."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from mlgen.cli import main
from mlgen.events import ProcessLine
from mlgen.lhe import read_lhe, write_lhe
from mlgen.lhe.merge import merge_lhe
from mlgen.lhe.weights import per_event_pb
from tests.positive.toys import signed_sample


def test_unweighted_and_weighted_files_merge_to_the_summed_cross_section(tmp_path: Path) -> None:
    info, batch = signed_sample(3_000, seed=1)
    # an unweighted file of 2.5 pb (weights sigma/N, IDWTUP 3) and the signed weighted toy (mean = 1 pb)
    unweighted = batch[torch.arange(1000)]
    unweighted.weight = torch.full((1000,), 2.5 / 1000, dtype=torch.float64)
    unweighted.process_id = torch.full((1000,), 7)
    info_u = dataclasses.replace(info, weight_strategy=3, processes=(ProcessLine(2.5, 0.01, 2.5e-3, 7),))
    a = write_lhe(tmp_path / "a.lhe", info_u, unweighted)
    b = write_lhe(tmp_path / "b.lhe.gz", info, batch)
    assert per_event_pb(*read_lhe(a))[1] == "sum" and per_event_pb(*read_lhe(b))[1] == "mean"
    run_info, merged = merge_lhe([a, b], tmp_path / "m.lhe.gz")
    expected = 2.5 + float(batch.weight.mean())
    assert len(merged) == 4000 and math.isclose(float(merged.weight.mean()), expected, rel_tol=1e-12)
    assert run_info.weight_strategy == -4
    assert {p.id for p in run_info.processes} == {1, 7}
    # written and read back: same mean weight, and read as the mean convention
    info_m, back = read_lhe(tmp_path / "m.lhe.gz")
    assert math.isclose(float(back.weight.mean()), expected, rel_tol=1e-9)
    assert per_event_pb(info_m, back)[1] == "mean"
    # shuffled: the first quarter holds events of both files
    assert 0 < int((back.process_id[:1000] == 7).sum()) < 1000


def test_merge_refuses_other_beams_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info, batch = signed_sample(100, seed=2)
    a = write_lhe(tmp_path / "a.lhe", info, batch)
    b = write_lhe(tmp_path / "b.lhe", dataclasses.replace(info, beam_energies=(45.0, 45.0)), batch)
    assert main(["merge", str(a), str(b), "-o", str(tmp_path / "m.lhe")]) == 2
    err = capsys.readouterr().err
    assert "b.lhe: beams" in err and not (tmp_path / "m.lhe").exists()


def test_a_shared_slha_block_is_kept_and_differing_ones_are_dropped(tmp_path: Path) -> None:
    """The masses and widths the events were generated with (``mlgen amplify`` reads them) survive a
    merge of files that agree on them, and are not made up for files that do not."""
    from mlgen.physics.slha import format_slha, slha_in_header

    info, batch = signed_sample(200, seed=3)
    top = f"<slha>\n{format_slha({6: 173.0}, {6: 1.4915})}</slha>"
    other = f"<slha>\n{format_slha({6: 172.5}, {6: 1.42})}</slha>"
    a = write_lhe(tmp_path / "a.lhe", dataclasses.replace(info, header=top), batch)
    b = write_lhe(tmp_path / "b.lhe", dataclasses.replace(info, header="<!-- x -->\n" + top), batch)
    c = write_lhe(tmp_path / "c.lhe", dataclasses.replace(info, header=other), batch)
    merge_lhe([a, b], tmp_path / "ab.lhe")
    spectrum = slha_in_header(read_lhe(tmp_path / "ab.lhe")[0].header)
    assert spectrum is not None and spectrum.resonances() == {6: (173.0, 1.4915)}
    merge_lhe([a, c], tmp_path / "ac.lhe")
    assert slha_in_header(read_lhe(tmp_path / "ac.lhe")[0].header) is None
