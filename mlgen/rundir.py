"""A run's output directory: written whole under a staging name, then given its name with a manifest.

A run writes every file into a fresh hidden folder beside its destination
(``.NAME.partial-XXXX``); :meth:`RunDirectory.commit` writes ``manifest.json`` last (every
file of the run with its size and SHA-256, and the run's provenance) and renames the folder to
``NAME``. So a directory under a run's name is always one whole run: a run killed or failed
before its end leaves nothing under that name (:meth:`RunDirectory.abort` removes its staging
folder; the folder of a killed run is removed by the next run to the same name), two runs never
share a file or a temporary name, and a rerun never leaves an earlier run's ``sampler.pt`` or
plots beside its own ``result.json``.

A destination that holds another run is refused, before any compute (:func:`check_destination`),
unless ``replace`` is given: then the old run is removed when the new one is complete, never
before. A destination holding files that are not an mlgen run (no ``manifest.json`` nor
``result.json``) is refused even then: mlgen does not delete what it did not write.
"""

from __future__ import annotations

__all__ = [
    "MANIFEST",
    "RunDirectory",
    "check_destination",
    "file_sha256",
    "read_manifest",
    "remove_abandoned",
]

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
_RUN_MARKERS = (MANIFEST, "result.json")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_destination(path: str | os.PathLike[str], replace: bool = False) -> None:
    """Raise ``ValueError`` (one line) if a run may not be written to ``path``: a file is there, or
    another run is there and ``replace`` is false, or files that are not an mlgen run are there; or
    its parent folder is not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path}: the output directory is a file")
    if path.is_dir():
        content = [p.name for p in path.iterdir()]
        if content:
            is_run = any(marker in content for marker in _RUN_MARKERS)
            if not is_run:
                shown = ", ".join(sorted(content)[:3]) + (", ..." if len(content) > 3 else "")
                raise ValueError(
                    f"{path}: the output directory holds files that are not an mlgen run ({shown}); "
                    "give an empty or a new directory"
                )
            if not replace:
                raise ValueError(
                    f"{path}: the output directory holds another run; give a new directory, or replace "
                    "it (--replace)"
                )
    parent = path.parent if not path.is_dir() else path
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{parent}: not writable, so the output directory {path} cannot be made there")


class RunDirectory:
    """The staging folder of one run, given the name ``final`` by :meth:`commit`.

    Arguments:
        final: the run's directory.
        replace: whether a run already at ``final`` is to be replaced (when this one is complete).
    """

    def __init__(self, final: str | os.PathLike[str], replace: bool = False) -> None:
        self.final = Path(final)
        self.replace = replace
        check_destination(self.final, replace)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(self.final)
        self.path = Path(tempfile.mkdtemp(prefix=self._prefix("partial"), dir=self.final.parent))

    def _prefix(self, kind: str) -> str:
        return f".{self.final.name}.{kind}-{os.getpid()}-"

    def files(self) -> list[Path]:
        """The run's files so far, relative to its folder, sorted."""
        return sorted(p.relative_to(self.path) for p in self.path.rglob("*") if p.is_file())

    def commit(self, provenance: dict[str, Any]) -> Path:
        """Write the manifest (every file, its size and SHA-256; ``provenance``) and give the folder
        its name; returns it. The manifest is written last, after every other file is closed."""
        files = {
            str(name): {"bytes": (self.path / name).stat().st_size, "sha256": file_sha256(self.path / name)}
            for name in self.files()
            if str(name) != MANIFEST
        }
        manifest = {"files": files, **provenance}
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        os.chmod(self.path, 0o755)  # mkdtemp's folder is private
        old = None
        if self.final.is_dir():
            check_destination(self.final, self.replace)  # another run may have arrived meanwhile
            # the old run (or an empty folder) moves aside, the new one takes the name, the old goes
            old = Path(tempfile.mkdtemp(prefix=self._prefix("replaced"), dir=self.final.parent))
            os.replace(self.final, old / "run")
        os.replace(self.path, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final

    def abort(self) -> None:
        """Remove the staging folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)


def remove_abandoned(final: str | os.PathLike[str]) -> list[Path]:
    """Remove the staging folders of runs to ``final`` whose process is gone (killed), on this machine;
    returns them. A folder's name holds its process id: ``.NAME.partial-PID-XXXX``."""
    final = Path(final)
    removed = []
    for kind in ("partial", "replaced"):
        for folder in final.parent.glob(f".{final.name}.{kind}-*-*"):
            pid = folder.name[len(f".{final.name}.{kind}-") :].split("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A run directory's manifest, after checking that its files are exactly those it names, each with
    its recorded size and hash (``ValueError`` naming the first that is not)."""
    path = Path(path)
    manifest = json.loads((path / MANIFEST).read_text())
    present = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and p.name != MANIFEST)
    listed = sorted(manifest["files"])
    if present != listed:
        extra, missing = sorted(set(present) - set(listed)), sorted(set(listed) - set(present))
        raise ValueError(f"{path}: files differ from its manifest: extra {extra}, missing {missing}")
    for name, entry in manifest["files"].items():
        if file_sha256(path / name) != entry["sha256"]:
            raise ValueError(f"{path / name}: its SHA-256 differs from the manifest's")
    return manifest
