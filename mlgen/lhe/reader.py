"""Read LHE files (LHEF 1 and 3, plain or gzip) into :class:`~mlgen.events.EventBatch`.

Handles what real generators write: MadGraph's header cards and ``<mgrwt>``
blocks, POWHEG's ``#`` comment lines, LHEF 3 ``<rwgt>`` and ``<weights>``
weights and ``<scales>``, a varying number of particles per event (padded,
``pdg == 0``). Malformed input raises :class:`LHEError` naming the file, the
line and what was expected; nothing is skipped silently.
"""

from __future__ import annotations

__all__ = ["LHEError", "LHEWarning", "iter_lhe", "read_lhe"]

import gzip
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from mlgen.events import EventBatch, ProcessLine, RunInfo, WeightInfo

_EVENT = re.compile(r"<event\b[^>]*>(.*?)</event>", re.S)
_WGT = re.compile(r"<wgt\s+id\s*=\s*['\"]([^'\"]+)['\"]\s*>\s*([^<\s]+)\s*</wgt>")
_WEIGHTS = re.compile(r"<weights\b[^>]*>(.*?)</weights>", re.S)
_SCALES = re.compile(r"<scales\b([^>]*)/?>")
_ATTR = re.compile(r"(\w+)\s*=\s*['\"]([^'\"]*)['\"]")
_WEIGHT_DEF = re.compile(r"<weight\b([^>]*)>(.*?)</weight>", re.S)
_GROUP = re.compile(r"<weightgroup\b([^>]*)>(.*?)</weightgroup>", re.S)
_GENERATOR = re.compile(r"<generator\b([^>]*)>")
_FACTOR = re.compile(r"\b(MUR|MUF|mur|muf)\s*=\s*([-+0-9.eE]+)")


class LHEWarning(UserWarning):
    """A file that breaks the standard in a way mlgen can read around (said, never hidden)."""


class LHEError(ValueError):
    """A malformed LHE file; the message names the file, the line and what was expected."""


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise LHEError(f"{path}: cannot read: {err.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise LHEError(f"{path}: truncated or corrupt gzip data ({err})") from None
    return raw.decode("utf-8", errors="replace")


class _Where:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def error(self, offset: int, message: str) -> LHEError:
        return LHEError(f"{self.path}:{self.line(offset)}: {message}")


def _numbers(line: str, count: int, where: _Where, offset: int, what: str) -> list[float]:
    fields = line.split()
    if len(fields) < count:
        raise where.error(offset, f"{what}: expected {count} numbers, got {len(fields)}: {line.strip()!r}")
    try:
        return [float(f.replace("D", "e").replace("d", "e")) for f in fields[:count]]
    except ValueError:
        raise where.error(offset, f"{what}: non-numeric field in {line.strip()!r}") from None


def _run_info(text: str, where: _Where) -> tuple[RunInfo, int]:
    start = text.find("<LesHouchesEvents")
    if start < 0:
        raise where.error(0, "not an LHE file: no <LesHouchesEvents> tag")
    init_at = text.find("<init", start)
    init_end = text.find("</init>", init_at)
    if init_at < 0 or init_end < 0:
        raise where.error(start, "missing <init> ... </init> block")
    body_at = text.index(">", init_at) + 1
    lines = [(body_at + m.start(), m.group()) for m in re.finditer(r"[^\n]+", text[body_at:init_end])]
    lines = [(o, ln) for o, ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "<"))]
    if not lines:
        raise where.error(
            body_at, "empty <init> block: expected IDBMUP(2) EBMUP(2) PDFGUP(2) PDFSUP(2) IDWTUP NPRUP"
        )
    head = _numbers(lines[0][1], 10, where, lines[0][0], "<init> first line")
    nprup = int(head[9])
    if len(lines) < 1 + nprup:
        # GiBUU writes NPRUP without the lines; pylhe reads such files, so mlgen does too, loudly.
        warnings.warn(
            f"{where.path}:{where.line(lines[-1][0])}: <init> declares NPRUP = {nprup} process lines, "
            f"found {len(lines) - 1}; the cross section of this file is unknown",
            LHEWarning,
            stacklevel=3,
        )
    processes = []
    for offset, line in lines[1 : 1 + nprup]:
        x = _numbers(line, 4, where, offset, "<init> process line (XSECUP XERRUP XMAXUP LPRUP)")
        processes.append(ProcessLine(x[0], x[1], x[2], int(x[3])))
    header_text = ""
    h0 = text.find("<header>", start, init_at)
    weights: list[WeightInfo] = []
    if h0 >= 0:
        h1 = text.find("</header>", h0)
        header_text = text[h0 + len("<header>\n") : h1]
        r0 = header_text.find("<initrwgt>")
        if r0 >= 0:
            r1 = header_text.find("</initrwgt>", r0)
            block = header_text[r0 : r1 + len("</initrwgt>")]
            header_text = header_text[:r0] + header_text[r1 + len("</initrwgt>") + 1 :]
            weights = _weight_defs(block)
        header_text = header_text.rstrip("\n")
    gen = _GENERATOR.search(text, init_at, init_end)
    attrs = dict(_ATTR.findall(gen.group(1))) if gen else {}
    info = RunInfo(
        beam_ids=(int(head[0]), int(head[1])),
        beam_energies=(head[2], head[3]),
        pdf_group=(int(head[4]), int(head[5])),
        pdf_set=(int(head[6]), int(head[7])),
        weight_strategy=int(head[8]),
        processes=tuple(processes),
        generator=(attrs.get("name", ""), attrs.get("version", "")),
        weights=tuple(weights),
        header=header_text,
    )
    return info, init_end


