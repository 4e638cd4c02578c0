"""Showering with Pythia 8: LHE files as their headers say they were made (:mod:`.pythia`),
the matching / merging settings read from a header (:mod:`.merging`)."""

from __future__ import annotations

from mlgen.shower.merging import MergingPlan, merging_plan
from mlgen.shower.pythia import (
    END_OF_FILE,
    MB_TO_PB,
    MissingMergingSetting,
    ShowerReport,
    apply_user_settings,
    captured_stdout,
    import_pythia,
    lhe_run_info,
    parse_messages,
    run_pythia,
    scheme_in_use,
    shower_lhe,
    user_setting_keys,
)

__all__ = [
    "END_OF_FILE",
    "MB_TO_PB",
    "MergingPlan",
    "MissingMergingSetting",
    "ShowerReport",
    "apply_user_settings",
    "captured_stdout",
    "import_pythia",
    "lhe_run_info",
    "merging_plan",
    "parse_messages",
    "run_pythia",
    "scheme_in_use",
    "shower_lhe",
    "user_setting_keys",
]
