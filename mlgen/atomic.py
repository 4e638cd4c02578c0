"""Files that appear whole or not at all: write under a unique temporary name, then rename.

Every output mlgen writes (events, reports, samplers, models, plots) goes through
:func:`atomic_path`, so an interrupted or failed write never leaves a partial
file under its final name, and two runs writing into one directory never share
a temporary name.
"""

from __future__ import annotations

__all__ = ["atomic_path", "publish", "temporary_beside", "write_text"]

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_beside(path: str | os.PathLike[str], suffix: str = "") -> Path:
    """A new, empty file with a unique hidden name in ``path``'s folder (created if missing).

    For writers that stream into a file over a long time (LHE, HepMC): write there, then
    :func:`publish` it, or unlink it on failure.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def publish(tmp: Path, path: str | os.PathLike[str]) -> None:
    """Give the finished temporary file ``tmp`` its final name ``path``, readable by all."""
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; on success it replaces ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.

    Arguments:
        path: the final file name (its folder is created if missing).
        suffix: ending of the temporary name, for writers that pick a format from it
            (matplotlib's ``savefig``: ``".png"``).
    """
    tmp = temporary_beside(path, suffix)
    try:
        yield tmp
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
