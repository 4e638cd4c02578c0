"""A MadGraph5 run card (:mod:`mlgen.cards.mg5_run_card`) as the tables of an mlgen card.

What is translated (each setting from the card, or MG5's default where the card has none):

* beams: ``lpp1``/``lpp2`` (``1`` proton, ``-1`` antiproton, ``0`` the process's own lepton),
  ``ebeam1 = ebeam2`` (``sqrt_s`` is their sum);
* PDF: ``pdlabel`` ``nn23lo1``, ``nn23lo``, ``nn23nlo`` (the NNPDF 2.3 sets pythia8mc ships; alpha_s
  run at 2 loops, as MadEvent's ``Source/PDF/pdfwrap.f`` runs them), or
  ``lhapdf`` with an ``lhaid`` of those sets or of a set on ``LHAPDF_DATA_PATH``;
* scales: ``fixed_ren_scale``/``scale``, ``fixed_fac_scale``/``dsqrt_q2fact1,2`` (equal),
  ``scalefact`` on the dynamical scales, ``dynamical_scale_choice``: ``1`` -> ``et`` (sum of
  ``E_T``), ``2`` -> ``mt_sum``, ``3`` -> ``mt_half``, ``4`` -> ``sqrt_shat``, and ``-1`` (MadEvent's
  CKKW-like clustering to a 2 -> 2 core, then its transverse mass) -> ``mt_half`` for a 2 -> 2 process
  with equal final-state masses, where nothing is clustered and the core's ``m_T`` is each particle's
  ``m_T``, i.e. half their sum; for more final-state particles it is refused (the clustering scale
  depends on the diagram and has no closed form here), with ``3`` named as the nearest;
  ``use_syst`` -> the nine scale-variation weights;
* cuts, on the classes jets (``j``), b quarks (``b``), photons (``a``), charged leptons (``l``):
  ``ptX``/``ptXmax``, ``etaX``/``etaXmin`` (MG5's ``rap``: rapidity), ``drXX``/``drXXmax``,
  ``mmXX``/``mmXXmax`` (every pair), ``xptX`` (the leading object), ``mmnl``/``mmnlmax``,
  ``htjmin``/``htjmax``, ``ihtmin``/``ihtmax``, ``dsqrt_shat``/``dsqrt_shatmax``; a cut whose
  class the process lacks does nothing, as in MadEvent;
* ``nevents``, ``iseed`` (``0``: the run number, so each run of a directory has its own stream, as
  MadEvent assigns one), ``cudacpp_backend`` (the C++ backend; ``fortran`` computes the same ``|M|^2``).

MadEvent's integration and bookkeeping settings (survey and refine, helicity sampling, compiler
flags, systematics program, ...) are ignored: mlgen integrates with its own sampler. Any other
setting that would act on the process and is not at MG5's default is refused by name, before any
work is done; so is a setting mlgen does not know.
"""

from __future__ import annotations

__all__ = ["IGNORED", "PDF_LABELS", "RunCardError", "card_tables"]

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlgen.cards.mg5_run_card import DEFAULTS, MG5RunCard
from mlgen.cards.validate import CardError

#: ``pdlabel`` -> (LHAPDF set name, LHAPDF id), as MG5's ``banner.get_pdf_id`` numbers them.
PDF_LABELS = {
    "nn23lo1": ("NNPDF23_lo_as_0130_qed", 247000),
    "nn23lo": ("NNPDF23_lo_as_0119_qed", 246800),
    "nn23nlo": ("NNPDF23_nlo_as_0119_qed", 244800),
}

#: Settings of MadEvent's own integration, compilation and bookkeeping: no effect on what mlgen computes.
IGNORED = frozenset(
    """run_tag python_seed bypass_check keep_log nhel limhel sde_strategy job_strategy hard_survey
    tmin_for_channel second_refine_treshold survey_splitting survey_nchannel_per_job refine_evt_by_job
    hel_recycling hel_filtering hel_splitamp hel_zeroamp global_flag aloha_flag matrix_flag vector_size
    nb_warp systematics_program systematics_arguments sys_scalefact sys_alpsfact sys_matchscale sys_pdf
    sys_scalecorrelation mc_grouped_subproc fixed_couplings auto_ptj_mjj mxx_only_part_antipart
    dparameter r0gamma xn epsgamma isoem highestmult ktscheme alpsfact chcluster pdfwgt asrwgtflavor
    clusinfo issgridfile xmtcentral pdgs_for_merging_cut bias_parameters mue_ref_fixed mue_over_ref
    fixed_extra_scale ievo_eva evaorder eva_xcut gseed ptonium etaonium d bwcutoff""".split()
)
# bwcutoff acts on decay chains and on the phase-space of resonances; without a decay chain
# (refused in card_tables) it changes no cross section.

