"""Build a MadGraph5 CUDACPP process library, and mlgen's C interface to it, into a user cache.

A process directory (``.sa`` standalone or ``.mad`` MadEvent, unpacked or as a ``.tar.gz``) is
copied into ``<cache>/mg5/<name>-<key>/proc`` with ``key`` a hash of its sources, the backend and
mlgen's interface, so a change to any of them gives a fresh build and an unchanged one is reused.
In ``proc/SubProcesses/P1_*`` it runs ``make -f cudacpp.mk BACKEND=<backend> FPTYPE=d`` for the
process library only (``lib/libmg5amc_<proc>_<cpp|cuda>.so`` beside ``libmg5amc_common_*``; the
default target would also build Fortran test programs), then compiles ``bridge_shim.cc`` with the
exact flags ``make`` used for ``CPPProcess.cc`` and links it with the objects of those libraries
into one self-contained ``libmlgen_mg5.so``. ``FPTYPE=d`` because
MG5's default, ``m``, does the colour algebra in single precision.

The build happens in a temporary directory beside the final one and is renamed into place, under
a lock file, so two processes never build into the same place and no half-built library is seen.
"""

from __future__ import annotations

__all__ = ["MG5BuildError", "ProcessBuild", "build_process_library", "cache_dir", "choose_backend"]

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHIM = Path(__file__).with_name("bridge_shim.cc")
_FAST_MATH = ("-ffast-math", "-Ofast", "-funsafe-math-optimizations")
_LINK = "no-crtfastmath"  # part of the cache key: libraries linked before this change are rebuilt
LIBRARY = "libmlgen_mg5.so"
BACKENDS = ("cppnone", "cppsse4", "cppavx2", "cpp512y", "cpp512z", "cuda")
_SCHEME = "objects+Bsymbolic+diagram-sums"  # how the library is put together: part of the cache key
_SOURCE_SUFFIXES = {".cc", ".cu", ".h", ".inc", ".mk", ".f", ".dat"}


class MG5BuildError(RuntimeError):
    """A process library could not be built; the message is one line naming the cause."""


@dataclass(frozen=True)
class ProcessBuild:
    """A built process: ``root`` (the copied process directory), ``subprocess_dir`` (its
    ``SubProcesses/P1_*``), ``library`` (mlgen's interface, linked to the process), ``backend``, and
    ``diagram_sums``: whether the library gives every diagram's ``|amplitude|^2`` in one call (a
    ``.mad`` build on a C++ backend, see :func:`_patch_diagram_sums`)."""

    root: Path
    subprocess_dir: Path
    library: Path
    backend: str
    diagram_sums: bool = False


#: marker written beside CPPProcess.cc when :func:`_patch_diagram_sums` changed it
_DIAGRAM_SUMS = "mlgen_diagram_sums"
_NUMERATOR = re.compile(r"^(\s*if\( channelId == (\d+) \) numerators_sv \+= cxabs2\( (amp_sv\[\d+\]) \);)$", re.M)
_DENOMINATOR = re.compile(r"^(\s*if\( channelId != 0 \) denominators_sv \+= cxabs2\( (amp_sv\[\d+\]) \);)$", re.M)
_SUMS_PREAMBLE = """
// ---- added by mlgen (build.py): every diagram's |amp|^2 into mlgen_diagram_sums, see bridge_shim.cc
extern double* mlgen_diagram_sums;
extern int mlgen_diagram_stride;
inline double mlgen_lane( double x, int ) { return x; }
template<class V>
inline double mlgen_lane( const V& x, int lane ) { return x[lane]; }
#ifdef MGONGPUCPP_GPUIMPL
#define MLGEN_DIAGRAM( N, AMP )
#else
#define MLGEN_DIAGRAM( N, AMP ) \\
  if( mlgen_diagram_sums != nullptr ) \\
  { \\
    const auto mlgen_x = cxabs2( AMP ); \\
    for( int mlgen_l = 0; mlgen_l < neppV; ++mlgen_l ) \\
      mlgen_diagram_sums[( ievt0 + mlgen_l ) * mlgen_diagram_stride + ( N )] += mlgen_lane( mlgen_x, mlgen_l ); \\
  }
#endif
// ---- end of mlgen's addition
"""


