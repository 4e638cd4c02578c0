"""Merged samples showered as merged samples: the header's MLM / FxFx / CKKW-L read into Pythia."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from mlgen.events import RunInfo
from mlgen.shower import MissingMergingSetting, merging_plan, shower_lhe
from mlgen.shower.merging import AMCATNLO_SHOWER

pytest.importorskip("pythia8mc")
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
MLM = DATA / "pylhe-testfile-madgraph-2.2.1-Z-mlm.lhe.gz"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")

FXFX_HEADER = """<MG5ProcCard>
import model loop_sm-no_b_mass
define p = p b b~
define j = p
generate p p > e+ e- [QCD] @0
add process p p > e+ e- j [QCD] @1
add process p p > e+ e- j j [QCD] @2
output zjets_fxfx
</MG5ProcCard>
<MGRunCard>
  3 = ickkw            ! 0 no merging, 3 FxFx merging, 4 UNLOPS
  1 = jetalgo   ! FastJet jet algorithm (1=kT, 0=C/A, -1=anti-kT)
  1.0 = jetradius ! The radius parameter for the jet algorithm
  10.0 = ptj       ! Min jet transverse momentum
  5 = maxjetflavor
  PYTHIA8 = parton_shower
</MGRunCard>"""


def _info(header: str) -> RunInfo:
    return RunInfo(beam_ids=(2212, 2212), beam_energies=(6500.0, 6500.0), header=header)


def _values(settings: tuple[str, ...]) -> dict[str, str]:
    return dict(tuple(part.strip() for part in s.split("=", 1)) for s in settings)  # type: ignore[misc]


def test_fxfx_header_gives_pythia_fxfx_settings_and_asks_for_the_merging_scale() -> None:
    plan = merging_plan(_info(FXFX_HEADER))
    values = _values(plan.settings)
    assert plan.scheme == "FxFx"
    assert values["JetMatching:doFxFx"] == "on" and values["JetMatching:merge"] == "on"
    assert float(values["JetMatching:qCutME"]) == 10.0  # ptj
    assert float(values["JetMatching:coneRadius"]) == 1.0  # jetradius
    assert values["JetMatching:nQmatch"] == "5"  # maxjetflavor
    assert values["JetMatching:nJetMax"] == "2"  # the largest Born jet multiplicity
    assert set(AMCATNLO_SHOWER) <= set(plan.settings)
    assert [key for key, _ in plan.needs] == ["JetMatching:qCut"]


def test_ckkwl_mg5_header_gives_kt_merging_with_the_core_process() -> None:
    header = FXFX_HEADER.replace("[QCD]", "").replace("3 = ickkw", "0 = ickkw")
    header = header.replace("</MGRunCard>", " 30 = ktdurham\n 0.4 = dparameter\n</MGRunCard>")
    plan = merging_plan(_info(header.replace("PYTHIA8 = parton_shower", "")))
    values = _values(plan.settings)
    assert plan.scheme == "CKKW-L" and plan.needs == ()
    assert values["Merging:doKTMerging"] == "on"
    assert float(values["Merging:TMS"]) == 30.0
    assert float(values["Merging:Dparameter"]) == 0.4
    assert values["Merging:Process"] == "pp>e+e-"
    assert values["Merging:nJetMax"] == "2"


def test_ckkwl_with_a_label_pythia_cannot_name_asks_for_the_process() -> None:
    header = FXFX_HEADER.replace("[QCD]", "").replace("3 = ickkw", "0 = ickkw").replace("e+ e-", "zp")
    header = header.replace("</MGRunCard>", " 30 = ktdurham\n</MGRunCard>").replace(
        "define j = p", "define zp = z h"
    )
    plan = merging_plan(_info(header.replace("PYTHIA8 = parton_shower", "")))
    assert plan.scheme == "CKKW-L"
    assert [key for key, _ in plan.needs] == ["Merging:Process"]


def test_sherpa_ckkw_header_gives_kt_merging() -> None:
    header = "<SHRunCard>\nPROCESSES:\n- 11 -11 -> 93 93 93{1}:\n    CKKW: 5.\n</SHRunCard>"
    values = _values(merging_plan(_info(header)).settings)
    assert values["Merging:TMS"] == "5.0"
    assert values["Merging:Process"] == "e-e+>jj"
    assert values["Merging:nJetMax"] == "1"


@needs_data
def test_real_mlm_file_is_matched_with_its_run_card_values() -> None:
    report = shower_lhe(MLM, 30, hadronise=False, mpi=False)
    values = _values(tuple(s for s in report.settings if s.startswith("JetMatching:")))
    assert report.merging == "MLM"
    assert float(values["JetMatching:qCut"]) == 10.0  # xqcut
    assert values["JetMatching:nQmatch"] == "4"  # maxjetflavor
    assert values["JetMatching:nJetMax"] == "2"  # p p > l+ l- j j
    assert report.n_showered == 30 and report.n_errors == 0
    # the matching vetoed events: more were read than showered, and sigma fell below <init>'s 3750.8 pb
    assert report.n_read > report.n_showered
    assert report.sigma_pb < 0.9 * 3750.836


def _with_np_nlo(text: str) -> str:
    """Each event tagged as aMC@NLO tags FxFx events: npNLO = its number of light partons."""

    def tag(match: re.Match[str]) -> str:
        lines = match.group(1).strip().splitlines()[1:]
        partons = [ln.split() for ln in lines if ln.split() and not ln.lstrip().startswith("<")]
        n = sum(1 for p in partons if p[1] == "1" and (p[0] == "21" or abs(int(p[0])) <= 4))
        return f'<event npLO=" -1 " npNLO=" {n} ">{match.group(1)}</event>'

    return re.sub(r"<event>(.*?)</event>", tag, text, flags=re.S)


def _rewritten(tmp_path: Path, old_new: list[tuple[str, str]], np_nlo: bool = False) -> Path:
    text = gzip.open(MLM, "rt").read()
    for old, new in old_new:
        assert old in text
        text = text.replace(old, new)
    if np_nlo:
        text = _with_np_nlo(text)
    out = tmp_path / "z.lhe"
    out.write_text(text)
    return out


@needs_data
def test_fxfx_file_is_refused_without_a_merging_scale_and_showered_with_one(tmp_path: Path) -> None:
    path = _rewritten(
        tmp_path,
        [
            (" 1        = ickkw", " 3        = ickkw"),
            ("QCD=2 @2", "QCD=2 [QCD] @2"),
            ("QCD=4 @3", "QCD=4 [QCD] @3"),
        ],
        np_nlo=True,
    )
    with pytest.raises(MissingMergingSetting, match="JetMatching:qCut"):
        shower_lhe(path, 5)
    report = shower_lhe(path, 20, settings=["JetMatching:qCut = 20"], hadronise=False, mpi=False)
    assert report.merging == "FxFx"
    assert "JetMatching:doFxFx = on" in report.settings
    assert report.n_showered == 20 and report.n_errors == 0


@needs_data
def test_ckkwl_file_is_merged_by_pythia(tmp_path: Path) -> None:
    path = _rewritten(
        tmp_path, [(" 1        = ickkw", " 0        = ickkw"), (" -1    =  ktdurham", " 15    =  ktdurham")]
    )
    report = shower_lhe(path, 20, hadronise=False, mpi=False)
    assert report.merging == "CKKW-L"
    assert "Merging:Process = pp>LEPTONS" in report.settings
    assert report.n_showered == 20 and report.n_errors == 0


@needs_data
def test_the_users_settings_win_over_the_header(tmp_path: Path) -> None:
    report = shower_lhe(MLM, 10, settings=["JetMatching:merge = off"], hadronise=False, mpi=False)
    assert report.merging == "none"
    assert report.n_read == report.n_showered == 10
