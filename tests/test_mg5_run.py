"""``mlgen run PROC_DIR`` on the real MadGraph5 ``.mad`` directories of ../shared/data/madgraph: their
shipped run cards parsed and translated, unsupported settings refused by name, and a short run whose
events pass the card's cuts, carry MadEvent's banner and shower in Pythia 8."""

from __future__ import annotations

import gzip
import shutil
import tarfile
from pathlib import Path

import pytest
import torch

from mlgen.cards.mg5_run_card import parse_run_card, read_run_card, with_values
from mlgen.cards.mg5_translate import RunCardError, card_tables
from mlgen.mg5_run import EVENTS_NAME, is_process_dir, load_process_dir, next_run_name, run_process_dir

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "madgraph"
if not DATA.is_dir():
    pytest.skip(f"no MadGraph5 process directories at {DATA}", allow_module_level=True)
PROCESSES = ("ee_mumu", "gg_tt", "gg_ttg", "gg_ttgg")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four ``.mad`` archives, unpacked once (read-only use: runs copy what they need)."""
    where = tmp_path_factory.mktemp("mad")
    for name in PROCESSES:
        with tarfile.open(DATA / f"{name}.mad.tar.gz") as tar:
            tar.extractall(where, filter="data")
    return where


def test_shipped_run_cards_parse(unpacked: Path) -> None:
    cards = {name: read_run_card(unpacked / f"{name}.mad" / "Cards" / "run_card.dat") for name in PROCESSES}
    for card in cards.values():
        assert card["nevents"] == 10000 and card["iseed"] == 0 and card["pdlabel"] == "nn23lo1"
        assert card["dynamical_scale_choice"] == -1 and card["use_syst"] in (True, False)
        assert card["systematics_arguments"] == ["--mur=0.5,1,2", "--muf=0.5,1,2", "--pdf=errorset"]
        assert card["mxx_only_part_antipart"] == {"default": False} and card["custom_fcts"] == ""
    assert (cards["gg_ttg"]["ptj"], cards["gg_ttg"]["etaj"], cards["gg_ttg"]["ebeam1"]) == (20.0, 5.0, 6500.0)
    assert "drjj" not in cards["gg_ttg"].values and cards["gg_ttg"]["drjj"] == 0.4  # MG5's default
    assert cards["gg_ttgg"].values["drjj"] == 0.4 and cards["gg_ttgg"].lines["drjj"] > 100
    assert (cards["ee_mumu"]["lpp1"], cards["ee_mumu"]["ebeam2"], cards["ee_mumu"]["ptl"]) == (0, 500.0, 10.0)
    assert "ptj" not in cards["gg_tt"].values


def test_shipped_run_cards_translate(unpacked: Path) -> None:
    runs = {
        name: load_process_dir(unpacked / f"{name}.mad", ["dynamical_scale_choice=3"] * (name[-1] == "g"))
        for name in PROCESSES
    }
    ee, tt, ttg, ttgg = (runs[n].card for n in PROCESSES)
    assert ee.beams.particles == ("e+", "e-") and ee.beams.sqrt_s == 1000.0
    assert [(c.observable, c.objects, c.min, c.max) for c in ee.cuts] == [
        ("pt", "charged_leptons", 10.0, None),
        ("abs_y", "charged_leptons", None, 2.5),
        ("delta_r", "charged_leptons", 0.4, None),
    ]
    assert tt.beams.sqrt_s == 13000.0 and tt.pdf.set == "NNPDF23_lo_as_0130_qed"
    assert (tt.pdf.alphas_loops, tt.pdf.alphas_nf_max) == (2, 5)  # MadEvent's alfas_functions.f
    assert tt.cuts == () and (tt.scales.mu_r, tt.scales.mu_f) == ("mt_half", "mt_half")  # -1 on a 2 -> 2
    assert tt.process.matrix_element == "madgraph" and tt.process.options["path"] == str(runs["gg_tt"].root)
    assert tt.model.param_card == str(runs["gg_tt"].root / "Cards" / "param_card.dat")
    jets = [("pt", "jets", 20.0, None), ("abs_y", "jets", None, 5.0)]
    assert [(c.observable, c.objects, c.min, c.max) for c in ttg.cuts] == jets
    assert [(c.observable, c.objects, c.min, c.max) for c in ttgg.cuts] == [
        *jets,
        ("delta_r", "jets", 0.4, None),
    ]
    assert ttg.scales.mu_r == "mt_half" and "3 = dynamical_scale_choice" in runs["gg_ttg"].run_card.text
    assert (ttg.events.n, ttg.run.seed, ttg.integrator.kind) == (10000, 1, "vegas")
    assert runs["gg_ttg"].run_name == "run_01" and ttg.run.output_dir == str(
        runs["gg_ttg"].root / "Events/run_01"
    )
    # MadEvent's default -1 (a CKKW clustering scale) has no closed form beyond 2 -> 2: refused, by name
    with pytest.raises(RunCardError, match=r"run_card.dat:62: dynamical_scale_choice = -1 is not supported"):
        load_process_dir(unpacked / "gg_ttg.mad")
    # dotted overrides go to the mlgen card, after the translation
    run = load_process_dir(unpacked / "gg_tt.mad", ["integrator.kind=flow", "events.n=7", "iseed=42"])
    assert (run.card.integrator.kind, run.card.events.n, run.card.run.seed) == ("flow", 7, 42)


def _tables(card_text: str, pdg=(21, 21, 6, -6, 21), masses=(0.0, 0.0, 173.0, 173.0, 0.0)):
    return card_tables(
        parse_run_card(card_text), process="g g > t t~ g", pdg=pdg, masses=masses, proc_dir=Path("/p")
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("30 = xqcut", "run_card.dat:2: xqcut = 30 is not supported by mlgen (only its default 0.0)"),
        ("1 = ickkw", "ickkw = 1 is not supported by mlgen (only its default 0)"),
        ("{6: 100} = pt_min_pdg", "pt_min_pdg = {6: 100} is not supported by mlgen"),
        ("3 = no_such_setting", "no_such_setting = 3 is not a setting mlgen knows"),
        ("lhapdf = pdlabel\n 99999 = lhaid", "lhaid = 99999 is not supported by mlgen (only the id of a set"),
        ("cteq6l1 = pdlabel", "pdlabel = cteq6l1 is not supported"),
        ("7000 = ebeam2", "ebeam2 = 7000 is not supported by mlgen (only ebeam1 = 6500"),
        ("3 = lpp1", "lpp1 = 3 is not supported"),
        ("0 = dynamical_scale_choice", "dynamical_scale_choice = 0 is not supported"),
        ("0.4 = drjl\n 10 = ptl", None),  # no leptons here: a lepton cut does nothing, as in MadEvent
        ("average = event_norm\n sum = event_norm", "event_norm = sum is not supported"),
    ],
)
def test_unsupported_settings_are_refused_by_name(setting: str, message: str | None) -> None:
    text = f" 3 = dynamical_scale_choice\n {setting}\n"
    if message is None:
        assert _tables(text)["cuts"][0] == {"observable": "pt", "objects": "jets", "min": 20.0}
        return
    with pytest.raises(RunCardError) as err:
        _tables(text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_scales_and_cuts_mapping() -> None:
    tables = _tables(" True = fixed_ren_scale\n True = fixed_fac_scale\n 200 = scale\n 100 = dsqrt_q2fact1\n"
                     " 100 = dsqrt_q2fact2\n False = use_syst\n")  # fmt: skip
    assert tables["scales"] == {
        "variations": False, "mu_r": "fixed", "mu_f": "fixed", "value": 200.0, "factor_r": 1.0,
        "factor_f": 0.5,
    }  # fmt: skip
    for choice, name in ((1, "et"), (2, "mt_sum"), (3, "mt_half"), (4, "sqrt_shat")):
        scales = _tables(f" {choice} = dynamical_scale_choice\n 2.0 = scalefact\n True = fixed_ren_scale\n")[
            "scales"
        ]
        assert (scales["mu_r"], scales["mu_f"], scales["factor_f"], scales["value"]) == (
            "fixed",
            name,
            2.0,
            91.188,
        )
    with pytest.raises(RunCardError, match="dsqrt_q2fact2 = 50.0 is not supported"):
        _tables(" True = fixed_fac_scale\n 50.0 = dsqrt_q2fact2\n 3 = dynamical_scale_choice\n")
    cuts = _tables(
        " 3 = dynamical_scale_choice\n 0 = ptj\n -1 = etaj\n 40 = xptj\n 300 = mmjj\n 1000 = ihtmax\n"
        " 400 = dsqrt_shat\n",
        pdg=(21, 21, 6, -6, 21, 21),
        masses=(0.0,) * 2 + (173.0,) * 2 + (0.0,) * 2,
    )
    assert cuts["cuts"] == [
        {"observable": "pt_leading", "objects": "jets", "min": 40.0},
        {"observable": "delta_r", "objects": "jets", "min": 0.4},
        {"observable": "m_pair", "objects": "jets", "min": 300.0},
        {"observable": "ht", "objects": "jets", "max": 1000.0},
        {"observable": "m", "objects": "all", "min": 400.0},
    ]  # fmt: skip


def test_with_values_rewrites_in_place_and_bad_lines_name_the_line() -> None:
    card = parse_run_card("# a comment\n  10000 = nevents ! Number of events\n")
    new = with_values(card, {"nevents": 50, "iseed": 3})
    assert new.text.splitlines()[1] == "  50 = nevents ! Number of events" and new["iseed"] == 3
    with pytest.raises(ValueError, match=r"run_card.dat:2: expected 'value = name"):
        parse_run_card("1 = nevents\nnot a setting\n")


@pytest.mark.slow
def test_short_run_passes_the_cuts_and_pythia_takes_the_banner(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """gg -> t t~ g from its archive with the card's jet cuts (ptj = 20, etaj = 5), 300 events."""
    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("g++ and make are needed to build the MG5 process library")
    archive = DATA / "gg_ttg.mad.tar.gz"
    assert is_process_dir(archive) and not is_process_dir(tmp_path)
    cache = tmp_path_factory.getbasetemp() / "mlgen-mg5-cache"
    overrides = [
        "dynamical_scale_choice=3",
        "nevents=300",
        f"process.options.cache={str(cache)!r}",
        "integrator.n_adapt_iter=3",
        "integrator.n_per_iter=4000",
        "integrator.n_iter=2",
        "run.plots=false",
        "scales.variations=false",
    ]
    result = run_process_dir(archive, overrides, workdir=tmp_path, progress=False, log=None)
    root = tmp_path / "gg_ttg.mad"
    events_file = root / "Events" / "run_01" / EVENTS_NAME
    assert result["run_name"] == "run_01" and result["events_file"] == str(events_file)
    assert next_run_name(root) == "run_02" and result["n_events"] == 300 and result["sigma_pb"] > 0
    from mlgen.lhe import read_lhe

    _, events = read_lhe(events_file)
    assert events is not None and len(events) == 300
    gluon = events.momenta[:, 4]  # g g > t t~ g: the outgoing gluon is the only jet
    assert torch.all(events.pdg[:, 4] == 21)
    pt = torch.hypot(gluon[:, 1], gluon[:, 2])
    y = 0.5 * torch.log((gluon[:, 0] + gluon[:, 3]) / (gluon[:, 0] - gluon[:, 3]))
    assert float(pt.min()) >= 20.0 and float(y.abs().max()) <= 5.0
    assert float(pt.min()) < 30.0  # the cut is where the cross section is: events sit near it
    # helicities as MadEvent writes them (SPINUP): the code's choice, one of its combinations per event
    assert events.spin is not None
    assert set(events.spin.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(row) for row in events.spin.tolist()}) >= 8
    with gzip.open(events_file, "rt") as handle:
        header = handle.read().split("</header>")[0]
    for block in ("<MGVersion>\n3.7.1", "<MG5ProcCard>", "generate g g > t t~ g", "<MGRunCard>", "<slha>"):
        assert block in header
    assert "3 = dynamical_scale_choice" in header and "300 = nevents" in header
    assert (root / "Events" / "run_01" / "run_01_tag_1_banner.txt").is_file()
    pytest.importorskip("pythia8mc")
    from mlgen.shower import shower_lhe

    report = shower_lhe(events_file, 3, hadronise=False, mpi=False)
    assert report.n_showered == 3 and report.n_errors == 0
