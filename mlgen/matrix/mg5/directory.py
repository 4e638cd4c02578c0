"""What a MadGraph5 CUDACPP process directory says about its process (no compilation needed).

* external PDG ids: ``leshouche.inc`` (``IDUP``, ``.mad``) or the ``// Process:`` line of
  ``CPPProcess.cc`` read with the ``sm`` model's particle names (``.sa``);
* external masses: the names ``CPPProcess::initProc`` pushes (``ZERO``, ``mdl_MT``, ...), valued
  from ``Cards/param_card.dat`` (``MASS`` block, by PDG id);
* helicity combinations: ``tHel`` of ``CPPProcess.cc`` (the ``selhel`` the code returns indexes it);
* colour flows: ``ICOLUP`` of ``leshouche.inc`` (``.mad`` only; ``selcol`` indexes them), as mlgen
  tags (MadGraph's 501, 502, ... less 500; the LHE convention, incoming partons with their own tags).
"""

from __future__ import annotations

__all__ = ["ProcessInfo", "SM_PARTICLES", "read_process_info"]

import re
from dataclasses import dataclass
from pathlib import Path

from mlgen.matrix.base import ColourFlow
from mlgen.physics.slha import read_slha

#: MG5 ``sm`` model particle names -> PDG ids.
SM_PARTICLES: dict[str, int] = {
    "d": 1, "u": 2, "s": 3, "c": 4, "b": 5, "t": 6,
    "e-": 11, "ve": 12, "mu-": 13, "vm": 14, "ta-": 15, "vt": 16,
    "g": 21, "a": 22, "z": 23, "w+": 24, "h": 25,
}  # fmt: skip
_ANTI = {"e+": -11, "mu+": -13, "ta+": -15, "w-": -24}


def _pdg(name: str) -> int:
    if name in SM_PARTICLES:
        return SM_PARTICLES[name]
    if name in _ANTI:
        return _ANTI[name]
    if name.endswith("~") and name[:-1] in SM_PARTICLES:
        return -SM_PARTICLES[name[:-1]]
    raise ValueError(f"unknown particle {name!r} (only the sm model's names are known)")


@dataclass(frozen=True)
class ProcessInfo:
    """A process as its directory declares it.

    Attributes:
        process: MG5's process string (``g g > t t~``).
        pdg: external PDG ids, incoming first, in the code's order.
        masses: external masses in GeV, same order.
        helicities: ``(ncomb, npar)`` helicity of each particle per combination.
        colour_flows: leading colour flows (mlgen tags); empty when the directory has none (``.sa``).
        channels: the C++ code's channel id (its 1-based diagram number) of each MadEvent config, in
            config order (``coloramps.h``'s ``channel2iconfig`` inverted; ``.mad`` only). The
            Fortran's numbering in ``configs.inc`` (``MAPCONFIG``) can differ: for g g > t t~ g g,
            config 1 is Fortran diagram 1 but C++ channel 2.
        param_card: the directory's parameter card.
    """

    process: str
    pdg: tuple[int, ...]
    masses: tuple[float, ...]
    helicities: tuple[tuple[int, ...], ...]
    colour_flows: tuple[ColourFlow, ...]
    channels: tuple[int, ...]
    param_card: Path


def _fortran_rows(text: str, name: str) -> dict[tuple[int, ...], list[int]]:
    """``DATA (NAME(a,I,b,...),I=1, n)/v1,v2,.../`` lines -> ``{(a, b, ...): [v...]}``."""
    rows: dict[tuple[int, ...], list[int]] = {}
    pattern = re.compile(rf"DATA\s*\({name}\(([^)]*)\)\s*,\s*I\s*=\s*1\s*,\s*\d+\s*\)\s*/([^/]*)/", re.I)
    for match in pattern.finditer(text):
        key = tuple(int(k) for k in match.group(1).split(",") if k.strip().upper() != "I")
        rows[key] = [int(v) for v in match.group(2).replace(" ", "").split(",")]
    return rows


def _colour_flows(leshouche: str, npar: int) -> tuple[ColourFlow, ...]:
    rows = _fortran_rows(leshouche, "ICOLUP")
    flows = sorted({key[1] for key in rows if len(key) == 3 and key[2] == 1})
    out = []
    for flow in flows:
        colour, anti = rows[(1, flow, 1)], rows[(2, flow, 1)]
        out.append(tuple((c - 500 if c else 0, a - 500 if a else 0) for c, a in zip(colour, anti)))
    return tuple(o for o in out if len(o) == npar)


def read_process_info(root: Path, subprocess_dir: Path, param_card: Path | None = None) -> ProcessInfo:
    """Read :class:`ProcessInfo` from a process directory ``root`` and its ``SubProcesses/P1_*``.

    Raises:
        ValueError: naming the file that lacks what is needed.
    """
    cpp = (subprocess_dir / "CPPProcess.cc").read_text()
    found = re.search(r"^// Process: (.*?) (?:WEIGHTED|@|$)", cpp, re.M)
    if found is None:
        raise ValueError(f"{subprocess_dir / 'CPPProcess.cc'}: no '// Process:' line")
    process = found.group(1).strip()
    leshouche = subprocess_dir / "leshouche.inc"
    if leshouche.is_file():
        text = leshouche.read_text()
        pdg = tuple(_fortran_rows(text, "IDUP")[(1, 1)])
    else:
        text = ""
        initial, _, final = process.partition(">")
        pdg = tuple(_pdg(n) for n in initial.split() + final.split())
    card_path = param_card or root / "Cards" / "param_card.dat"
    card = read_slha(card_path)
    names = re.findall(r"m_masses\.push_back\(\s*m_pars->(\w+)\s*\)", cpp)
    if len(names) != len(pdg):
        raise ValueError(f"{subprocess_dir / 'CPPProcess.cc'}: {len(names)} masses for {len(pdg)} particles")
    masses = tuple(0.0 if n == "ZERO" else (card.value("MASS", abs(p)) or 0.0) for n, p in zip(names, pdg))
    unknown = [n for n, m in zip(names, masses) if n != "ZERO" and m == 0.0]
    if unknown:
        raise ValueError(f"{card_path}: no MASS entry for {', '.join(unknown)}")
    table = re.search(r"tHel\[ncomb\]\[npar\]\s*=\s*\{(.*?)\};", cpp, re.S)
    if table is None:
        raise ValueError(f"{subprocess_dir / 'CPPProcess.cc'}: no helicity table tHel")
    helicities = tuple(
        tuple(int(h) for h in row.split(",")) for row in re.findall(r"\{([^{}]*)\}", table.group(1))
    )
    coloramps = subprocess_dir / "coloramps.h"
    channels: tuple[int, ...] = ()
    if coloramps.is_file():
        found = re.search(r"channel2iconfig\[\d+\]\s*=\s*\{(.*?)\};", coloramps.read_text(), re.S)
        if found is not None:
            body = "\n".join(line.split("//")[0] for line in found.group(1).splitlines())
            configs = [int(v) for v in re.findall(r"-?\d+", body)]
            by_config = sorted((config, i + 1) for i, config in enumerate(configs) if config > 0)
            if [config for config, _ in by_config] != list(range(1, len(by_config) + 1)):
                raise ValueError(f"{coloramps}: channel2iconfig does not give configs 1..{len(by_config)} once each")
            channels = tuple(channel for _, channel in by_config)
    flows = _colour_flows(text, len(pdg))
    return ProcessInfo(process, pdg, masses, helicities, flows, channels, card_path)
