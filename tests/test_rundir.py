"""Run directories that cannot mix (issue 27): a run appears whole under its name with a manifest of
every file and its hash, or not at all; a directory holding another run is refused before any compute
unless replaced, and then holds none of the old run's files."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgen.cli import main
from mlgen.rundir import MANIFEST, RunDirectory, check_destination, read_manifest

ROOT = Path(__file__).resolve().parents[1]
SHORT = [
    "integrator.n_adapt_iter=2",
    "integrator.n_per_iter=2000",
    "integrator.n_iter=1",
    "events.batch_size=2000",
]


def _argv(out: Path, *extra: str, card: str = "ee_mumu.toml") -> list[str]:
    argv = ["run", str(ROOT / "cards" / card), "-n", "30", "-o", str(out), "--no-progress"]
    for item in [*SHORT, "run.plots=false"]:
        argv += ["--set", item]
    return argv + list(extra)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_commit_names_every_file_with_its_hash_and_abort_leaves_nothing(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "out")
    (run.path / "a.txt").write_text("a")
    (run.path / "plots").mkdir()
    (run.path / "plots" / "b.png").write_bytes(b"\x89PNG")
    assert not (tmp_path / "out").exists()  # nothing under the final name until the end
    final = run.commit({"seed": 3})
    manifest = read_manifest(final)
    assert sorted(manifest["files"]) == ["a.txt", "plots/b.png"] and manifest["seed"] == 3
    assert manifest["files"]["a.txt"]["sha256"] == hashlib.sha256(b"a").hexdigest()
    (final / "stray.txt").write_text("x")
    with pytest.raises(ValueError, match="extra \\['stray.txt'\\]"):
        read_manifest(final)
    (final / "stray.txt").unlink()
    (final / "a.txt").write_text("b")
    with pytest.raises(ValueError, match="a.txt: its SHA-256 differs"):
        read_manifest(final)
    other = RunDirectory(tmp_path / "other")
    (other.path / "x").write_text("x")
    other.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_destinations_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        check_destination(tmp_path / "file")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("")
    for replace in (False, True):  # mlgen deletes nothing it did not write
        with pytest.raises(ValueError, match="not an mlgen run \\(thesis.tex\\)"):
            check_destination(tmp_path / "mine", replace)
    (tmp_path / "empty").mkdir()
    check_destination(tmp_path / "empty")
    check_destination(tmp_path / "new" / "deeper")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o555)
    try:
        with pytest.raises(ValueError, match="not writable"):
            check_destination(tmp_path / "ro" / "out")
    finally:
        os.chmod(tmp_path / "ro", 0o755)


def test_rerun_into_a_used_directory_is_refused_before_compute_and_replace_leaves_no_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_argv(out, "--seed", "1")) == 0
    first = read_manifest(out)
    assert first["seed"] == 1 and first["card"]["run"]["seed"] == 1 and "events.lhe.gz" in first["files"]
    assert str(ROOT / "cards" / "ee_mumu.toml") in first["inputs"]
    (out / "plots").mkdir()  # a file of the first run the second does not write
    (out / "plots" / "old.png").write_bytes(b"old")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    t0 = time.perf_counter()
    assert main(_argv(out, "--seed", "2")) == 2
    assert "holds another run" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 5  # refused before the integration, not after it
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert main(_argv(out, "--seed", "2", "--replace")) == 0
    second = read_manifest(out)  # exactly the files it names: the old plot is gone
    result = json.loads((out / "result.json").read_text())
    assert second["seed"] == 2 and result["seed"] == 2 and result["card_effective"]["run"]["seed"] == 2
    assert not (out / "plots").exists() and _hidden(tmp_path) == []
    # the effective card, the version and the command line travel in the LHE header too
    from mlgen.lhe import read_lhe

    info, _ = read_lhe(out / "events.lhe.gz")
    assert 'seed="2"' in info.header and '"seed": 2' in info.header and "--replace" in info.header


def test_a_failed_run_leaves_nothing_under_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(_argv(out, "--set", 'run.device="nonsense"')) == 2
    assert "nonsense" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_killed_run_leaves_nothing_under_its_name_and_the_next_run_clears_its_folder(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    argv = _argv(out, "--set", "integrator.n_per_iter=400000", "--set", "integrator.n_iter=20")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlgen", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while not _hidden(tmp_path) and time.time() < deadline:  # its staging folder exists: it is running
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and len(_hidden(tmp_path)) == 1
    assert main(_argv(out)) == 0
    read_manifest(out)
    assert _hidden(tmp_path) == []
