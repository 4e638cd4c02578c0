"""MadGraph5's ``Cards/run_card.dat`` read into plain data (no translation here).

The format is one setting a line, ``value = name ! comment``; ``#`` starts a comment line.
Values are read as MG5 reads them: ``True``/``False``/``.true.``/``T``/``F`` as booleans,
integers, reals (Fortran ``1d3`` included), ``{...}`` and ``[...]`` as Python literals,
anything else as a string. A setting the card does not list has MG5's default
(:data:`DEFAULTS`, MG5_aMC 3.7.1's ``RunCardLO``), as in MadEvent.
"""

from __future__ import annotations

__all__ = ["DEFAULTS", "MG5RunCard", "format_value", "parse_run_card", "read_run_card", "with_values"]

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: MG5_aMC 3.7.1 ``RunCardLO.default_setup`` values of the settings mlgen reads or checks.
DEFAULTS: dict[str, Any] = {
    "run_tag": "tag_1", "gridpack": False, "time_of_flight": -1.0, "nevents": 10000, "iseed": 0,
    "python_seed": -2, "bypass_check": [],
    "lpp1": 1, "lpp2": 1, "ebeam1": 6500.0, "ebeam2": 6500.0, "polbeam1": 0.0, "polbeam2": 0.0,
    "nb_proton1": 1, "nb_proton2": 1, "nb_neutron1": 0, "nb_neutron2": 0, "mass_ion1": -1.0,
    "mass_ion2": -1.0,
    "pdlabel": "nn23lo1", "pdlabel1": "nn23lo1", "pdlabel2": "nn23lo1", "lhaid": 230000,
    "fixed_ren_scale": False, "fixed_fac_scale": False, "fixed_fac_scale1": False,
    "fixed_fac_scale2": False, "fixed_extra_scale": False, "scale": 91.188, "dsqrt_q2fact1": 91.188,
    "dsqrt_q2fact2": 91.188, "mue_ref_fixed": 91.188, "dynamical_scale_choice": -1,
    "mue_over_ref": 1.0, "ievo_eva": 0, "evaorder": 0, "eva_xcut": 1,
    "bias_module": "None", "bias_parameters": {}, "scalefact": 1.0,
    "ickkw": 0, "highestmult": 1, "ktscheme": 1, "alpsfact": 1.0, "chcluster": False, "pdfwgt": True,
    "asrwgtflavor": 5, "clusinfo": True, "custom_fcts": [], "lhe_version": 3.0, "boost_event": False,
    "me_frame": [1, 2], "event_norm": "average", "keep_log": "normal",
    "auto_ptj_mjj": True, "bwcutoff": 15.0, "cut_decays": False, "dsqrt_shat": 0.0, "dsqrt_shatmax": -1.0,
    "nhel": 0, "limhel": 1e-8,
    "ptj": 20.0, "ptb": 0.0, "pta": 10.0, "ptl": 10.0, "misset": 0.0, "ptheavy": 0.0, "ptonium": 1.0,
    "ptjmax": -1.0, "ptbmax": -1.0, "ptamax": -1.0, "ptlmax": -1.0, "missetmax": -1.0,
    "ej": 0.0, "eb": 0.0, "ea": 0.0, "el": 0.0, "ejmax": -1.0, "ebmax": -1.0, "eamax": -1.0,
    "elmax": -1.0,
    "etaj": 5.0, "etab": -1.0, "etaa": 2.5, "etal": 2.5, "etaonium": 0.6, "etajmin": 0.0,
    "etabmin": 0.0, "etaamin": 0.0, "etalmin": 0.0,
    "drjj": 0.4, "drbb": 0.0, "drll": 0.4, "draa": 0.4, "drbj": 0.0, "draj": 0.4, "drjl": 0.4,
    "drab": 0.0, "drbl": 0.0, "dral": 0.4, "drjjmax": -1.0, "drbbmax": -1.0, "drllmax": -1.0,
    "draamax": -1.0, "drbjmax": -1.0, "drajmax": -1.0, "drjlmax": -1.0, "drabmax": -1.0,
    "drblmax": -1.0, "dralmax": -1.0,
    "mmjj": 0.0, "mmbb": 0.0, "mmaa": 0.0, "mmll": 0.0, "mmjjmax": -1.0, "mmbbmax": -1.0,
    "mmaamax": -1.0, "mmllmax": -1.0, "mmnl": 0.0, "mmnlmax": -1.0,
    "ptllmin": 0.0, "ptllmax": -1.0, "xptj": 0.0, "xptb": 0.0, "xpta": 0.0, "xptl": 0.0,
    "ptj1min": 0.0, "ptj1max": -1.0, "ptj2min": 0.0, "ptj2max": -1.0, "ptj3min": 0.0, "ptj3max": -1.0,
    "ptj4min": 0.0, "ptj4max": -1.0, "cutuse": 0,
    "ptl1min": 0.0, "ptl1max": -1.0, "ptl2min": 0.0, "ptl2max": -1.0, "ptl3min": 0.0, "ptl3max": -1.0,
    "ptl4min": 0.0, "ptl4max": -1.0,
    "htjmin": 0.0, "htjmax": -1.0, "ihtmin": 0.0, "ihtmax": -1.0, "ht2min": 0.0, "ht3min": 0.0,
    "ht4min": 0.0, "ht2max": -1.0, "ht3max": -1.0, "ht4max": -1.0,
    "ptgmin": 0.0, "r0gamma": 0.4, "xn": 1.0, "epsgamma": 1.0, "isoem": True, "xetamin": 0.0,
    "deltaeta": 0.0, "ktdurham": -1.0, "dparameter": 0.4, "ptlund": -1.0,
    "pdgs_for_merging_cut": [21, 1, 2, 3, 4, 5, 6], "maxjetflavor": 4, "xqcut": 0.0,
    "use_syst": True, "systematics_program": "systematics",
    "systematics_arguments": ["--mur=0.5,1,2", "--muf=0.5,1,2", "--pdf=errorset"],
    "sys_scalefact": "0.5 1 2", "sys_alpsfact": "None", "sys_matchscale": "auto", "sys_pdf": "errorset",
    "sys_scalecorrelation": -1,
    "gridrun": False, "fixed_couplings": True, "mc_grouped_subproc": True, "xmtcentral": 0.0, "d": 1.0,
    "gseed": 0, "issgridfile": "", "job_strategy": 0, "hard_survey": 0, "tmin_for_channel": -1.0,
    "second_refine_treshold": 0.9, "survey_splitting": -1, "survey_nchannel_per_job": 2,
    "refine_evt_by_job": -1, "small_width_treatment": 1e-6, "hel_recycling": True,
    "hel_filtering": True, "hel_splitamp": True, "hel_zeroamp": True, "sde_strategy": 1,
    "global_flag": "-O", "aloha_flag": "", "matrix_flag": "", "vector_size": 1, "nb_warp": 1,
    "pt_min_pdg": {}, "pt_max_pdg": {}, "e_min_pdg": {}, "e_max_pdg": {}, "eta_min_pdg": {},
    "eta_max_pdg": {}, "mxx_min_pdg": {}, "mxx_only_part_antipart": {"default": False},
    "cudacpp_backend": "cpp",
}  # fmt: skip