#: Settings refused unless at MG5's default (they act on the process; mlgen does not implement them).
_DEFAULT_ONLY = """gridpack gridrun time_of_flight polbeam1 polbeam2 nb_proton1 nb_proton2 nb_neutron1
    nb_neutron2 mass_ion1 mass_ion2 bias_module ickkw custom_fcts boost_event me_frame event_norm
    cut_decays small_width_treatment lhe_version ptheavy misset missetmax ej eb ea el ejmax ebmax eamax
    elmax ptllmin ptllmax ptj1min ptj1max ptj2min ptj2max ptj3min ptj3max ptj4min ptj4max cutuse ptl1min
    ptl1max ptl2min ptl2max ptl3min ptl3max ptl4min ptl4max ht2min ht3min ht4min ht2max ht3max ht4max
    xetamin deltaeta ktdurham ptlund xqcut ptgmin pt_min_pdg pt_max_pdg e_min_pdg e_max_pdg eta_min_pdg
    eta_max_pdg mxx_min_pdg""".split()

_CROSS_DR = {"drbj": "bj", "draj": "aj", "drjl": "jl", "drab": "ab", "drbl": "bl", "dral": "al"}
_CLASS = {"j": "jets", "b": "b", "a": "photons", "l": "charged_leptons"}
_BACKENDS = {"cppnone", "cppsse4", "cppavx2", "cpp512y", "cpp512z", "cuda"}
_DYNAMICAL = {1: "et", 2: "mt_sum", 3: "mt_half", 4: "sqrt_shat"}
_HANDLED = (
    set(
        """nevents iseed lpp1 lpp2 ebeam1 ebeam2 pdlabel pdlabel1 pdlabel2 lhaid fixed_ren_scale
    fixed_fac_scale fixed_fac_scale1 fixed_fac_scale2 scale dsqrt_q2fact1 dsqrt_q2fact2
    dynamical_scale_choice scalefact use_syst cudacpp_backend maxjetflavor mmnl mmnlmax htjmin htjmax
    ihtmin ihtmax dsqrt_shat dsqrt_shatmax""".split()
    )
    | {f"{k}max" for k in _CROSS_DR}
    | set(_CROSS_DR)
)
for _x in "jbal":
    _HANDLED |= {f"pt{_x}", f"pt{_x}max", f"eta{_x}", f"eta{_x}min", f"dr{_x}{_x}", f"dr{_x}{_x}max"}
    _HANDLED |= {f"mm{_x}{_x}", f"mm{_x}{_x}max", f"xpt{_x}"}


class RunCardError(CardError):
    """A run-card setting mlgen cannot honour; the message names the file, the setting and its value."""


def _members(final: Sequence[int], maxjetflavor: int) -> dict[str, int]:
    """How many final-state objects of each MG5 cut class (mlgen's jets include b quarks)."""
    a = [abs(p) for p in final]
    return {
        "j": sum(1 for p in a if 1 <= p <= 5 or p == 21),
        "b": sum(1 for p in a if p == 5) if maxjetflavor < 5 else 0,
        "a": a.count(22),
        "l": sum(1 for p in a if p in (11, 13, 15)),
        "leptons": sum(1 for p in a if 11 <= p <= 16),
    }


def _cut(observable: str, objects: str, lo: float | None, hi: float | None) -> dict[str, Any]:
    table: dict[str, Any] = {"observable": observable, "objects": objects}
    if lo is not None:
        table["min"] = float(lo)
    if hi is not None:
        table["max"] = float(hi)
    return table


def _window(card: MG5RunCard, lo_key: str, hi_key: str) -> tuple[float | None, float | None]:
    """MG5's convention: a minimum of 0 and a maximum below 0 mean no cut."""
    lo, hi = float(card[lo_key]), float(card[hi_key])
    return (lo if lo > 0 else None), (hi if hi >= 0 else None)