def _patch_diagram_sums(sub: Path) -> bool:
    """Add one line after each amplitude's single-diagram-enhancement update in ``CPPProcess.cc``
    (``if( channelId == N ) numerators_sv += cxabs2( amp_sv[0] );`` and the denominator's line) that
    also adds that ``|amp|^2`` to column ``N`` (0 for the denominator) of the event's row of
    ``mlgen_diagram_sums`` while mlgen's interface sets it. The code's own arithmetic is unchanged.
    Returns whether the file had those lines (a ``.mad`` build); the marker file records it."""
    path = sub / "CPPProcess.cc"
    text = path.read_text()
    numerators = len(_NUMERATOR.findall(text))
    if numerators == 0 or numerators != len(_DENOMINATOR.findall(text)):
        return False
    anchor = re.search(r"^#ifdef MGONGPUCPP_GPUIMPL\nnamespace mg5amcGpu\n", text, re.M)
    if anchor is None:
        return False
    text = _NUMERATOR.sub(r"\1 MLGEN_DIAGRAM( \2, \3 );", text)
    text = _DENOMINATOR.sub(r"\1 MLGEN_DIAGRAM( 0, \2 );", text)
    text = text[: anchor.start()] + _SUMS_PREAMBLE + text[anchor.start() :]
    path.write_text(text)
    (sub / _DIAGRAM_SUMS).write_text(f"{numerators} diagrams\n")
    return True


