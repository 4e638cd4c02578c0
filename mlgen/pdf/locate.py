"""Find PDF sets: LHAPDF_DATA_PATH, the pythia8mc wheel's pdfdata folder, or a path."""

from __future__ import annotations

__all__ = ["PDFNotFoundError", "find_member", "pythia_pdfdata", "search_paths"]

import importlib.util
import os
import sysconfig
from pathlib import Path


class PDFNotFoundError(FileNotFoundError):
    """No set of that name; the message lists where mlgen looked and what it found."""


def pythia_pdfdata() -> Path | None:
    """``share/Pythia8/pdfdata`` of the installed ``pythia8mc`` wheel, if there is one."""
    candidates = [Path(sysconfig.get_paths()["data"]) / "share" / "Pythia8" / "pdfdata"]
    spec = importlib.util.find_spec("pythia8mc")
    if spec is not None and spec.origin:
        site = Path(spec.origin).resolve().parent
        for up in (site, *site.parents[:4]):
            candidates.append(up / "share" / "Pythia8" / "pdfdata")
    for path in candidates:
        if path.is_dir():
            return path
    return None


def search_paths() -> list[Path]:
    """Folders searched, in order: ``LHAPDF_DATA_PATH`` entries, then pythia8mc's pdfdata."""
    paths = [Path(p) for p in os.environ.get("LHAPDF_DATA_PATH", "").split(os.pathsep) if p]
    wheel = pythia_pdfdata()
    if wheel is not None:
        paths.append(wheel)
    return paths


def _sets_in(folder: Path) -> list[str]:
    found = set()
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_dir() and (entry / f"{entry.name}.info").is_file():
                found.add(entry.name)
            elif entry.suffix == ".dat" and entry.stem[-5:-4] == "_" and entry.stem[-4:].isdigit():
                found.add(entry.stem[:-5])
    return sorted(found)


def find_member(name_or_path: str | os.PathLike[str], member: int = 0) -> tuple[Path, Path | None, str]:
    """Locate a member file.

    Arguments:
        name_or_path: a set name (``NNPDF23_lo_as_0130_qed``), a set folder, or a member ``.dat`` file.
        member: the member number.

    Returns:
        ``(member_file, info_file_or_None, set_name)``.
    """
    path = Path(name_or_path)
    if path.suffix == ".dat" and path.is_file():
        stem = path.stem
        set_name = stem[:-5] if stem[-5:-4] == "_" and stem[-4:].isdigit() else stem
        info = path.parent / f"{set_name}.info"
        return path, info if info.is_file() else None, set_name
    if path.is_dir():
        member_file = path / f"{path.name}_{member:04d}.dat"
        if not member_file.is_file():
            raise PDFNotFoundError(f"{path}: no member {member} ({member_file.name})")
        info = path / f"{path.name}.info"
        return member_file, info if info.is_file() else None, path.name
    name = str(name_or_path)
    places = search_paths()
    for folder in places:
        set_dir = folder / name
        if (set_dir / f"{name}_{member:04d}.dat").is_file():
            info = set_dir / f"{name}.info"
            return set_dir / f"{name}_{member:04d}.dat", info if info.is_file() else None, name
        flat = folder / f"{name}_{member:04d}.dat"
        if flat.is_file():
            info = folder / f"{name}.info"
            return flat, info if info.is_file() else None, name
    listing = "\n".join(f"  {p}: {', '.join(_sets_in(p)) or '(no sets)'}" for p in places) or "  (none)"
    raise PDFNotFoundError(
        f"PDF set {name!r} member {member} not found. "
        f"Searched (LHAPDF_DATA_PATH, then pythia8mc's pdfdata):\n{listing}"
    )
