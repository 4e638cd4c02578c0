"""LHE writing and reading: byte-identical round trips, pylhe and Pythia 8 read mlgen's
files, real generators' files read, malformed files named by line."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo, WeightInfo
from mlgen.lhe import LHEError, LHEWarning, LHEWriter, read_lhe, write_lhe

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"


def synthetic(n: int = 50, seed: int = 1, gluons: bool = True) -> tuple[RunInfo, EventBatch]:
    """u u~ -> Z -> e- e+ events with a resonance line; with ``gluons`` every third event
    has an extra (zero-momentum, so kinematically fake) gluon to test padding."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.rand(*s, generator=g, dtype=torch.float64)  # noqa: E731
    m = 91.0 + rnd(n)
    cos, phi = 2 * rnd(n) - 1, 6.283185307179586 * rnd(n)
    sin = torch.sqrt(1 - cos**2)
    k = torch.stack([m / 2, m / 2 * sin * torch.cos(phi), m / 2 * sin * torch.sin(phi), m / 2 * cos], -1)
    kb = torch.stack([k[:, 0], -k[:, 1], -k[:, 2], -k[:, 3]], -1)
    z = k + kb
    pa = torch.stack([m / 2, 0 * m, 0 * m, m / 2], -1)
    pb = torch.stack([m / 2, 0 * m, 0 * m, -m / 2], -1)
    gluon = torch.zeros(n, 4, dtype=torch.float64)
    mom = torch.stack([pa, pb, z, k, kb, gluon], 1)
    pdg = torch.tensor([2, -2, 23, 11, -11, 0]).repeat(n, 1)
    status = torch.tensor([-1, -1, 2, 1, 1, 0]).repeat(n, 1)
    mothers = torch.tensor([[0, 0], [0, 0], [1, 2], [3, 3], [3, 3], [0, 0]]).repeat(n, 1, 1)
    colors = torch.tensor([[501, 0], [0, 501], [0, 0], [0, 0], [0, 0], [0, 0]]).repeat(n, 1, 1)
    masses = torch.stack([0 * m, 0 * m, m, 0 * m, 0 * m, 0 * m], 1)
    third = (torch.arange(n) % 3 == 0) & gluons
    pdg[third, 5] = 21
    status[third, 5] = 1
    mothers[third, 5] = torch.tensor([1, 2])
    colors[third] = torch.tensor([[501, 0], [0, 502], [0, 0], [0, 0], [0, 0], [502, 501]])
    w = 1234.5678901234567 * (1 + rnd(n))
    batch = EventBatch(
        momenta=mom,
        pdg=pdg,
        status=status,
        mothers=mothers,
        colors=colors,
        masses=masses,
        weight=w,
        scale=m,
        alpha_qed=torch.full((n,), 1 / 132.507, dtype=torch.float64),
        alpha_s=0.118 + 0.001 * rnd(n),
        process_id=torch.ones(n, dtype=torch.long),
        mu_r=m,
        mu_f=m / 2,
        extra_weights=torch.stack([w, w * 1.0123456789012345, w * 0.97], 1),
    )
    info = RunInfo(
        beam_ids=(2212, 2212),
        beam_energies=(6500.0, 6500.0),
        pdf_set=(230000, 230000),
        weight_strategy=-4,
        processes=(ProcessLine(1900.123456789, 1.5, 2500.0, 1),),
        generator=("mlgen", "test"),
        weights=tuple(
            WeightInfo(f"{1001 + i}", f"MUR={r} MUF={f}", "scale_variation", r, f)
            for i, (r, f) in enumerate([(1.0, 1.0), (2.0, 1.0), (0.5, 1.0)])
        ),
        header="<mlgen_card>\n[process]\n</mlgen_card>",
    )
    return info, batch


def plain_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


