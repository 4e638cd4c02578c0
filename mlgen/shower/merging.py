"""Pythia 8 matching / merging settings read from an LHE file's header.

A merged sample (several jet multiplicities in one file) showered without its
matching or merging double-counts jets. The header says how the sample was
made; this module turns that into Pythia 8.3 settings:

- MadGraph5 MLM (run card ``ickkw = 1``): Pythia's MadGraph-style MLM matching,
  ``JetMatching:*`` with ``qCut = xqcut``, ``nQmatch = maxjetflavor``,
  ``clFact = alpsfact`` (the values ``JetMatching:setMad`` would read, set
  explicitly so that a user's setting still wins) and ``nJetMax`` the largest
  jet multiplicity of the process card.
- MadGraph5_aMC@NLO FxFx (``ickkw = 3``): the same matching with
  ``JetMatching:doFxFx = on``, ``qCutME = ptj``, ``coneRadius = jetradius``,
  ``nJetMax`` the largest Born jet multiplicity, plus the aMC@NLO shower
  settings. FxFx's merging scale ``JetMatching:qCut`` is a shower-time choice
  that the header does not carry: it must be given (:attr:`MergingPlan.needs`).
- CKKW-L: an MG5 run card with ``ktdurham > 0`` (``Merging:doKTMerging``,
  ``Merging:TMS = ktdurham``, ``Merging:Dparameter = dparameter``) or
  ``ptlund > 0`` (``Merging:doPTLundMerging``), a Sherpa run card's
  ``CKKW: Q_cut`` (k_T merging at ``Merging:TMS = Q_cut``), with
  ``Merging:Process`` and ``Merging:nJetMax`` from the process definitions.
- ``Merging:*`` / ``JetMatching:*`` settings written in the header (a Pythia
  header) are taken as they are.
- An aMC@NLO (MC@NLO) sample made for Pythia 8 gets the aMC@NLO shower settings.

What the header does not give is listed in :attr:`MergingPlan.needs` as
``(setting, why)``; the caller refuses to shower unless the user supplied it.

References: MLM arXiv:0706.2569, FxFx arXiv:1209.6215, CKKW-L arXiv:1109.4829,
Pythia 8.3 manual pages "MLM jet merging", "CKKW-L merging", "aMC@NLO matching".
"""

from __future__ import annotations

__all__ = ["AMCATNLO_SHOWER", "MergingPlan", "merging_plan"]

import re
from dataclasses import dataclass, field

from mlgen.events import RunInfo

# Pythia 8.3 manual "aMC@NLO matching" (minimal set) and the global-recoil strategy that
# MG5_aMC's own Pythia 8 interface writes.
AMCATNLO_SHOWER: tuple[str, ...] = (
    "SpaceShower:pTmaxMatch = 1",
    "SpaceShower:pTmaxFudge = 1",
    "SpaceShower:MEcorrections = off",
    "TimeShower:pTmaxMatch = 1",
    "TimeShower:pTmaxFudge = 1",
    "TimeShower:MEcorrections = off",
    "TimeShower:globalRecoil = on",
    "TimeShower:limitPTmaxGlobal = on",
    "TimeShower:nMaxGlobalRecoil = 1",
    "TimeShower:globalRecoilMode = 2",
    "TimeShower:nMaxGlobalBranch = 1",
    "TimeShower:weightGluonToQuark = 1",
)


@dataclass(frozen=True)
class MergingPlan:
    """How a sample is to be showered.

    Attributes:
        scheme: ``"none"``, ``"MLM"``, ``"FxFx"``, ``"CKKW-L"`` or ``"MC@NLO"``.
        settings: Pythia settings read from the header, in order.
        needs: ``(setting, why)`` for each setting the scheme needs and the header does not give.
        source: where in the header the scheme was read (for messages).
    """

    scheme: str = "none"
    settings: tuple[str, ...] = ()
    needs: tuple[tuple[str, str], ...] = ()
    source: str = ""
    notes: tuple[str, ...] = field(default=())