def cache_dir() -> Path:
    """``$MLGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/mlgen``, else ``~/.cache/mlgen``."""
    if os.environ.get("MLGEN_CACHE_DIR"):
        return Path(os.environ["MLGEN_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "mlgen"
    return Path.home() / ".cache" / "mlgen"


def choose_backend(cpuinfo: str | None = None, *, gpu: bool | None = None) -> str:
    """The fastest backend this machine runs: ``cuda`` with an NVIDIA GPU and ``nvcc``, else the
    widest SIMD the CPU flags of ``/proc/cpuinfo`` allow (``cpp512y``, ``cppavx2``, ``cppsse4``,
    ``cppnone``). ``cpp512y`` (AVX-512 instructions on 256-bit registers) is MG5's advice on AVX-512."""
    if gpu is None:
        gpu = shutil.which("nvcc") is not None and Path("/dev/nvidia0").exists()
    if gpu:
        return "cuda"
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags |= set(line.partition(":")[2].split())
    if "avx512vl" in flags:
        return "cpp512y"
    if "avx2" in flags:
        return "cppavx2"
    if "sse4_2" in flags:
        return "cppsse4"
    return "cppnone"


def _source_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if (p.is_symlink() or p.is_file())
        and (p.suffix in _SOURCE_SUFFIXES or p.name in ("makefile", "Makefile"))
    )


def _source_key(path: Path, backend: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{backend}\0FPTYPE=d\0{_SCHEME}\0{_LINK}\0".encode())
    digest.update(SHIM.read_bytes())
    if path.is_file():
        digest.update(path.read_bytes())
    else:
        for file in _source_files(path):
            digest.update(str(file.relative_to(path)).encode() + b"\0")
            digest.update(os.readlink(file).encode() if file.is_symlink() else file.read_bytes())
    return digest.hexdigest()[:16]


def _unpack(path: Path, into: Path) -> Path:
    if path.is_dir():
        shutil.copytree(path, into, symlinks=True)
        return into
    with tarfile.open(path) as archive:
        tops = {Path(m.name).parts[0] for m in archive.getmembers() if m.name not in (".", "")}
        archive.extractall(into.parent / "unpack", filter="data")
    if len(tops) != 1:
        raise MG5BuildError(f"{path}: expected one process directory in the archive, found {sorted(tops)}")
    (into.parent / "unpack" / tops.pop()).rename(into)
    (into.parent / "unpack").rmdir()
    return into


def _subprocess_dir(root: Path, source: Path) -> Path:
    found = sorted(p.parent for p in root.glob("SubProcesses/P*/CPPProcess.cc"))
    if len(found) != 1:
        raise MG5BuildError(
            f"{source}: not a MadGraph5 CUDACPP process directory with one subprocess "
            f"(found {len(found)} SubProcesses/P*/CPPProcess.cc)"
        )
    return found[0]


def _run(cmd: list[str], cwd: Path, log: Path, what: str) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    output = result.stdout + result.stderr
    with log.open("a") as handle:
        handle.write(f"$ {shlex.join(cmd)}\n{output}\n")
    if result.returncode != 0:
        last = [line for line in output.splitlines() if line.strip()][-1:] or ["(no output)"]
        raise MG5BuildError(f"{what} failed in {cwd} (log {log}): {last[0].strip()}")
    return output


def _objects(sub: Path, make_output: str) -> list[str]:
    """The object files of the process and common libraries, from ``make``'s link lines (relative to
    ``sub``): ``-o ../lib/...`` is linked in ``src``, ``-o ../../lib/...`` in ``sub``."""
    objects: list[str] = []
    for line in make_output.splitlines():
        tokens = shlex.split(line) if " -shared " in line and "libmg5amc_" in line else []
        if "-o" not in tokens:
            continue
        where = "../../src/" if tokens[tokens.index("-o") + 1].startswith("../lib/") else ""
        objects += [where + t for t in tokens if t.endswith(".o")]
    if not any(o.startswith("../../src/") for o in objects) or not any("CPPProcess" in o for o in objects):
        raise MG5BuildError(f"{sub}: could not find the link lines of the process libraries in make's output")
    return objects


def _link_shim(sub: Path, make_output: str, backend: str, log: Path) -> None:
    """Compile mlgen's interface with the flags ``make`` used for ``CPPProcess.cc`` and link it with
    the process's objects into one library. One library per process, its own symbols bound inside it
    (``-Bsymbolic``) and loaded ``RTLD_LOCAL``: every MG5 process defines the same C++ names, and
    MG5's common library has the same file name for every process, so two processes' shared
    libraries in one Python would silently share one set of model parameters."""
    line = next((ln for ln in make_output.splitlines() if re.search(r"\sCPPProcess\.cc(\s|$)", ln)), None)
    if line is None:
        raise MG5BuildError(f"{sub}: could not find the compile line of CPPProcess.cc in make's output")
    tokens = shlex.split(line)
    flags: list[str] = []
    skip = False
    for token in tokens[1:]:
        if skip:
            skip = False
        elif token == "-o":
            skip = True
        elif token not in ("-c", "CPPProcess.cc"):
            flags.append(token)
    bind = ["-Xlinker", "-Bsymbolic"] if backend == "cuda" else ["-Wl,-Bsymbolic", "-fPIC"]
    _run(
        [tokens[0], *flags, "-c", str(SHIM), "-o", "mlgen_shim.o"],
        sub,
        log,
        "compiling mlgen's bridge_shim.cc",
    )
    # linked without MG5's -ffast-math: with it the driver adds crtfastmath.o, whose constructor turns
    # on flush-to-zero for the whole Python process when the library is loaded (denormals become 0
    # in numpy and torch, and scipy's cKDTree crashed after it)
    link_flags = [f for f in flags if f not in _FAST_MATH]
    cmd = [tokens[0], *link_flags, "-shared", "mlgen_shim.o", *_objects(sub, make_output), *bind]
    _run([*cmd, "-o", f"../../../{LIBRARY}"], sub, log, "linking mlgen's process library")


def build_process_library(
    path: str | Path, *, backend: str | None = None, cache: Path | None = None, jobs: int = 2
) -> ProcessBuild:
    """Build (or find in the cache) the process library of a MG5 CUDACPP directory.

    Arguments:
        path: a ``.sa`` or ``.mad`` process directory, or a ``.tar.gz`` of one.
        backend: one of :data:`BACKENDS`; default :func:`choose_backend`.
        cache: the cache directory; default :func:`cache_dir`.
        jobs: parallel ``make`` jobs.

    Raises:
        MG5BuildError: a missing compiler or ``make``, a directory that is not a CUDACPP process,
            or a failed build (the message names the log).
    """
    source = Path(path).expanduser().resolve()
    if not source.exists():
        raise MG5BuildError(f"{source}: no such MadGraph5 process directory or archive")
    backend = backend or choose_backend()
    if backend not in BACKENDS:
        raise MG5BuildError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    compiler = "nvcc" if backend == "cuda" else os.environ.get("CXX", "g++")
    for tool in ("make", compiler):
        if shutil.which(tool) is None:
            raise MG5BuildError(f"cannot build {source.name}: '{tool}' is not on PATH (install it)")
    if source.is_dir():
        _subprocess_dir(source, source)
    name = source.name.removesuffix(".tar.gz").removesuffix(".tgz")
    base = (cache or cache_dir()) / "mg5"
    base.mkdir(parents=True, exist_ok=True)
    final = base / f"{name}-{_source_key(source, backend)}"
    with open(f"{final}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / LIBRARY).is_file():
            work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=base))
            try:
                root = _unpack(source, work / "proc")
                sub = _subprocess_dir(root, source)
                short = "_".join(sub.name.split("_")[-2:])
                suffix = "cuda" if backend == "cuda" else "cpp"
                log = work / "build.log"
                if backend != "cuda":
                    _patch_diagram_sums(sub)
                make = ["make", f"-j{jobs}", "-f", "cudacpp.mk", f"BACKEND={backend}", "FPTYPE=d"]
                output = _run([*make, f"../../lib/libmg5amc_{short}_{suffix}.so"], sub, log, "make")
                _link_shim(sub, output, backend, log)
                shutil.rmtree(final, ignore_errors=True)
                work.rename(final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    root = final / "proc"
    sub = _subprocess_dir(root, source)
    return ProcessBuild(root, sub, final / LIBRARY, backend, (sub / _DIAGRAM_SUMS).is_file())