@pytest.mark.parametrize("suffix", [".lhe", ".lhe.gz"])
def test_write_read_write_is_byte_identical(tmp_path: Path, suffix: str) -> None:
    info, batch = synthetic()
    first = write_lhe(tmp_path / f"a{suffix}", info, batch)
    info2, batch2 = read_lhe(first)
    assert info2 == info
    second = write_lhe(tmp_path / f"b{suffix}", info2, batch2)
    assert plain_bytes(first) == plain_bytes(second)
    assert first.read_bytes() == second.read_bytes()  # gzip mtime fixed at 0
    torch.testing.assert_close(batch2.momenta, batch.momenta, rtol=0, atol=0)
    assert torch.equal(batch2.pdg, batch.pdg) and torch.equal(batch2.colors, batch.colors)
    assert torch.equal(batch2.extra_weights, batch.extra_weights)  # full precision, bit-exact


def test_pylhe_reads_mlgen_file(tmp_path: Path) -> None:
    pylhe = pytest.importorskip("pylhe")
    info, batch = synthetic(20)
    path = write_lhe(tmp_path / "x.lhe", info, batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        f = pylhe.LHEFile.fromfile(str(path))
        events = list(f.events)
    assert len(events) == 20
    assert f.init.initInfo.weightingStrategy == -4
    assert f.init.procInfo[0].xSection == pytest.approx(1900.123456789, rel=1e-15)
    for i, ev in enumerate(events):
        n = int((batch.pdg[i] != 0).sum())
        assert ev.eventinfo.nparticles == n
        assert ev.eventinfo.weight == float(batch.weight[i])
        assert [int(p.id) for p in ev.particles] == batch.pdg[i, :n].tolist()
        assert [int(p.color1) for p in ev.particles] == batch.colors[i, :n, 0].tolist()
        np.testing.assert_array_equal([p.e for p in ev.particles], batch.momenta[i, :n, 0].numpy())
        assert ev.weights["1002"] == float(batch.extra_weights[i, 1])  # 17 digits survive
        assert ev.scales["muf"] == float(batch.mu_f[i])


def test_pythia_reads_and_showers_mlgen_file(tmp_path: Path) -> None:
    pythia8mc = pytest.importorskip("pythia8mc")
    info, batch = synthetic(20, gluons=False)
    path = write_lhe(tmp_path / "x.lhe.gz", info, batch)
    pythia = pythia8mc.Pythia("", False)
    for s in ("Beams:frameType = 4", f"Beams:LHEF = {path}", "Print:quiet = on"):
        assert pythia.readString(s)
    assert pythia.init()
    n = 0
    seen = []
    while pythia.next():
        info_py = pythia.infoPython()
        seen.append(info_py.getWeightsDetailedValue("1002"))
        n += 1
    assert n == 20
    # IDWTUP = -4: Pythia's sigma is the mean event weight (mb)
    assert pythia.infoPython().sigmaGen() * 1e9 == pytest.approx(float(batch.weight.mean()), rel=1e-9)
    np.testing.assert_allclose(seen, batch.extra_weights[:, 1].numpy(), rtol=1e-12)


def test_writer_leaves_no_partial_file(tmp_path: Path) -> None:
    info, batch = synthetic(5)
    target = tmp_path / "out.lhe.gz"
    with pytest.raises(RuntimeError, match="boom"):
        with LHEWriter(target, info) as writer:
            writer.write(batch)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_weights_mismatch_is_an_error(tmp_path: Path) -> None:
    info, batch = synthetic(5)
    batch.extra_weights = None
    with pytest.raises(ValueError, match="declares 3 weights"):
        write_lhe(tmp_path / "x.lhe", info, batch)
    assert list(tmp_path.iterdir()) == []


EXPECTED = {
    "pylhe-testfile-madgraph-2.0.0-wbj.lhe": (59, 0),
    "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz": (10000, 0),
    "pylhe-testfile-powheg-box-v2-W.lhe": (100, 1),
    "pylhe-testfile-powheg-box-v2-Z.lhe": (100, 0),
    "pylhe-testfile-powheg-box-v2-Zj.lhe": (100, 1),
    "pylhe-testfile-powheg-box-v2-directphoton.lhe": (100, 0),
    "pylhe-testfile-powheg-box-v2-hvq.lhe": (6, 2),
    "pylhe-testfile-powheg-box-v2-trijet.lhe": (100, 22),
    "pylhe-testfile-pythia-6.413-ttbar.lhe": (100, 0),
    "pylhe-testfile-pythia-8.3.14-weakbosons.lhe": (100, 0),
    "pylhe-testfile-sherpa-3.0.1-eejjj.lhe": (100, 0),
    "pylhe-testfile-whizard-3.1.4-eeWW.lhe": (10, 0),
    "pylhe-testfile-pr180.lhe": (10, 0),
    "pylhe-testlhef3.lhe": (59, 0),
}


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_generator_files(name: str) -> None:
    pylhe = pytest.importorskip("pylhe")
    info, events = read_lhe(DATA / name)
    n, negative = EXPECTED[name]
    assert len(events) == n
    assert int((events.weight < 0).sum()) == negative
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        f = pylhe.LHEFile.fromfile(str(DATA / name))
        first = list(f.events)[:5]  # consume the generator so pylhe closes the file
        for i, ev in enumerate(first):
            k = int(ev.eventinfo.nparticles)
            assert events.pdg[i, :k].tolist() == [int(p.id) for p in ev.particles]
            np.testing.assert_allclose(
                events.momenta[i, :k, 3].numpy(), [p.pz for p in ev.particles], rtol=1e-12
            )
            assert float(events.weight[i]) == pytest.approx(ev.eventinfo.weight, rel=1e-12)


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
def test_file_without_process_lines_reads_with_a_warning() -> None:
    with pytest.warns(LHEWarning, match="NPRUP = 8"):
        info, events = read_lhe(DATA / "pylhe-testfile-pr29.lhe")
    assert len(events) == 791 and info.weight_strategy == 7


#: a header with a valid <init> block of one process, for the event errors below
INIT = '<LesHouchesEvents version="1.0">\n<init>\n 2212 2212 6500 6500 0 0 0 0 3 1\n 1 0.1 1 1\n</init>\n'


@pytest.mark.parametrize(
    "text, message",
    [
        ("<html></html>", "no <LesHouchesEvents>"),
        ('<LesHouchesEvents version="1.0">\n<event>\n</event>\n</LesHouchesEvents>\n', "missing <init>"),
        (
            '<LesHouchesEvents version="1.0">\n<init>\n 2212 2212 6500 6500 0 0\n'
            "</init>\n</LesHouchesEvents>\n",
            ":3: <init> first line: expected 10 numbers",
        ),
        (
            INIT + "<event>\n 2 1 1 91 0.0078 0.118\n 2 -1 0 0 501 0 0 0 45 45 0 0 9\n"
            "</event>\n</LesHouchesEvents>\n",
            ":9: event declares NUP = 2 particles, found 1",
        ),
        (
            INIT + "<event>\n 1 1 1 91 0.0078 0.118\n 2 -1 0 0 501 zero 0 0 45 45 0 0 9\n"
            "</event>\n</LesHouchesEvents>\n",
            ":8: particle line .* non-numeric",
        ),
        (
            INIT + "<event>\n 1 1 1 91 0.0078 0.118\n 2 -1 0 0 501 0 0 0 45 45 0 0 9\n</event>\n",
            "missing </LesHouchesEvents>",
        ),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.lhe"
    path.write_text(text)
    with pytest.raises(LHEError, match=message) as info:
        read_lhe(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    info, batch = synthetic(30)
    good = write_lhe(tmp_path / "x.lhe.gz", info, batch)
    bad = tmp_path / "cut.lhe.gz"
    bad.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(LHEError, match="cut.lhe.gz"):
        read_lhe(bad)