_BLOCK = r"<{0}>(.*?)</{0}>"
_SETTING = re.compile(r"^\s*((?:Merging|JetMatching):\w+)\s*=\s*([^\s!#]+)", re.M)
_LEPTONS = {"e+", "e-", "mu+", "mu-", "ta+", "ta-"}
_NEUTRINOS = {"ve", "ve~", "vm", "vm~", "vt", "vt~"}
_QUARKS = ["d", "u", "s", "c", "b"]
# MG5's built-in multiparticle labels, used where the process card does not define them.
_MG_LABELS = {
    "p": {"g", "u", "c", "d", "s", "u~", "c~", "d~", "s~"},
    "j": {"g", "u", "c", "d", "s", "u~", "c~", "d~", "s~"},
    "l+": {"e+", "mu+"},
    "l-": {"e-", "mu-"},
    "vl": {"ve", "vm", "vt"},
    "vl~": {"ve~", "vm~", "vt~"},
}
_PDG_NAMES = {
    11: "e-", -11: "e+", 12: "ve", -12: "ve~", 13: "mu-", -13: "mu+", 14: "vm", -14: "vm~",
    15: "ta-", -15: "ta+", 16: "vt", -16: "vt~", 22: "a", 23: "z", 24: "w+", -24: "w-", 25: "h",
    6: "t", -6: "t~", 5: "b", -5: "b~", 90: "LEPTONS", 91: "NEUTRINOS",
}  # fmt: skip


def _block(header: str, name: str) -> str | None:
    found = re.search(_BLOCK.format(name), header, re.S)
    return found.group(1) if found else None


def _mg_run_card(block: str) -> dict[str, str]:
    """MG5 run card lines ``value = name ! comment`` as ``{name: value}``."""
    out: dict[str, str] = {}
    for line in block.splitlines():
        line = line.split("!")[0]
        if line.lstrip().startswith("#") or "=" not in line:
            continue
        value, name = line.split("=", 1)
        if name.split() and value.strip():
            out[name.split()[0].lower()] = value.strip()
    return out


def _number(card: dict[str, str], name: str) -> float | None:
    try:
        return float(card[name].replace("d", "e").replace("D", "e"))
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class _Process:
    """One MG5 ``generate`` / ``add process`` line: incoming and final-state labels."""

    incoming: tuple[str, ...]
    final: tuple[str, ...]
    nlo: bool


def _mg_processes(header: str) -> tuple[list[_Process], dict[str, set[str]]]:
    card = _block(header, "MG5ProcCard") or _block(header, "MGProcCard") or ""
    labels = {k: set(v) for k, v in _MG_LABELS.items()}
    processes = []
    for raw in card.splitlines():
        line = raw.split("#")[0].strip()
        words = line.split()
        if len(words) > 2 and words[0] == "define" and words[2] == "=":
            # a label may be defined from earlier labels (define j = p)
            labels[words[1]] = set().union(*(labels.get(w, {w}) for w in words[3:]))
            continue
        if line.startswith("generate "):
            body = line[len("generate ") :]
        elif line.startswith("add process "):
            body = line[len("add process ") :]
        else:
            continue
        nlo = "[" in body
        # drop [QCD], @tags and coupling orders (QED=2, QCD^2<=4): what is left is particles
        body = re.sub(r"\[.*?\]|@\s*\S+|\b\w+(?:\^2)?\s*(?:<=|>=|==|=|<|>)\s*-?\d+", " ", body)
        body = body.split(",")[0]
        if ">" not in body:
            continue
        left, right = body.split(">", 1)
        # '/' and '$' exclude particles from propagators: what follows them is not a final state
        right = re.split(r"[/$]", right)[0]
        processes.append(_Process(tuple(left.split()), tuple(right.split()), nlo))
    return processes, labels


def _is_jet(label: str, labels: dict[str, set[str]], nq: int) -> bool:
    partons = {"g"} | {q + bar for q in _QUARKS[:nq] for bar in ("", "~")}
    members = labels.get(label, {label})
    return label != "p" and members <= partons


def _jets(process: _Process, labels: dict[str, set[str]], nq: int) -> int:
    return sum(_is_jet(x, labels, nq) for x in process.final)


def _pythia_process(incoming: list[str], final: list[str]) -> str | None:
    """Pythia's ``Merging:Process`` string, or ``None`` when the names cannot be written in it."""
    if any(x.startswith("{") for x in final):
        return None
    containers = [x for x in final if x in ("LEPTONS", "NEUTRINOS")]
    if containers and len(containers) != len(final):
        return None
    rhs = ",".join(dict.fromkeys(containers)) if containers else "".join(final)
    return "".join(incoming) + ">" + rhs


