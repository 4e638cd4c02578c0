"""Shower LHE files with Pythia 8 (the ``pythia8mc`` wheel), as the sample was made to be, and report."""

from __future__ import annotations

__all__ = [
    "END_OF_FILE",
    "MB_TO_PB",
    "MissingMergingSetting",
    "ShowerReport",
    "apply_user_settings",
    "captured_stdout",
    "import_pythia",
    "lhe_run_info",
    "parse_messages",
    "run_pythia",
    "scheme_in_use",
    "shower_lhe",
    "user_setting_keys",
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

from mlgen.events import EventBatch, RunInfo
from mlgen.lhe import LHEWriter, iter_lhe, read_lhe
from mlgen.measured import format_measured
from mlgen.shower.colour import assign_unique_colour_flow, lacks_colour_flow
from mlgen.shower.merging import MergingPlan, merging_plan

MB_TO_PB = 1.0e9
END_OF_FILE = "Abort from Pythia::next: reached end of Les Houches Events File"


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
            converted from mb to pb) and its error (0 where none is known: printed in words).
        mean_final_multiplicity: average number of final-state particles.
        settings: the Pythia settings used.
        merging: the matching or merging Pythia ran: ``"none"``, ``"MLM"``, ``"FxFx"``,
            ``"CKKW-L"`` or ``"MC@NLO"`` (read from the header, or as the user set it).
        n_read: events Pythia read from the file (more than ``n_showered`` where matching
            or merging vetoed some).
        reached_end_of_file: the run ended at the end of the file.
        notes: what the header said that Pythia cannot honour.
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
    merging: str = "none"
    n_read: int = 0
    reached_end_of_file: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        merged = "" if self.merging == "none" else f" with {self.merging} ({self.n_read} read)"
        notes = "".join(f"\nnote: {note}" for note in self.notes)
        return (
            f"Pythia 8 showered {self.n_showered} events from {self.path}{merged} "
            f"({self.n_failed} failed, {self.n_errors} errors, {self.n_warnings} warnings); "
            f"sigma seen by Pythia = {format_measured(self.sigma_pb, self.sigma_err_pb or None, 'pb')}; "
            f"<final-state multiplicity> = {self.mean_final_multiplicity:.1f}{notes}"
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
    pythia_card: str | Path | None = None,
    hadronise: bool = True,
    mpi: bool = True,
    on_event: Callable[[Any], None] | None = None,
) -> ShowerReport:
    """Shower (and hadronise) the events of an LHE file with Pythia 8.

    The matching or merging the sample was made for (MLM, FxFx, CKKW-L, MC@NLO)
    is read from its header (:func:`mlgen.shower.merging.merging_plan`) and set in
    Pythia; the user's card and settings come after it and win.

    Arguments:
        path: ``.lhe`` or ``.lhe.gz`` file (Pythia reads gzip directly).
        n: stop after this many showered events; ``None`` = the whole file.
        settings: extra Pythia settings strings (``"Key = value"``), applied last.
        pythia_card: a Pythia ``.cmnd`` file, read after the header's settings and before
            ``settings``.
        hadronise, mpi: switch hadronisation / multiparton interactions.
        on_event: called with the ``Pythia`` object after every good event
            (for analysis or HepMC output).

    Returns:
        A :class:`ShowerReport`.

    Raises:
        MissingMergingSetting: the header asks for matching or merging and does not give a
            value it needs, and neither do ``pythia_card`` nor ``settings``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such LHE file")
    run_info, first = _first_event(path)
    _check_showerable(path, run_info)
    with tempfile.TemporaryDirectory(prefix="mlgen-shower-") as scratch:
        notes: list[str] = []
        events_file = path
        if first is not None and lacks_colour_flow(first):
            events_file = _with_colour_flow(path, Path(scratch) / "coloured.lhe")
            notes.append("the file gives no colour flow; its unique one (q qbar, q qbar g) was assigned")
        return _shower_file(
            path, events_file, run_info, n, settings, pythia_card, hadronise, mpi, on_event, notes
        )


def _shower_file(
    path: Path,
    events_file: Path,
    run_info: RunInfo,
    n: int | None,
    settings: Sequence[str],
    pythia_card: str | Path | None,
    hadronise: bool,
    mpi: bool,
    on_event: Callable[[Any], None] | None,
    notes: list[str],
) -> ShowerReport:
    plan = merging_plan(run_info)
    pythia8mc = import_pythia()
    pythia = pythia8mc.Pythia("", False)
    used = [
        "Beams:frameType = 4",
        f"Beams:LHEF = {events_file.resolve()}",
        "Print:quiet = on",
        "Next:numberCount = 0",
        f"HadronLevel:all = {'on' if hadronise else 'off'}",
        f"PartonLevel:MPI = {'on' if mpi else 'off'}",
        *plan.settings,
    ]
    for line in used:
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    used += apply_user_settings(pythia, pythia_card, settings)
    scheme = scheme_in_use(pythia, plan)
    if scheme == plan.scheme:
        given = user_setting_keys(pythia_card, settings)
        for key, why in plan.needs:
            if key.lower() not in given:
                raise MissingMergingSetting(path, plan, key, why)
    # the matching veto is a UserHook that Pythia does not load by itself
    hook = pythia8mc.JetMatchingMadgraph() if pythia.settings.flag("JetMatching:merge") else None
    if hook is not None:
        pythia.setUserHooksPtr(hook)
    report = ShowerReport(str(path), n, settings=used, merging=scheme, notes=[*plan.notes, *notes])
    run_pythia(pythia, report, on_event, source=str(path))
    with captured_stdout() as farewell:  # the matching hook prints its message table when freed
        del pythia, hook
    _count_messages(report, parse_messages(farewell))
    if scheme == "FxFx" and report.n_read > 0 and report.n_showered == 0:
        report.notes.append("FxFx vetoed every event: FxFx needs each event's npNLO attribute")
    return report


def _with_colour_flow(path: Path, out: Path) -> Path:
    """A copy of ``path`` with the colour flow its events lack (:mod:`mlgen.shower.colour`)."""
    info, events = read_lhe(path)
    assert events is not None
    try:
        coloured = assign_unique_colour_flow(events)
    except ValueError as err:
        raise ValueError(f"{path}: {err}: Pythia cannot shower it") from err
    with LHEWriter(out, info) as writer:
        writer.write(coloured)
    return out


def _first_event(path: Path) -> tuple[RunInfo, EventBatch | None]:
    for info, batch in iter_lhe(path, batch_size=1):
        return info, batch
    return read_lhe(path)[0], None


def _check_showerable(path: Path, info: RunInfo) -> None:
    """Refuse, before Pythia starts, a file Pythia cannot shower."""
    if abs(info.weight_strategy) not in (1, 2, 3, 4):
        raise ValueError(
            f"{path}: <init> IDWTUP = {info.weight_strategy} is not a Les Houches weighting strategy "
            "(expected +-1, +-2, +-3 or +-4): Pythia cannot shower this file"
        )


class MissingMergingSetting(ValueError):
    """A merged sample whose header lacks a value its matching or merging needs."""

    def __init__(self, path: Path, plan: MergingPlan, setting: str, why: str) -> None:
        super().__init__(
            f"{path}: {plan.scheme}-merged sample ({plan.source}) needs the Pythia setting "
            f"{setting}, which its header does not give: {why}"
        )
        self.setting = setting


def lhe_run_info(path: str | Path) -> RunInfo:
    """The run information (header, ``<init>``, weight names) of an LHE file."""
    return _first_event(Path(path))[0]


def apply_user_settings(pythia: Any, card: str | Path | None, settings: Sequence[str]) -> list[str]:
    """Read a Pythia card, then settings strings, into ``pythia``; return what was applied."""
    used = []
    if card is not None:
        if not Path(card).is_file():
            raise FileNotFoundError(f"{card}: no such Pythia card")
        if not pythia.readFile(str(card)):
            raise ValueError(f"{card}: Pythia rejected a line of this card")
        used.append(f"readFile {card}")
    for line in settings:
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
        used.append(line)
    return used


def user_setting_keys(card: str | Path | None, settings: Sequence[str]) -> set[str]:
    """The setting names (lower case) a card and settings strings give."""
    lines = list(settings) + (Path(card).read_text().splitlines() if card is not None else [])
    return {m.group(1).lower() for m in map(_KEY.match, lines) if m}


_KEY = re.compile(r"\s*([A-Za-z][\w:]*:\w+)\s*(?:=|\s)")
_CKKWL_SWITCHES = ("doKTMerging", "doPTLundMerging", "doCutBasedMerging", "doUserMerging", "doMGMerging")


def scheme_in_use(pythia: Any, plan: MergingPlan) -> str:
    """The matching / merging a configured ``Pythia`` will run (its flags, not the header's wish)."""
    flag = pythia.settings.flag
    if flag("JetMatching:merge"):
        return "FxFx" if flag("JetMatching:doFxFx") else "MLM"
    if any(flag(f"Merging:{switch}") for switch in _CKKWL_SWITCHES):
        return "CKKW-L"
    return "MC@NLO" if plan.scheme == "MC@NLO" else "none"


def _count_messages(report: ShowerReport, messages: dict[str, int]) -> None:
    """Add ``messages`` to the report's table and recount its errors and warnings."""
    for message, times in messages.items():
        report.messages[message] = report.messages.get(message, 0) + times
    counted = {
        m: t for m, t in report.messages.items() if not (report.reached_end_of_file and m == END_OF_FILE)
    }
    report.n_errors = sum(t for m, t in counted.items() if not m.startswith("Warning"))
    report.n_warnings = sum(t for m, t in counted.items() if m.startswith("Warning"))


def run_pythia(
    pythia: Any, report: ShowerReport, on_event: Callable[[Any], None] | None = None, source: str = "events"
) -> ShowerReport:
    """Initialise a configured ``Pythia``, run up to ``report.n_requested`` events (all when
    ``None``), and fill ``report`` from Pythia's own statistics and message table.

    Pythia's end of the event file is the normal end of a run, not an error: its abort
    message is kept in ``report.messages`` but not counted in ``report.n_errors``."""
    n = report.n_requested
    multiplicity = 0
    with captured_stdout() as output:
        ok = bool(pythia.init())
        while ok and (n is None or report.n_showered < n):
            if not pythia.next():
                if pythia.infoPython().atEndOfFile():
                    report.reached_end_of_file = True
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
    _count_messages(report, parse_messages(output))
    report.n_read = int(info.nTried())
    report.sigma_pb = float(info.sigmaGen()) * MB_TO_PB
    report.sigma_err_pb = float(info.sigmaErr()) * MB_TO_PB
    report.mean_final_multiplicity = multiplicity / max(report.n_showered, 1)
    return report
