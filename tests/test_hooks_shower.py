"""The run card's ``shower`` step writes HepMC3 as ``mlgen shower --hepmc`` does (issue 25): every event
with the LHE file's named weights, and the cross section of its ``<init>``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlgen.hooks import BUILTIN_STEPS, HookContext
from mlgen.lhe import read_lhe

pytest.importorskip("pythia8mc")
pytest.importorskip("pyhepmc")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lhe"


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/lhe not present")
def test_the_shower_step_carries_the_lhe_weights_and_cross_section_into_hepmc(tmp_path: Path) -> None:
    import pyhepmc

    lhe = DATA / "pylhe-testlhef3.lhe"  # IDWTUP -4, nine named <rwgt> weights
    info, events = read_lhe(lhe)
    assert events is not None and events.extra_weights is not None
    options = {"n": 12, "hadronise": False, "mpi": False, "hepmc": "w.hepmc3"}
    # a result.json without sigma: the step used to write 0 pb and Pythia's weight alone
    ctx = HookContext(lhe, None, {}, tmp_path, options)
    output = BUILTIN_STEPS["shower"](ctx)
    assert output is not None and output["n_showered"] == 12
    assert output["hepmc_file"] == str(tmp_path / "w.hepmc3")
    with pyhepmc.open(tmp_path / "w.hepmc3") as handle:
        got = [(list(e.run_info.weight_names), list(e.weights), e.cross_section) for e in handle]
    assert len(got) == 12
    assert all(names == ["Weight", *(w.id for w in info.weights)] for names, _, _ in got)
    expected = np.column_stack([events.weight.numpy(), events.extra_weights.numpy()])[:12]
    np.testing.assert_allclose([w for _, w, _ in got], expected, rtol=1e-15, atol=0)
    for _, _, xs in got:  # HepMC3 ASCII writes 9 significant digits
        assert xs.xsec() == pytest.approx(info.xsec_pb, rel=1e-8)
        assert xs.xsec_err() == pytest.approx(info.error_pb, rel=1e-8)
