"""The strict reader on the faults a careless or hostile file has (issue 27): each one an
LHEError naming the file, the line and the event; bounded time and memory on hostile input."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from mlgen.lhe import LHEError, read_lhe
from mlgen.lhe.reader import Limits

HEAD = (
    '<LesHouchesEvents version="3.0">\n<header>\n<initrwgt>\n<weight id="1001">MUR=1</weight>\n'
    '<weight id="1002">MUR=2</weight>\n</initrwgt>\n</header>\n<init>\n'
    " 2212 2212 6500 6500 0 0 0 0 {idwtup} 1\n 1.5 0.1 2.0 1\n</init>\n"
)
#: one event of two particles and two named weights; lines 12-19 of the file for the first
EVENT = (
    "<event>\n"
    " 2 1 {weight} 91.2 0.0078 0.118\n"
    " 2 -1 0 0 501 0 0.0 0.0 45.6 45.6 0.0 0.0 9.0\n"
    " -2 -1 0 0 0 501 0.0 0.0 -45.6 45.6 0.0 0.0 9.0\n"
    "<rwgt>\n"
    "<wgt id='1001'> {weight} </wgt>\n"
    "<wgt id='1002'> 0.5 </wgt>\n"
    "</rwgt>\n"
    "</event>\n"
)
TAIL = "</LesHouchesEvents>\n"


def file_text(events: int = 3, idwtup: int = -4, weight: str = "1.25") -> str:
    return HEAD.format(idwtup=idwtup) + EVENT.format(weight=weight) * events + TAIL


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str | bytes, name: str = "bad.lhe") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    return _write


def test_base_file_reads(write) -> None:
    info, events = read_lhe(write(file_text()))
    assert events is not None and len(events) == 3
    assert events.extra_weights is not None and events.extra_weights[:, 1].tolist() == [0.5] * 3


def damage(old: str, new: str, occurrence: int = 2) -> str:
    """The base file with the ``occurrence``-th (1-based) ``old`` replaced by ``new``."""
    text = file_text()
    at = -1
    for _ in range(occurrence):
        at = text.index(old, at + 1)
    return text[:at] + new + text[at + len(old) :]


# line numbers: event 1 is lines 12-20, event 2 lines 21-29 (its event line 22, particles 23-24)
@pytest.mark.parametrize(
    "text, message",
    [
        # a lost </event> merged two events (one lost, its weights given to its neighbour)
        (damage("</event>\n", "", 1), r":12: <event> without </event> before the next <event> \(line 20\) \(event 1\)"),  # noqa: E501
        # a lost event line: a particle line read as the event line
        (damage(" 2 1 1.25 91.2 0.0078 0.118\n", ""), r":22: event line .* expected 6 numbers, .*\(event 2\)"),  # noqa: E501
        (damage(" 2 1 1.25", " 5.9 1 1.25"), r":22: event line .*NUP a positive integer.*'5.9.*\(event 2\)"),
        (damage(" 2 -1 0 0 501", " 11.7 -1 0 0 501"), r":23: particle line .*non-numeric field '11.7' .*integer.*\(event 2\)"),  # noqa: E501
        (damage(" 2 -1 0 0 501", " 1e1 -1 0 0 501"), r":23: particle line .*'1e1'"),
        (damage(" 2 -1 0 0 501", " 2_1 -1 0 0 501"), r":23: particle line"),
        (damage(" 45.6 45.6 0.0", " nan 45.6 0.0"), r":23: particle line .*NaN or infinite.*\(event 2\)"),
        (damage(" 45.6 45.6 0.0", " 45.6 inf 0.0"), r":23: particle line .*NaN or infinite"),
        (damage(" 1.25 91.2", " -inf 91.2"), r":22: event line .*NaN or infinite.*\(event 2\)"),
        (damage("> 1.25 </wgt>", "> nan </wgt>"), r":25: weights or scales: .*finite.*\(event 2\)"),
        (damage("> 0.5 </wgt>", "> 0x5 </wgt>"), r"weights or scales"),
        (damage(" 0.0 0.0 9.0\n", " 0.0 9.0\n", 3), r":23: particle line .*expected 13 numbers.*\(event 2\)"),
        (damage(" 0.0 0.0 9.0\n", " 0.0 0.0 9.0 7\n", 3), r":23: particle line .*expected 13 numbers"),
        (damage(" 0 0 501 0 0.0", " 0 3 501 0 0.0"), r":23: particle line: mother index .*outside 0..NUP"),
        (damage(" 2 -1 0 0 501", " 0 -1 0 0 501"), r":23: particle line: PDG id 0"),
        # NUP against the lines present: one line too many, one too few
        (damage(" 2 1 1.25", " 1 1 1.25"), r":24: a particle line after the NUP = 1 declared \(event 2\)"),
        (damage(" 2 1 1.25", " 3 1 1.25"), r":25: event declares NUP = 3 particles, found 2 particle lines \(event 2\)"),  # noqa: E501
        (damage("<wgt id='1002'> 0.5 </wgt>\n", ""), r":22: <rwgt> weights do not match <initrwgt>: missing \['1002'\]"),  # noqa: E501
        (damage("<wgt id='1002'>", "<wgt id='1001'>"), r"weight id '1001' twice"),
        (damage("</rwgt>\n", ""), r":25: unbalanced tags .*\(event 2\)"),
        (damage("<event>\n", ""), r":21: text outside any <event>: b'2 1 1.25"),
        (damage("<event>\n", "<eventq>\n"), r":21: a tag '<eventq>' where <event> or </LesHouchesEvents> belongs"),  # noqa: E501
        (damage("</event>\n", "</event>\n</event>\n"), r":30: text outside any <event>: b'</event>'"),
        (damage(TAIL, TAIL + "<event>\n", 1), r":40: <event> after </LesHouchesEvents>"),
        (damage(" 1.5 0.1 2.0 1\n", " 1.5 0.1 2.0 1.5\n", 1), r":10: <init> process line .*expected an integer, got '1.5'"),  # noqa: E501
        (damage(" 6500 6500 0 0 0 0 -4 1", " 6500 nan 0 0 0 0 -4 1", 1), r":9: <init> first line: expected a finite number"),  # noqa: E501
        (damage(" 1.5 0.1 2.0 1\n", " 1.5 0.1 2.0 1\n 1.5 0.1 2.0 1\n", 1), r":11: <init> declares NPRUP = 1 process lines; this is one more"),  # noqa: E501
        (damage('<weight id="1002">MUR=2</weight>\n', "", 1), r"undeclared \['1002'\]"),
        (damage("<initrwgt>\n", "", 1), r":2: <header>: 0 <initrwgt> tags but 1 </initrwgt>"),
    ],
)  # fmt: skip
def test_damage_is_an_error_naming_file_line_and_event(write, text: str, message: str) -> None:
    path = write(text)
    with pytest.raises(LHEError, match=message) as info:
        read_lhe(path)
    assert str(info.value).startswith(f"{path}:")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("idwtup, allowed", [(3, "positive"), (4, "non-negative"), (1, "non-negative")])
def test_weights_of_a_sign_idwtup_forbids_are_refused(write, idwtup: int, allowed: str) -> None:
    """IDWTUP = +3 (unweighted): every weight positive; +1, +2, +4 (weighted): none negative, an event
    of weight 0 allowed; -3, -4 ...: any sign."""
    with pytest.raises(
        LHEError, match=rf":13: weight XWGTUP = -1.25: IDWTUP = {idwtup} allows only {allowed}"
    ):
        read_lhe(write(file_text(idwtup=idwtup, weight="-1.25")))
    if allowed == "positive":
        with pytest.raises(LHEError, match=r"XWGTUP = 0.0"):
            read_lhe(write(file_text(idwtup=idwtup, weight="0")))
    else:
        assert read_lhe(write(file_text(idwtup=idwtup, weight="0")))[1] is not None
    events = read_lhe(write(file_text(idwtup=-idwtup, weight="-1.25")))[1]
    assert events is not None and events.weight.tolist() == [-1.25] * 3


def test_fortran_exponents_and_signs_read(write) -> None:
    text = damage(" 45.6 45.6 0.0", " 0.456D+02 +4.56d1 0.0")
    events = read_lhe(write(text))[1]
    assert events is not None
    assert events.momenta[1, 0, 3].item() == 45.6 and events.momenta[1, 0, 0].item() == 45.6


def test_corrupt_and_truncated_gzip_are_lhe_errors(write) -> None:
    packed = gzip.compress(file_text(200).encode(), mtime=0)
    middle = len(packed) // 2
    flipped = packed[:middle] + bytes([packed[middle] ^ 0x10]) + packed[middle + 1 :]
    for name, data in [
        ("flip.lhe.gz", flipped),
        ("cut.lhe.gz", packed[:-9]),
        ("crc.lhe.gz", packed[:-8] + b"\0" * 8),
    ]:
        with pytest.raises(LHEError, match=rf"{name}:\d+: corrupt or truncated gzip data"):
            read_lhe(write(data, name))


def test_no_quadratic_scan_without_end_tags(write) -> None:
    """4000 events without </event>: the old reader took 139 s; this one stops at the first."""
    text = HEAD.format(idwtup=-4) + EVENT.format(weight="1").replace("</event>\n", "") * 4000 + TAIL
    t0 = time.perf_counter()
    with pytest.raises(LHEError, match=r":12: <event> without </event> before the next <event> \(line 20\)"):
        read_lhe(write(text))
    # and a last event without </event>, the whole file scanned once
    text = HEAD.format(idwtup=-4) + "<event>\n" + EVENT.format(weight="1").split("\n", 1)[1][:-9] * 4000
    with pytest.raises(LHEError, match=r":12: unterminated <event> \(truncated file\?\) \(event 1\)"):
        read_lhe(write(text))
    assert time.perf_counter() - t0 < 5.0


def test_limits_on_line_length_and_sizes(write) -> None:
    good = write(file_text(50), "good.lhe")
    with pytest.raises(LHEError, match=r"good.lhe:\d+: a line longer than 30 bytes \(Limits.line_bytes\)"):
        read_lhe(good, limits=Limits(line_bytes=30))
    with pytest.raises(LHEError, match=r"more than 2000 bytes decompressed \(Limits.total_bytes\)"):
        read_lhe(good, limits=Limits(total_bytes=2000))
    with pytest.raises(LHEError, match=r"an event longer than 100 bytes"):
        read_lhe(good, limits=Limits(event_bytes=100))
    assert len(read_lhe(good)[1]) == 50  # type: ignore[arg-type]


def _bomb(head: bytes, unit: bytes, megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = unit * ((1 << 20) // len(unit))
    return packer.compress(head) + b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


@pytest.mark.parametrize(
    "head, unit, message",
    [
        (b"", b"\0", r"bomb.lhe.gz:1: a line longer than \d+ bytes"),
        (b"", b"\n", r"no <init> ... </init> in the first \d+ bytes \(Limits.header_bytes\)"),
        (file_text(0).encode()[: -len(TAIL)], b"\n", r"expands more than 200 times .* \(a gzip bomb\?"),
    ],
)
def test_gzip_bomb_stops_early_in_bounded_memory(write, head: bytes, unit: bytes, message: str) -> None:
    """A few hundred kB that expand to 300 MB: stopped by the line limit (no newline), the header
    limit or the expansion ratio (blank lines after a good header), with the reader's memory a few
    chunks, not the 300 MB."""
    path = write(_bomb(head, unit, 300), "bomb.lhe.gz")
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(LHEError, match=message):
            read_lhe(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"


DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
REAL = sorted(DATA.glob("*.lhe*")) if DATA.is_dir() else []


def _same_events(a, b) -> bool:
    return all(
        (x is None and y is None) or (x is not None and y is not None and bool((x == y).all()))
        for x, y in zip(a._tensors().values(), b._tensors().values())
    )


@pytest.mark.skipif(not REAL, reason="../shared/data/lhe not present")
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_chunk_and_batch_boundaries_and_line_ends_change_nothing(
    path: Path, write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same events whether the file streams in 4 MiB or 1 kB chunks (events cut across chunk
    ends), in batches of 100000 or 7, with LF or CRLF line ends."""
    import warnings

    import mlgen.lhe.source as source
    from mlgen.events import EventBatch
    from mlgen.lhe import LHEWarning, iter_lhe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LHEWarning)  # pr29's NPRUP
        info, whole = read_lhe(path)
        monkeypatch.setattr(source, "CHUNK_BYTES", 1000)
        info_small, small = read_lhe(path)
        batches = [batch for _, batch in iter_lhe(path, batch_size=7)]
        raw = path.read_bytes()
        raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        crlf = read_lhe(write(raw.replace(b"\n", b"\r\n"), "crlf.lhe"))[1]
    assert whole is not None and small is not None and crlf is not None
    assert info_small == info
    assert _same_events(small, whole) and _same_events(crlf, whole)
    assert all(len(b) == 7 for b in batches[:-1])
    assert sum(len(b) for b in batches) == len(whole)
    # batches of 7 pad to their own widest event; compare event by event on the common width
    joined = EventBatch.concat(batches)
    width = whole.pdg.shape[1]
    assert joined.pdg.shape[1] == width and bool((joined.momenta == whole.momenta).all())