def _cuts(card: MG5RunCard, final: Sequence[int], refuse: Any) -> list[dict[str, Any]]:
    maxjetflavor = int(card["maxjetflavor"])
    if maxjetflavor not in (4, 5):
        refuse("maxjetflavor", "only 4 or 5")
    n = _members(final, maxjetflavor)
    cuts: list[dict[str, Any]] = []
    for x, objects in _CLASS.items():
        keys = (f"pt{x}", f"pt{x}max", f"eta{x}min", f"eta{x}", f"dr{x}{x}", f"dr{x}{x}max", f"xpt{x}")
        active = [k for k in keys if k in card.values and card[k] != DEFAULTS[k]]
        if x == "j" and maxjetflavor == 4 and 5 in map(abs, final) and (active or n["j"]):
            refuse("maxjetflavor", "5 with final-state b quarks (mlgen's jets include them)")
        if n[x] >= 1:
            pt = _window(card, f"pt{x}", f"pt{x}max")
            if pt != (None, None):
                cuts.append(_cut("pt", objects, *pt))
            eta_lo, eta_hi = float(card[f"eta{x}min"]), float(card[f"eta{x}"])
            if eta_lo > 0 or eta_hi >= 0:
                cuts.append(
                    _cut("abs_y", objects, eta_lo if eta_lo > 0 else None, eta_hi if eta_hi >= 0 else None)
                )
            if float(card[f"xpt{x}"]) > 0:
                cuts.append(_cut("pt_leading", objects, card[f"xpt{x}"], None))
        if n[x] >= 2:
            dr = _window(card, f"dr{x}{x}", f"dr{x}{x}max")
            if dr != (None, None):
                cuts.append(_cut("delta_r", objects, *dr))
            mm = _window(card, f"mm{x}{x}", f"mm{x}{x}max")
            if mm != (None, None):
                charged = [p for p in final if abs(p) in (11, 13, 15)]
                if x == "l" and not (len(charged) == 2 and sum(charged) == 0):
                    refuse(
                        "mmll" if mm[0] is not None else "mmllmax",
                        "its default with other than one l+ l- pair",
                    )
                cuts.append(_cut("m_pair", objects, *mm))
    for key, pair in _CROSS_DR.items():
        lo, hi = _window(card, key, f"{key}max")
        if n[pair[0]] and n[pair[1]] and (lo, hi) != (None, None):
            refuse(
                key if lo is not None else f"{key}max", "0 and -1 (mlgen has no Delta R between two classes)"
            )
    if n["leptons"]:
        mnl = _window(card, "mmnl", "mmnlmax")
        if mnl != (None, None):
            cuts.append(_cut("m", "leptons", *mnl))
    if n["j"]:
        for lo_key, hi_key in (("htjmin", "htjmax"), ("ihtmin", "ihtmax")):
            ht = _window(card, lo_key, hi_key)
            if ht != (None, None):
                cuts.append(_cut("ht", "jets", *ht))
    shat = _window(card, "dsqrt_shat", "dsqrt_shatmax")
    if shat != (None, None):
        cuts.append(_cut("m", "all", *shat))
    return cuts


def _pdf(card: MG5RunCard, refuse: Any) -> dict[str, Any]:
    label = str(card["pdlabel"]).lower()
    for side in ("pdlabel1", "pdlabel2"):
        if side in card.values and str(card[side]).lower() != label:
            refuse(side, f"pdlabel = {label} (one PDF for both beams)")
    if label in PDF_LABELS:
        # MadEvent's pdfwrap.f runs alpha_s(M_Z) of these sets at 2 loops (nloop = 2), and its
        # alfas_functions.f with at most 5 flavours (thresholds at the c and b masses only)
        return {"set": PDF_LABELS[label][0], "alphas_loops": 2, "alphas_nf_max": 5}
    if label != "lhapdf":
        refuse("pdlabel", f"one of lhapdf, {', '.join(PDF_LABELS)}")
    lhaid = card["lhaid"]
    lhaid = int(lhaid[0] if isinstance(lhaid, list) else lhaid)
    for name, number in PDF_LABELS.values():
        if number == lhaid:
            return {"set": name}
    from mlgen.pdf.locate import search_paths

    for folder in search_paths():
        index = folder / "pdfsets.index"
        for line in index.read_text().splitlines() if index.is_file() else ():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == str(lhaid):
                return {"set": fields[1]}
    known = ", ".join(f"{n} ({s})" for s, n in PDF_LABELS.values())
    refuse("lhaid", f"the id of a set mlgen can read: {known}, or one in a pdfsets.index on LHAPDF_DATA_PATH")
    return {}


def _scales(card: MG5RunCard, final_masses: Sequence[float], refuse: Any) -> dict[str, Any]:
    fixed_r = bool(card["fixed_ren_scale"])
    fac = [bool(card["fixed_fac_scale"]) or bool(card[f"fixed_fac_scale{i}"]) for i in (1, 2)]
    if fac[0] != fac[1]:
        refuse("fixed_fac_scale2", f"fixed_fac_scale1 = {fac[0]} (one factorisation scale for both beams)")
    fixed_f = fac[0]
    q1, q2 = float(card["dsqrt_q2fact1"]), float(card["dsqrt_q2fact2"])
    if fixed_f and q1 != q2:
        refuse("dsqrt_q2fact2", f"dsqrt_q2fact1 = {q1:g} (one factorisation scale for both beams)")
    table: dict[str, Any] = {"variations": bool(card["use_syst"])}
    choice = ""
    if not (fixed_r and fixed_f):
        dsc = int(card["dynamical_scale_choice"])
        if dsc == -1:
            if len(final_masses) == 2 and final_masses[0] == final_masses[1]:
                choice = "mt_half"
            else:
                refuse(
                    "dynamical_scale_choice",
                    "1, 2, 3 or 4 for a 2 -> n process with n > 2 or unequal masses (-1 is MadEvent's "
                    "CKKW clustering scale; 3, HT/2, is the nearest)",
                )
        elif dsc in _DYNAMICAL:
            choice = _DYNAMICAL[dsc]
        else:
            refuse("dynamical_scale_choice", "one of -1, 1, 2, 3, 4 (0 is a user function, 5 a decay's)")
    factor = float(card["scalefact"])
    table["mu_r"] = "fixed" if fixed_r else choice
    table["mu_f"] = "fixed" if fixed_f else choice
    table["value"] = float(card["scale"]) if fixed_r else q1
    table["factor_r"] = 1.0 if fixed_r else factor
    table["factor_f"] = q1 / float(card["scale"]) if fixed_r and fixed_f else 1.0 if fixed_f else factor
    return table