def _mg_core(header: str, nq: int) -> tuple[str | None, int | None, str]:
    """``(Merging:Process, nJetMax, why not)`` from the MG5 process card."""
    processes, labels = _mg_processes(header)
    if not processes:
        return None, None, "no generate / add process lines in the header's process card"
    counts = [_jets(p, labels, nq) for p in processes]
    core = processes[counts.index(min(counts))]
    final: list[str] = []
    for label in core.final:
        if _is_jet(label, labels, nq):
            continue
        members = labels.get(label, {label})
        if len(members) > 1 and members <= _LEPTONS:
            final.append("LEPTONS")
        elif len(members) > 1 and members <= _NEUTRINOS:
            final.append("NEUTRINOS")
        elif len(members) == 1:
            final.append(next(iter(members)))
        else:
            return None, max(counts) - min(counts), f"label {label!r} = {sorted(members)}"
    incoming = ["p" if x in ("p", "j") else x for x in core.incoming]
    process = _pythia_process(incoming, final)
    return process, max(counts) - min(counts), "" if process else f"final state {core.final}"


def _max_born_jets(header: str, nq: int, nlo_only: bool) -> int | None:
    processes, labels = _mg_processes(header)
    counts = [_jets(p, labels, nq) for p in processes if p.nlo or not nlo_only]
    return max(counts) if counts else None


#: what MLM and FxFx share: Pythia's MadGraph-style matching (kT jets), with mlgen's values written
#: explicitly rather than taken from the header by setMad (so that a user's --set wins)
_JET_MATCHING = (
    "JetMatching:merge = on",
    "JetMatching:scheme = 1",
    "JetMatching:setMad = off",
    "JetMatching:jetAlgorithm = 2",
    "JetMatching:slowJetPower = 1",
)


def _madgraph(card: dict[str, str], header: str) -> MergingPlan:
    ickkw = int(_number(card, "ickkw") or 0)
    nq = int(_number(card, "maxjetflavor") or 5)
    src = f"MG5 run card (ickkw = {ickkw})"
    if ickkw == 1:
        n_jet_max = _max_born_jets(header, nq, nlo_only=False)
        settings = [
            *_JET_MATCHING,
            "JetMatching:coneRadius = 1.0",
            f"JetMatching:etaJetMax = {_eta_max(card)}",
            f"JetMatching:nQmatch = {nq}",
            f"JetMatching:clFact = {_number(card, 'alpsfact') or 1.0}",
        ]
        needs = []
        xqcut = _number(card, "xqcut")
        if xqcut and xqcut > 0:
            settings.append(f"JetMatching:qCut = {xqcut}")
        else:
            needs.append(("JetMatching:qCut", "the run card has no xqcut > 0"))
        if n_jet_max is not None:
            settings.append(f"JetMatching:nJetMax = {n_jet_max}")
        else:
            needs.append(("JetMatching:nJetMax", "the header has no process card"))
        return MergingPlan("MLM", tuple(settings), tuple(needs), src)
    if ickkw == 3:
        n_jet_max = _max_born_jets(header, nq, nlo_only=True)
        settings = [
            *AMCATNLO_SHOWER,
            *_JET_MATCHING,
            f"JetMatching:coneRadius = {_number(card, 'jetradius') or 1.0}",
            "JetMatching:etaJetMax = 1000",
            "JetMatching:doFxFx = on",
            f"JetMatching:nQmatch = {nq}",
        ]
        needs = [("JetMatching:qCut", "FxFx's merging scale is chosen at shower time (above ptj)")]
        ptj = _number(card, "ptj")
        if ptj is not None:
            settings.append(f"JetMatching:qCutME = {ptj}")
        else:
            needs.append(("JetMatching:qCutME", "the run card has no ptj"))
        if n_jet_max is not None:
            settings.append(f"JetMatching:nJetMax = {n_jet_max}")
        else:
            needs.append(("JetMatching:nJetMax", "the header has no process card"))
        return MergingPlan("FxFx", tuple(settings), tuple(needs), src)
    ktdurham, ptlund = _number(card, "ktdurham") or -1.0, _number(card, "ptlund") or -1.0
    if ickkw == 0 and (ktdurham > 0 or ptlund > 0):
        kind = f"ktdurham = {ktdurham}" if ktdurham > 0 else f"ptlund = {ptlund}"
        settings = (
            ["Merging:doKTMerging = on", f"Merging:TMS = {ktdurham}"]
            + [f"Merging:Dparameter = {_number(card, 'dparameter') or 0.4}"]
            if ktdurham > 0
            else ["Merging:doPTLundMerging = on", f"Merging:TMS = {ptlund}"]
        )
        settings.append(f"Merging:nQuarksMerge = {nq}")
        return _ckkwl(settings, *_mg_core(header, nq), f"MG5 run card (ickkw = 0, {kind})")
    if ickkw != 0:
        return MergingPlan(
            "unknown", (), (("JetMatching:merge", f"ickkw = {ickkw} has no Pythia 8 counterpart"),), src
        )
    shower = card.get("parton_shower", "").upper()
    if shower:  # only NLO run cards have it: an MC@NLO sample
        if shower != "PYTHIA8":
            note = f"MC@NLO sample made for {shower}, showered with Pythia 8: not NLO-matched"
            return MergingPlan("none", (), (), src, (note,))
        return MergingPlan("MC@NLO", AMCATNLO_SHOWER, (), "MG5_aMC run card (parton_shower = PYTHIA8)")
    return MergingPlan()