def _weight_defs(block: str) -> list[WeightInfo]:
    out = []
    groups = _GROUP.findall(block) or [("", block)]
    for group_attrs, body in groups:
        group_attributes: dict[str, str] = dict(_ATTR.findall(group_attrs))
        group = group_attributes.get("name", group_attributes.get("type", ""))
        for attrs, desc in _WEIGHT_DEF.findall(body):
            wid = dict(_ATTR.findall(attrs)).get("id", "")
            factors = {k.lower(): float(v) for k, v in _FACTOR.findall(desc)}
            desc = desc.strip().replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            out.append(WeightInfo(wid, desc, group, factors.get("mur"), factors.get("muf")))
    return out


def _parse_event(body: str, offset: int, where: _Where, ids: list[str]) -> tuple:
    lines = body.split("\n")
    pos = offset
    info_line = None
    k = 0
    while k < len(lines):
        if lines[k].strip() and not lines[k].lstrip().startswith("#"):
            info_line = lines[k]
            break
        pos += len(lines[k]) + 1
        k += 1
    if info_line is None:
        raise where.error(offset, "empty <event>: expected NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP")
    head = _numbers(info_line, 6, where, pos, "event line (NUP IDPRUP XWGTUP SCALUP AQEDUP AQCDUP)")
    nup = int(head[0])
    particles = []
    for j in range(1, nup + 1):
        pos += len(lines[k + j - 1]) + 1
        if k + j >= len(lines) or not lines[k + j].strip() or lines[k + j].lstrip().startswith("<"):
            raise where.error(pos, f"event declares NUP = {nup} particles, found {j - 1}")
        particles.append(
            _numbers(
                lines[k + j],
                13,
                where,
                pos,
                "particle line (IDUP ISTUP MOTHUP(2) ICOLUP(2) P(5) VTIMUP SPINUP)",
            )
        )
    rest = "\n".join(lines[k + nup + 1 :])
    extra = {}
    for wid, value in _WGT.findall(rest):
        extra[wid] = float(value)
    listed = _WEIGHTS.search(rest)
    if listed and not extra:
        values = [float(v) for v in listed.group(1).split()]
        extra = dict(zip(ids, values))
    scales = {}
    sc = _SCALES.search(rest)
    if sc:
        scales = {k2: float(v) for k2, v in _ATTR.findall(sc.group(1))}
    return head, particles, extra, scales