def _beams(card: MG5RunCard, initial: Sequence[int], refuse: Any) -> dict[str, Any]:
    names = {1: "p", -1: "pbar"}
    leptons = {11: "e-", -11: "e+"}
    particles = []
    for i, pdg in zip((1, 2), initial):
        lpp = int(card[f"lpp{i}"])
        if lpp in names:
            particles.append(names[lpp])
        elif lpp == 0 and pdg in leptons:
            particles.append(leptons[pdg])
        else:
            refuse(f"lpp{i}", "1, -1, or 0 for an electron or positron beam")
    if len(set(p in ("p", "pbar") for p in particles)) != 1:
        refuse("lpp2", f"the kind of lpp1 = {card['lpp1']} (two hadron or two lepton beams)")
    e1, e2 = float(card["ebeam1"]), float(card["ebeam2"])
    if e1 != e2:
        refuse("ebeam2", f"ebeam1 = {e1:g} (mlgen's beams are symmetric)")
    return {"particles": particles, "sqrt_s": e1 + e2}


def card_tables(
    card: MG5RunCard,
    *,
    process: str,
    pdg: Sequence[int],
    masses: Sequence[float],
    proc_dir: Path,
    run_number: int = 1,
) -> dict[str, Any]:
    """The tables of an mlgen card (before validation) for a run card and the directory's process.

    Arguments:
        card: the run card.
        process: MG5's process string (``g g > t t~``), to refuse decay chains.
        pdg: the process's external PDG ids, incoming first.
        masses: their masses in GeV.
        proc_dir: the process directory (the matrix element's path and its ``param_card.dat``).
        run_number: the run's number (``run_01`` is 1): the seed when ``iseed = 0``.

    Raises:
        RunCardError: naming the first setting mlgen cannot honour.
    """

    def refuse(name: str, expected: str) -> None:
        raise RunCardError(
            f"{card.where(name)}: {name} = {card[name]} is not supported by mlgen (only {expected})"
        )

    unknown = sorted(set(card.values) - set(DEFAULTS))
    if unknown:
        name = unknown[0]
        raise RunCardError(f"{card.where(name)}: {name} = {card.values[name]} is not a setting mlgen knows")
    for name in _DEFAULT_ONLY:
        if (
            name in card.values
            and card[name] != DEFAULTS[name]
            and not (card[name] in ("", []) and not DEFAULTS[name])
        ):
            refuse(name, f"its default {DEFAULTS[name]}")
    if "," in process:
        refuse("bwcutoff", "processes without decay chains")
    assert _HANDLED | IGNORED | set(_DEFAULT_ONLY) >= set(DEFAULTS), set(DEFAULTS) - _HANDLED - IGNORED
    options: dict[str, Any] = {"path": str(proc_dir)}
    backend = str(card["cudacpp_backend"]).lower()
    if backend in _BACKENDS:
        options["backend"] = backend
    elif backend not in ("cpp", "cppauto", "fortran"):
        refuse("cudacpp_backend", f"fortran, cpp, cppauto or one of {', '.join(sorted(_BACKENDS))}")
    beams = _beams(card, pdg[:2], refuse)
    hadronic = beams["particles"][0] in ("p", "pbar")
    iseed = int(card["iseed"])
    tables: dict[str, Any] = {
        "process": {"matrix_element": "madgraph", "options": options, "name": f"MG5 {process}"},
        "beams": beams,
        "model": {"param_card": str(proc_dir / "Cards" / "param_card.dat")},
        "scales": _scales(card, masses[2:], refuse),
        "cuts": _cuts(card, pdg[2:], refuse),
        "events": {"n": int(card["nevents"])},
        "run": {"seed": iseed if iseed > 0 else run_number},
    }
    if hadronic:
        tables["pdf"] = _pdf(card, refuse)
    return tables
