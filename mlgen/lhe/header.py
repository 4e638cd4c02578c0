"""The run information of an LHE file: ``<header>`` (kept verbatim), ``<initrwgt>`` and ``<init>``."""

from __future__ import annotations

__all__ = ["parse_run_info", "strict_float", "strict_int"]

import math
import re
import warnings
from pathlib import Path

from mlgen.events import ProcessLine, RunInfo, WeightInfo
from mlgen.lhe.markup import blank_literals, unescape
from mlgen.lhe.source import LHEError, LHEWarning

_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_WEIGHT_DEF = re.compile(r"<weight\b([^>]*)>(.*?)</weight>", re.S)
_GROUP = re.compile(r"<weightgroup\b([^>]*)>(.*?)</weightgroup>", re.S)
_GENERATOR = re.compile(r"<generator\b([^>]*)>")
_FACTOR = re.compile(r"\b(MUR|MUF|mur|muf)\s*=\s*([-+0-9.eE]+)")
_INT = re.compile(r"[+-]?[0-9]+")
_INIT = re.compile(r"<init[\s>]")


def strict_int(token: str) -> int:
    """A Fortran integer: digits with an optional sign (``5.9``, ``1e1`` and ``5_0`` are not)."""
    if not _INT.fullmatch(token):
        raise ValueError(f"expected an integer, got {token!r}")
    return int(token)


def strict_float(token: str) -> float:
    """A finite real number, Fortran ``D`` exponents allowed (``nan``, ``inf`` and ``1_0`` are not)."""
    if "_" in token:
        raise ValueError(f"expected a number, got {token!r}")
    try:
        value = float(token.replace("D", "e").replace("d", "e"))
    except ValueError:
        raise ValueError(f"expected a number, got {token!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {token!r}")
    return value


def _attributes(text: str) -> dict[str, str]:
    """The ``name="value"`` (or ``'value'``) pairs of a tag, values unescaped."""
    return {name: unescape(double or single) for name, double, single in _ATTR.findall(text)}


def _looks_like_process(line: str) -> bool:
    """Whether ``line`` reads as ``XSECUP XERRUP XMAXUP LPRUP``."""
    tokens = line.split()
    if len(tokens) != 4:
        return False
    try:
        for token in tokens[:3]:
            strict_float(token)
        strict_int(tokens[3])
    except ValueError:
        return False
    return True


def _fields(path: Path, line_no: int, line: str, kinds: str, what: str) -> list[float]:
    """The fields of ``line``: exactly ``len(kinds)`` of them, ``i`` an integer and ``f`` a real."""
    tokens = line.split()
    if len(tokens) != len(kinds):
        raise LHEError(
            f"{path}:{line_no}: {what}: expected {len(kinds)} numbers, got {len(tokens)}: {line.strip()!r}"
        )
    try:
        return [strict_int(t) if k == "i" else strict_float(t) for t, k in zip(tokens, kinds)]
    except ValueError as err:
        raise LHEError(f"{path}:{line_no}: {what}: {err}") from None


