"""Shower LHE files with Pythia 8 (the ``pythia8mc`` wheel) and report what happened."""

from __future__ import annotations

__all__ = [
    "MB_TO_PB",
    "ShowerReport",
    "captured_stdout",
    "import_pythia",
    "parse_messages",
    "run_pythia",
    "shower_lhe",
]

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MB_TO_PB = 1.0e9


def import_pythia() -> Any:
    """Import ``pythia8mc`` or fail with the install hint."""
    try:
        import pythia8mc
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "showering needs Pythia 8 from Python: pip install 'mlgen[pythia]' (pythia8mc==8.317.2)"
        ) from err
    return pythia8mc


@dataclass
class ShowerReport:
    """What Pythia did with an event file.

    Attributes:
        path: the LHE file.
        n_requested: events asked for (``None`` = the whole file).
        n_showered: events that came out of ``Pythia.next()`` successfully.
        n_failed: ``next()`` calls that returned False before the end of the file.
        n_errors: errors and aborts in Pythia's message statistics.
        n_warnings: warnings in Pythia's message statistics.
        messages: Pythia's message table, ``{message: times}``.
        sigma_pb, sigma_err_pb: the cross section Pythia estimated (``sigmaGen``,
            converted from mb to pb) and its error.
        mean_final_multiplicity: average number of final-state particles.
        settings: the Pythia settings used.
    """

    path: str
    n_requested: int | None
    n_showered: int = 0
    n_failed: int = 0
    n_errors: int = 0
    n_warnings: int = 0
    messages: dict[str, int] = field(default_factory=dict)
    sigma_pb: float = 0.0
    sigma_err_pb: float = 0.0
    mean_final_multiplicity: float = 0.0
    settings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"Pythia 8 showered {self.n_showered} events from {self.path} "
            f"({self.n_failed} failed, {self.n_errors} errors, {self.n_warnings} warnings); "
            f"sigma seen by Pythia = {self.sigma_pb:.6g} +- {self.sigma_err_pb:.3g} pb; "
            f"<final-state multiplicity> = {self.mean_final_multiplicity:.1f}"
        )


_MESSAGE = re.compile(r"^\s*\|\s+(\d+)\s+((Error|Warning|Abort) (?:in|from) .*?)\s*\|\s*$")


@contextlib.contextmanager
def captured_stdout() -> Iterator[list[str]]:
    """Capture what C++ code writes to file descriptor 1 (Pythia prints there)."""
    lines: list[str] = []
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield lines
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            lines.extend(tmp.read().decode(errors="replace").splitlines())


def parse_messages(lines: Sequence[str]) -> dict[str, int]:
    """Pythia's "Error and Warning Messages Statistics" table as ``{message: times}``."""
    out: dict[str, int] = {}
    for line in lines:
        match = _MESSAGE.match(line)
        if match:
            out[match.group(2)] = out.get(match.group(2), 0) + int(match.group(1))
    return out


def shower_lhe(
    path: str | Path,
    n: int | None = None,
    *,
    settings: Sequence[str] = (),
    hadronise: bool = True,
    mpi: bool = True,
    on_event: Callable[[Any], None] | None = None,
) -> ShowerReport:
    """Shower (and hadronise) the events of an LHE file with Pythia 8.

    Arguments:
        path: ``.lhe`` or ``.lhe.gz`` file (Pythia reads gzip directly).
        n: stop after this many events; ``None`` = the whole file.
        settings: extra Pythia settings strings (``"Key = value"``), applied last.
        hadronise, mpi: switch hadronisation / multiparton interactions.
        on_event: called with the ``Pythia`` object after every good event
            (for analysis or HepMC output).

    Returns:
        A :class:`ShowerReport`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such LHE file")
    pythia8mc = import_pythia()
    pythia = pythia8mc.Pythia("", False)
    used = [
        "Beams:frameType = 4",
        f"Beams:LHEF = {path.resolve()}",
        "Print:quiet = on",
        "Next:numberCount = 0",
        f"HadronLevel:all = {'on' if hadronise else 'off'}",
        f"PartonLevel:MPI = {'on' if mpi else 'off'}",
        *settings,
    ]
    for line in used:
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    return run_pythia(pythia, ShowerReport(str(path), n, settings=used), on_event, source=str(path))


def run_pythia(
    pythia: Any, report: ShowerReport, on_event: Callable[[Any], None] | None = None, source: str = "events"
) -> ShowerReport:
    """Initialise a configured ``Pythia``, run up to ``report.n_requested`` events (all when
    ``None``), and fill ``report`` from Pythia's own statistics and message table."""
    n = report.n_requested
    multiplicity = 0
    with captured_stdout() as output:
        ok = bool(pythia.init())
        while ok and (n is None or report.n_showered < n):
            if not pythia.next():
                if pythia.infoPython().atEndOfFile():
                    break
                report.n_failed += 1
                if report.n_failed > 100 + report.n_showered:
                    break
                continue
            report.n_showered += 1
            multiplicity += sum(1 for i in range(pythia.event.size()) if pythia.event[i].isFinal())
            if on_event is not None:
                on_event(pythia)
        if ok:
            pythia.stat()
    if not ok:
        tail = "\n".join(output[-20:])
        raise RuntimeError(f"{source}: Pythia failed to initialise:\n{tail}")
    info = pythia.infoPython()
    report.messages = parse_messages(output)
    report.n_errors = sum(t for m, t in report.messages.items() if not m.startswith("Warning"))
    report.n_warnings = sum(t for m, t in report.messages.items() if m.startswith("Warning"))
    report.sigma_pb = float(info.sigmaGen()) * MB_TO_PB
    report.sigma_err_pb = float(info.sigmaErr()) * MB_TO_PB
    report.mean_final_multiplicity = multiplicity / max(report.n_showered, 1)
    return report