def _batch(rows: list[tuple], ids: list[str], info: RunInfo, device: str) -> EventBatch:
    n = max(len(r[1]) for r in rows)
    b = len(rows)
    part = np.zeros((b, n, 13))
    part[:, :, 12] = 9.0
    for i, r in enumerate(rows):
        part[i, : len(r[1])] = r[1]
    head = np.array([r[0] for r in rows])
    ints = lambda a: torch.from_numpy(a.astype(np.int64)).to(device)  # noqa: E731
    flt = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)).to(device)  # noqa: E731
    momenta = np.stack([part[..., 9], part[..., 6], part[..., 7], part[..., 8]], -1)
    extra = None
    if ids:
        extra = np.array([[r[2].get(wid, np.nan) for wid in ids] for r in rows])
    mu = None
    if all("mur" in r[3] and "muf" in r[3] for r in rows):
        mu = np.array([[r[3]["mur"], r[3]["muf"]] for r in rows])
    x = None
    if info.beam_energies[0] > 0 and info.beam_energies[1] > 0:
        x = (part[:, 0, 9] / info.beam_energies[0], part[:, 1, 9] / info.beam_energies[1])
    return EventBatch(
        momenta=flt(momenta),
        pdg=ints(part[..., 0]),
        status=ints(part[..., 1]),
        mothers=ints(part[..., 2:4]),
        colors=ints(part[..., 4:6]),
        masses=flt(part[..., 10]),
        weight=flt(head[:, 2]),
        scale=flt(head[:, 3]),
        alpha_qed=flt(head[:, 4]),
        alpha_s=flt(head[:, 5]),
        process_id=ints(head[:, 1]),
        lifetime=flt(part[..., 11]),
        spin=flt(part[..., 12]),
        x1=None if x is None else flt(x[0]),
        x2=None if x is None else flt(x[1]),
        mu_r=None if mu is None else flt(mu[:, 0]),
        mu_f=None if mu is None else flt(mu[:, 1]),
        extra_weights=None if extra is None else flt(extra),
    )


def iter_lhe(
    path: str | os.PathLike[str], batch_size: int = 100_000, *, device: str = "cpu"
) -> Iterator[tuple[RunInfo, EventBatch]]:
    """Yield ``(run_info, batch)`` with up to ``batch_size`` events each."""
    file = Path(path)
    text = _text(file)
    where = _Where(file, text)
    info, start = _run_info(text, where)
    ids = [w.id for w in info.weights]
    rows: list[tuple] = []
    last = start
    for match in _EVENT.finditer(text, start):
        rows.append(_parse_event(match.group(1), match.start(1), where, ids))
        last = match.end()
        if len(rows) == batch_size:
            yield info, _batch(rows, ids, info, device)
            rows = []
    tail = text[last:]
    if "<event" in tail:
        raise where.error(last + tail.index("<event"), "unterminated <event> (truncated file?)")
    if "</LesHouchesEvents>" not in tail:
        raise where.error(len(text), "missing </LesHouchesEvents> (truncated file?)")
    if rows:
        yield info, _batch(rows, ids, info, device)


def read_lhe(
    path: str | os.PathLike[str], *, max_events: int | None = None, device: str = "cpu"
) -> tuple[RunInfo, EventBatch | None]:
    """Read a whole LHE file: ``(run_info, events)`` (``None`` for a file without events)."""
    info: RunInfo | None = None
    batches = []
    count = 0
    for info, batch in iter_lhe(path, device=device):  # noqa: B007 (the run info is kept after the loop)
        batches.append(batch)
        count += len(batch)
        if max_events is not None and count >= max_events:
            break
    if info is None:
        text = _text(Path(path))
        info, _ = _run_info(text, _Where(Path(path), text))
        return info, None
    events = EventBatch.concat(batches)
    if max_events is not None:
        events = events[:max_events]
    return info, events