def parse_run_info(path: Path, text: str) -> RunInfo:
    """The run information in ``text``, the file up to and including ``</init>``.

    Tags are searched for outside CDATA sections and comments (a card's text may hold ``<init>``
    or ``</header>``); what is kept is cut from ``text`` itself."""

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    verbatim, text = text, blank_literals(text)
    start = text.find("<LesHouchesEvents")
    if start < 0:
        raise LHEError(f"{path}:1: not an LHE file: no <LesHouchesEvents> tag")
    h0 = text.find("<header>", start)
    search_from = start
    if h0 >= 0:
        h1 = text.find("</header>", h0)
        if h1 < 0:
            raise LHEError(f"{path}:{line_of(h0)}: <header> without </header>")
        search_from = h1
    found = _INIT.search(text, search_from)
    init_end = text.rfind("</init>")
    if found is None or init_end < found.start():
        raise LHEError(f"{path}:{line_of(start)}: missing <init> ... </init> block")
    init_at = found.start()
    body_at = text.index(">", init_at) + 1
    lines = [(body_at + m.start(), m.group()) for m in re.finditer(r"[^\n]+", text[body_at:init_end])]
    lines = [(o, ln) for o, ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "<"))]
    if not lines:
        raise LHEError(
            f"{path}:{line_of(body_at)}: empty <init> block: expected "
            "IDBMUP(2) EBMUP(2) PDFGUP(2) PDFSUP(2) IDWTUP NPRUP"
        )
    head = _fields(path, line_of(lines[0][0]), lines[0][1], "iiffiiiiii", "<init> first line")
    nprup = int(head[9])
    if nprup < 0:
        raise LHEError(f"{path}:{line_of(lines[0][0])}: <init>: NPRUP = {nprup} is negative")
    if len(lines) < 1 + nprup:
        # GiBUU writes NPRUP without the lines; pylhe reads such files, so mlgen does too, loudly.
        warnings.warn(
            f"{path}:{line_of(lines[-1][0])}: <init> declares NPRUP = {nprup} process lines, "
            f"found {len(lines) - 1}; the cross section of this file is unknown",
            LHEWarning,
            stacklevel=4,
        )
    for offset, line in lines[1 + nprup :]:
        # LHEF lets free text follow the process lines; one more process line is a damaged NPRUP
        if _looks_like_process(line):
            raise LHEError(
                f"{path}:{line_of(offset)}: <init> declares NPRUP = {nprup} process lines; "
                f"this is one more: {line.strip()!r}"
            )
    processes = []
    for offset, line in lines[1 : 1 + nprup]:
        x = _fields(path, line_of(offset), line, "fffi", "<init> process line (XSECUP XERRUP XMAXUP LPRUP)")
        processes.append(ProcessLine(x[0], x[1], x[2], int(x[3])))
    header_text = ""
    weights: list[WeightInfo] = []
    if h0 >= 0:
        h1 = text.find("</header>", h0)
        searched = text[h0 + len("<header>\n") : h1]
        header_text = verbatim[h0 + len("<header>\n") : h1]
        for tag in ("initrwgt", "weightgroup", "weight"):
            opened = len(re.findall(rf"<{tag}\b", searched))
            if opened != searched.count(f"</{tag}>"):
                raise LHEError(
                    f"{path}:{line_of(h0)}: <header>: {opened} <{tag}> tags but "
                    f"{searched.count(f'</{tag}>')} </{tag}>"
                )
        r0 = searched.find("<initrwgt>")
        if r0 >= 0:
            r1 = searched.find("</initrwgt>", r0)
            if r1 < 0:
                raise LHEError(f"{path}:{line_of(h0 + len('<header>') + r0)}: <initrwgt> without </initrwgt>")
            block = header_text[r0 : r1 + len("</initrwgt>")]
            header_text = header_text[:r0] + header_text[r1 + len("</initrwgt>") + 1 :]
            weights = _weight_defs(path, block)
        header_text = header_text.rstrip("\n")
    gen = _GENERATOR.search(text, init_at, init_end)
    attrs = _attributes(gen.group(1)) if gen else {}
    return RunInfo(
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


def _weight_defs(path: Path, block: str) -> list[WeightInfo]:
    out = []
    groups = _GROUP.findall(block) or [("", block)]
    for group_attrs, body in groups:
        group_attributes = _attributes(group_attrs)
        group = group_attributes.get("name", group_attributes.get("type", ""))
        for attrs, desc in _WEIGHT_DEF.findall(body):
            wid = _attributes(attrs).get("id", "")
            try:
                factors = {k.lower(): strict_float(v) for k, v in _FACTOR.findall(desc)}
            except ValueError as err:
                raise LHEError(f"{path}: <initrwgt> weight {wid!r}: {err}") from None
            desc = unescape(desc.strip())
            out.append(WeightInfo(wid, desc, group, factors.get("mur"), factors.get("muf")))
    ids = [w.id for w in out]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise LHEError(f"{path}: <initrwgt> declares the weight id(s) {twice} more than once")
    return out
