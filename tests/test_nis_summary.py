"""benchmarks/nis_summary.py: the goals of the sampling issue read from nis.py's rows."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "nis_summary.py"
spec = importlib.util.spec_from_file_location("nis_summary", SCRIPT)
nis_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nis_summary)


def row(method, spread, eff_q, pull=0.0, **extra):
    figures = dict(case="camelN8", seed=0, method=method, spread=spread, eff_q=eff_q, eff_max=eff_q / 4)
    return figures | dict(pull=pull, train_s=10.0, **extra)


def test_a_sampler_beats_its_peers_only_on_both_figures():
    vegas, madnis = row("vegas", 5.0, 0.01), row("madnis", 0.4, 0.2)
    assert nis_summary.beats(row("mlgen_flow", 0.3, 0.5), [vegas, madnis])
    assert not nis_summary.beats(row("mlgen_flow", 0.3, 0.15), [vegas, madnis])
    assert not nis_summary.beats(row("mlgen_flow", 0.45, 0.5), [vegas, madnis])


def test_a_large_pull_is_silent_unless_the_coverage_check_flagged_it():
    assert nis_summary.silently_wrong(row("madnis", 0.2, 0.6, pull=-5000.0))
    assert not nis_summary.silently_wrong(row("mlgen_flow", 0.2, 0.6, pull=-6.0, confirmed=False))
    assert nis_summary.silently_wrong(row("mlgen_flow", 0.2, 0.6, pull=-6.0, confirmed=True))
    assert not nis_summary.silently_wrong(row("mlgen_flow", 0.2, 0.6, pull=3.9, confirmed=True))


def goal_line(tmp_path, capsys, rows):
    run = dict(machine="2 CPU cores", args=dict(train_calls=10, n_eval=10), rows=rows)
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert nis_summary.main([str(tmp_path / "run.json")]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("| camelN8 | 0 |")]


def test_a_peer_that_lost_a_peak_is_named_and_is_no_bar(tmp_path, capsys):
    rows = [
        row("vegas", 13.0, 0.002),
        row("mlgen_flow", 0.21, 0.6, pull=1.1, confirmed=True),
        row("madnis", 0.19, 0.62, pull=-5178.0),
    ]
    # madnis has the lower spread only because it lost half the integrand
    assert goal_line(tmp_path, capsys, rows) == ["| camelN8 | 0 | flow | 1.00 | 300.0 | 300.0 | madnis |"]


def test_a_right_peer_with_the_lower_spread_is_not_beaten(tmp_path, capsys):
    rows = [
        row("vegas", 13.0, 0.002),
        row("mlgen_flow", 0.21, 0.6, pull=1.1, confirmed=True),
        row("madnis", 0.19, 0.62, pull=0.3),
    ]
    assert goal_line(tmp_path, capsys, rows) == ["| camelN8 | 0 | none | 1.00 | 300.0 | 300.0 | none |"]


def test_a_file_that_is_not_a_run_is_named(tmp_path):
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"rows": []}))
    with pytest.raises(
        SystemExit, match="other.json: expected the JSON that benchmarks/nis.py --json writes"
    ):
        nis_summary.main([str(bad)])