def _eta_max(card: dict[str, str]) -> float:
    etaj = _number(card, "etaj")
    return etaj if etaj is not None and etaj > 0 else 1000.0


def _ckkwl(settings: list[str], process: str | None, n_jet: int | None, why: str, src: str) -> MergingPlan:
    needs = []
    if process is None:
        needs.append(("Merging:Process", f"the core process could not be read ({why})"))
    else:
        settings.append(f"Merging:Process = {process}")
    if n_jet is None:
        needs.append(("Merging:nJetMax", "no jet multiplicities in the header"))
    else:
        settings.append(f"Merging:nJetMax = {n_jet}")
    return MergingPlan("CKKW-L", tuple(settings), tuple(needs), src)


def _sherpa(card: str) -> MergingPlan | None:
    ckkw = re.findall(r"^\s*CKKW\s*:\s*(\S+)", card, re.M)
    if not ckkw:
        return None
    src = "Sherpa run card (CKKW)"
    processes = re.findall(r"^\s*-\s*([-\d\s{}]+?)\s*->\s*([-\d\s{}]+?)\s*:", card, re.M)
    settings = ["Merging:doKTMerging = on"]
    try:
        settings.append(f"Merging:TMS = {float(ckkw[0])}")
    except ValueError:
        return MergingPlan("CKKW-L", (), (("Merging:TMS", f"Sherpa's CKKW: {ckkw[0]} is not in GeV"),), src)
    if len(processes) != 1:
        return _ckkwl(settings, None, None, f"{len(processes)} Sherpa processes", src)
    left, right = processes[0]
    incoming = ["p" if abs(int(x)) in (93, 2212) else _PDG_NAMES.get(int(x), "?") for x in left.split()]
    final, core_jets, extra = [], 0, 0
    for token in right.split():
        pid, _, rest = token.partition("{")
        if int(pid) == 93:
            extra += int(rest.rstrip("}")) if rest else 0
            core_jets += 0 if rest else 1
        else:
            final.append(_PDG_NAMES.get(int(pid), "{?}"))
    final += ["j"] * core_jets
    process = None if "?" in incoming else _pythia_process(incoming, final)
    return _ckkwl(settings, process, extra, f"process {left} -> {right}", src)


def merging_plan(run_info: RunInfo) -> MergingPlan:
    """Read the matching / merging a sample needs from its LHE header.

    Arguments:
        run_info: the file's run information (its ``header`` text is read).

    Returns:
        A :class:`MergingPlan`; ``scheme == "none"`` with no settings for an unmerged sample.
    """
    header = run_info.header
    written = [f"{k} = {v}" for k, v in _SETTING.findall(header)]
    if written:
        scheme = "MLM" if any(s.startswith("JetMatching:") for s in written) else "CKKW-L"
        return MergingPlan(scheme, tuple(written), (), "Pythia settings in the header")
    mg = _block(header, "MGRunCard")
    if mg is not None:
        return _madgraph(_mg_run_card(mg), header)
    sherpa = _block(header, "SHRunCard")
    if sherpa is not None:
        return _sherpa(sherpa) or MergingPlan()
    return MergingPlan()
