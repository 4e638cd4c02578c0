"""MadEvent's channel definitions in a ``.mad`` directory, read as plain data (no maps built here).

``SubProcesses/P*/configs.inc`` lists one *config* per channel: ``MAPCONFIG(i)`` the diagram in the
Fortran's numbering (the C++ code numbers diagrams apart where a four-point vertex splits, so its
channel id comes from ``coloramps.h``: :class:`~mlgen.matrix.mg5.MadGraphCPP` replaces it), and per
internal line
``-k`` its two daughters ``IFOREST(1:2, -k, i)`` (external particles ``1..n`` with ``1, 2``
incoming, or earlier internal lines ``-j``), with ``SPROP`` the PDG id of an s-channel line or
``TPRID`` that of a t-channel one (the other is 0). s-channel lines come first, then the
t-channel line in order from the beam that starts it; its last entry joins the other beam and is
no propagator. ``props.inc`` names each line's mass and width (``ABS(MDL_MT)``, ``ZERO``);
:func:`card_parameters` values those names from the comments of ``Cards/param_card.dat``.

Building phase-space maps from this is :mod:`mlgen.process.diagrams`' job.
"""

from __future__ import annotations

__all__ = ["ChannelConfig", "Line", "card_parameters", "read_configs"]

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Line:
    """An internal line of a config.

    Attributes:
        id: ``-1, -2, ...`` as in ``configs.inc``.
        daughters: the two lines it joins: external particles ``1..n`` (1, 2 incoming) or ``-j``.
        pdg: PDG id of the propagator.
        t_channel: ``True`` for a line of the t-channel chain (``TPRID``), ``False`` for s-channel.
        mass, width: parameter names from ``props.inc`` (``MDL_MT``, ``ZERO``); ``ZERO`` for the last
            t-channel entry (it is the other beam, not a propagator).
    """

    id: int
    daughters: tuple[int, int]
    pdg: int
    t_channel: bool
    mass: str = "ZERO"
    width: str = "ZERO"


@dataclass(frozen=True)
class ChannelConfig:
    """One MadEvent channel: ``number`` (1-based config), ``diagram`` (its diagram: ``MAPCONFIG`` as
    read, the C++ code's channel id once :class:`~mlgen.matrix.mg5.MadGraphCPP` has mapped it) and its
    lines."""

    number: int
    diagram: int
    lines: tuple[Line, ...]


def _data(text: str, name: str, n_index: int) -> dict[tuple[int, ...], list[int]]:
    """``DATA (NAME(I,a,b),I=1,n)/v,.../`` and ``DATA NAME(a,b)/v/`` -> ``{(a, b): [v, ...]}``."""
    out: dict[tuple[int, ...], list[int]] = {}
    listed = re.compile(rf"DATA\s*\(\s*{name}\s*\(\s*I\s*,([^)]*)\)\s*,\s*I\s*=[^)]*\)\s*/([^/]*)/", re.I)
    single = re.compile(rf"DATA\s+{name}\s*\(([^)]*)\)\s*/([^/]*)/", re.I)
    for pattern in (listed, single):
        for match in pattern.finditer(text):
            key = tuple(int(k) for k in match.group(1).split(","))
            if len(key) == n_index:
                out[key] = [int(v) for v in match.group(2).split(",")]
    return out


def _props(text: str) -> dict[tuple[str, int, int], str]:
    """``PRMASS(-k,i) = ABS(MDL_MT)`` lines -> ``{("PRMASS", -k, i): "MDL_MT"}`` (also ``PRWIDTH``)."""
    out = {}
    pattern = re.compile(r"(PRMASS|PRWIDTH)\(\s*(-?\d+)\s*,\s*(\d+)\s*\)\s*=\s*(?:ABS\()?\s*(\w+)", re.I)
    for match in pattern.finditer(text):
        out[(match.group(1).upper(), int(match.group(2)), int(match.group(3)))] = match.group(4).upper()
    return out


def read_configs(subprocess_dir: Path) -> tuple[ChannelConfig, ...]:
    """The configs of ``subprocess_dir/configs.inc`` with the names of ``props.inc``, in config order.

    Raises:
        ValueError: naming the file, when it is missing or ``MAPCONFIG(0)`` disagrees with the
            configs found.
    """
    path = subprocess_dir / "configs.inc"
    if not path.is_file():
        raise ValueError(f"{path}: not found (channels need a .mad directory)")
    text = path.read_text()
    mapconfig = {k[0]: v[0] for k, v in _data(text, "MAPCONFIG", 1).items()}
    forest = _data(text, "IFOREST", 2)
    sprop = {k: v[0] for k, v in _data(text, "SPROP", 2).items()}
    tprid = {k: v[0] for k, v in _data(text, "TPRID", 2).items()}
    props_path = subprocess_dir / "props.inc"
    props = _props(props_path.read_text()) if props_path.is_file() else {}
    count = mapconfig.pop(0, None)
    if count is None or sorted(mapconfig) != list(range(1, count + 1)):
        raise ValueError(f"{path}: MAPCONFIG(0) = {count} but configs {sorted(mapconfig)} are listed")
    configs = []
    for number in range(1, count + 1):
        lines = []
        for line_id in sorted((k[0] for k in forest if k[1] == number), reverse=True):
            key = (line_id, number)
            t_pdg = tprid.get(key, 0)
            a, b = forest[key]
            lines.append(
                Line(
                    line_id,
                    (a, b),
                    t_pdg if t_pdg else sprop.get(key, 0),
                    bool(t_pdg),
                    props.get(("PRMASS", line_id, number), "ZERO"),
                    props.get(("PRWIDTH", line_id, number), "ZERO"),
                )
            )
        configs.append(ChannelConfig(number, mapconfig[number], tuple(lines)))
    return tuple(configs)


def card_parameters(param_card: Path) -> dict[str, float]:
    """``{name: value}`` of the named entries of an MG5 ``param_card.dat``: the comment after a value
    (``6 1.730000e+02 # MT``) names it; ``MDL_`` + that name too (what ``props.inc`` uses), and
    ``ZERO`` is 0."""
    out = {"ZERO": 0.0}
    pattern = re.compile(r"^\s*(?:DECAY\s+)?-?\d+(?:\s+-?\d+)*\s+([-+0-9.eEdD]+)\s*#\s*(\w+)", re.I)
    for raw in param_card.read_text().splitlines():
        match = pattern.match(raw)
        if match is None:
            continue
        try:
            value = float(match.group(1).replace("d", "e").replace("D", "e"))
        except ValueError:
            continue
        name = match.group(2).upper()
        out.setdefault(name, value)
        out.setdefault(f"MDL_{name}", value)
    return out