_LINE = re.compile(r"^\s*(?P<value>.*?)\s*=\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:!.*)?$")
_TRUE = {"true", ".true.", "t"}
_FALSE = {"false", ".false.", "f"}


@dataclass(frozen=True)
class MG5RunCard:
    """A parsed run card.

    Attributes:
        path: the file (for messages).
        text: the card as written.
        values: the settings the card lists, by lower-case name, read as Python values.
        lines: the line number of each listed setting.
    """

    path: str
    text: str
    values: dict[str, Any]
    lines: dict[str, int]

    def __getitem__(self, name: str) -> Any:
        """The card's value of ``name``, else MG5's default (``KeyError`` for a name neither knows)."""
        return self.values[name] if name in self.values else DEFAULTS[name]

    def where(self, name: str) -> str:
        """``run_card.dat:LINE`` of a listed setting, the file name alone for a default."""
        line = self.lines.get(name)
        return f"{Path(self.path).name}:{line}" if line else Path(self.path).name


def _value(text: str) -> Any:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    if text.startswith(("{", "[")):
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(low.replace("d", "e"))
    except ValueError:
        return text


def parse_run_card(text: str, path: str = "run_card.dat") -> MG5RunCard:
    """Read run-card text; lines that are neither comments nor ``value = name`` raise ``ValueError``
    naming ``path`` and the line."""
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")):
            continue
        found = _LINE.match(line)
        if found is None:
            raise ValueError(f"{path}:{number}: expected 'value = name ! comment', got {stripped!r}")
        name = found.group("name").lower()
        values[name] = _value(found.group("value").strip())
        lines[name] = number
    return MG5RunCard(path, text, values, lines)


def read_run_card(path: str | Path) -> MG5RunCard:
    """Read ``path`` (a ``run_card.dat``)."""
    return parse_run_card(Path(path).read_text(), str(path))


def format_value(value: Any) -> str:
    """``value`` written as MG5 writes it in a run card."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def with_values(card: MG5RunCard, updates: dict[str, Any]) -> MG5RunCard:
    """The card with ``updates`` (name -> value) written in: a listed setting's line is rewritten in
    place (its comment kept), an unlisted one appended."""
    lines = card.text.splitlines()
    extra = []
    for name, value in updates.items():
        key = name.lower()
        if key in card.lines:
            number = card.lines[key] - 1
            found = _LINE.match(lines[number])
            assert found is not None
            start, end = found.span("value")
            lines[number] = lines[number][:start] + format_value(value) + lines[number][end:]
        else:
            extra.append(f" {format_value(value)} = {key} ! set for mlgen")
    return parse_run_card("\n".join(lines + extra) + "\n", card.path)
