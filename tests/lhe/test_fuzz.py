"""A seeded fuzzer over the real generator files: damaged input is an LHEError or the same events.

Each real file of ``../shared/data/lhe/`` is cut to its header and first events; a seeded mutator
damages it 10^4 times in all (byte flips, digit edits, deleted, duplicated and swapped lines,
truncation, widened whitespace, damaged gzip). What the oracle asserts of every mutant, whatever
the mutation:

- reading raises nothing but :class:`LHEError` (no ValueError, zlib.error, IndexError ...) and
  warns nothing but :class:`LHEWarning`, within a time bound;
- what it returns is well formed: every number finite, ``n_particles`` particles then padding,
  positive weights where IDWTUP says so;

and, by kind of mutation, what can be known without knowing the file format:

- widened whitespace changes nothing: the same events, field for field;
- a deleted, duplicated line or a truncation cannot make an event: every event read is one of
  the original events, field for field (weights and scales included);
- a swap of two lines can move a particle line between two events of the same size: every event
  line and every particle line read is one of the original's;
- a changed byte or digit changes at most one field: the same number of events with the same
  sizes, at most one number different from the original in all the events;
- damaged gzip data is an error (its CRC) unless the damage is in the gzip header's free fields.
"""

from __future__ import annotations

import difflib
import gzip
import random
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from mlgen.events import EventBatch, RunInfo
from mlgen.lhe import LHEError, LHEWarning, read_lhe

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "lhe"
FILES = sorted(DATA.glob("*.lhe*")) if DATA.is_dir() else []
#: mutants per CI run, over all files together
MUTANTS = 10_000
#: events kept of each real file, so that one read costs about a millisecond
EVENTS_KEPT = 3
#: the slowest a mutant of a few kB may take to read (a hang, a quadratic scan)
SECONDS_PER_INPUT = 2.0

FIELDS = (
    "momenta", "pdg", "status", "mothers", "colors", "masses", "lifetime", "spin",
    "weight", "scale", "alpha_qed", "alpha_s", "process_id", "extra_weights", "mu_r", "mu_f",
)  # fmt: skip


def small_sample(path: Path) -> bytes:
    """The file's text up to its ``EVENTS_KEPT``-th ``</event>``, then ``</LesHouchesEvents>`` and
    whatever followed it (POWHEG's trailing comment)."""
    raw = path.read_bytes()
    text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    end = 0
    for _ in range(EVENTS_KEPT):
        end = text.index(b"</event>", end) + len(b"</event>")
    return text[:end] + b"\n" + text[text.rindex(b"</LesHouchesEvents>") :]


def read(path: Path) -> tuple[RunInfo, EventBatch | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", LHEWarning)
        return read_lhe(path)


def events_of(batch: EventBatch | None) -> list[tuple[bytes, ...]]:
    """Each event as the bytes of every field (padding stripped), for exact comparison."""
    if batch is None:
        return []
    out = []
    for i in range(len(batch)):
        n = int((batch.pdg[i] != 0).sum())
        row = []
        for name in FIELDS:
            value = getattr(batch, name)
            if value is None:
                row.append(b"-")
                continue
            v = value[i]
            row.append((v[:n] if name in FIELDS[:8] else v).numpy().tobytes())
        out.append(tuple(row))
    return out


def rows_of(batch: EventBatch | None) -> tuple[set[bytes], set[bytes]]:
    """The event lines and the particle lines read, as bytes."""
    if batch is None:
        return set(), set()
    heads = torch.stack(
        [batch.weight, batch.scale, batch.alpha_qed, batch.alpha_s, batch.process_id.double()], 1
    )
    parts = torch.cat(
        [batch.momenta, batch.pdg[..., None].double(), batch.status[..., None].double(),
         batch.mothers.double(), batch.colors.double(), batch.masses[..., None]], -1
    )  # fmt: skip
    real = batch.pdg != 0
    return {h.numpy().tobytes() for h in heads}, {p.numpy().tobytes() for p in parts[real]}


def numbers_of(batch: EventBatch) -> np.ndarray:
    return np.concatenate(
        [getattr(batch, name).double().numpy().ravel() for name in FIELDS if getattr(batch, name) is not None]
    )


def well_formed(info: RunInfo, batch: EventBatch | None) -> None:
    if batch is None:
        return
    for name in FIELDS + ("x1", "x2"):
        value = getattr(batch, name)
        if value is not None and value.is_floating_point():
            assert bool(torch.isfinite(value).all()), name
    real = batch.pdg != 0
    # real particles first, then padding
    assert bool((real[:, :-1] | ~real[:, 1:]).all())
    assert bool((real.sum(1) >= 1).all())
    if info.weight_strategy == 3:
        assert bool((batch.weight > 0).all())
    if info.weight_strategy in (1, 2, 4):
        assert bool((batch.weight >= 0).all())


def changes(text: bytes, mutant: bytes) -> str:
    """The lines a mutation changed, as a diff (for a failure message)."""
    if mutant[:2] == b"\x1f\x8b":
        return f"(gzip data, {len(mutant)} bytes)"
    diff = difflib.unified_diff(text.decode(errors="replace").splitlines(),
                                mutant.decode(errors="replace").splitlines(), lineterm="", n=1)  # fmt: skip
    return "\n".join(list(diff)[2:14])


# ---- the mutator ---------------------------------------------------------------------------


def _lines(text: bytes) -> list[bytes]:
    return text.split(b"\n")


def flip_byte(rng: random.Random, text: bytes) -> bytes:
    i = rng.randrange(len(text))
    return text[:i] + bytes([rng.randrange(256)]) + text[i + 1 :]


def edit_digit(rng: random.Random, text: bytes) -> bytes:
    for _ in range(20):
        i = rng.randrange(len(text))
        if 48 <= text[i] <= 57:
            return text[:i] + bytes([48 + rng.randrange(10)]) + text[i + 1 :]
    return text


def delete_line(rng: random.Random, text: bytes) -> bytes:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def duplicate_line(rng: random.Random, text: bytes) -> bytes:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def swap_lines(rng: random.Random, text: bytes) -> bytes:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    j = min(len(lines) - 1, max(0, i + rng.choice([-1, 1, rng.randrange(-30, 31)])))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def truncate(rng: random.Random, text: bytes) -> bytes:
    return text[: rng.randrange(len(text))]


def widen_space(rng: random.Random, text: bytes) -> bytes:
    """Insert spaces or a tab next to an existing space or tab: no token changes."""
    for _ in range(20):
        i = rng.randrange(len(text))
        if text[i] in b" \t":
            return text[:i] + rng.choice([b" ", b"  ", b"\t", b" \t "]) + text[i:]
    return text


def damage_gzip(rng: random.Random, text: bytes) -> bytes:
    packed = gzip.compress(text, mtime=0)
    if rng.random() < 0.5:
        return packed[: rng.randrange(len(packed))]
    i = rng.randrange(len(packed))
    return packed[:i] + bytes([packed[i] ^ (1 << rng.randrange(8))]) + packed[i + 1 :]


MUTATIONS = {
    "flip_byte": flip_byte,
    "edit_digit": edit_digit,
    "delete_line": delete_line,
    "duplicate_line": duplicate_line,
    "swap_lines": swap_lines,
    "truncate": truncate,
    "widen_space": widen_space,
    "damage_gzip": damage_gzip,
}


def check_mutant(kind: str, original: tuple[RunInfo, EventBatch | None], info: RunInfo, batch) -> None:
    """What the oracle knows of a mutant that was read without an error."""
    well_formed(info, batch)
    events, reference = events_of(batch), events_of(original[1])
    if kind in ("widen_space", "damage_gzip"):
        assert events == reference
        # (descriptions of weights are free text, kept verbatim: widened there, widened when read)
        assert info.processes == original[0].processes
        assert [w.id for w in info.weights] == [w.id for w in original[0].weights]
    elif kind in ("delete_line", "duplicate_line", "truncate"):
        assert set(events) <= set(reference)
        assert not (Counter(events) - Counter(reference))
    elif kind == "swap_lines":
        heads, parts = rows_of(batch)
        heads0, parts0 = rows_of(original[1])
        assert heads <= heads0 and parts <= parts0
    else:  # one byte or digit changed: one field at most
        assert original[1] is not None and batch is not None
        assert len(batch) == len(original[1])
        assert torch.equal(batch.n_particles, original[1].n_particles)
        a, b = numbers_of(batch), numbers_of(original[1])
        if a.shape == b.shape:
            assert int((a != b).sum()) <= 1
        else:  # a weight name or <scales> changed: the fields themselves differ
            assert len(events) == len(reference)


@pytest.mark.skipif(not FILES, reason="../shared/data/lhe not present")
def test_mutated_real_files_are_errors_or_the_same_events(tmp_path: Path) -> None:
    rng = random.Random(20261207)
    samples = []
    for path in FILES:
        text = small_sample(path)
        original = tmp_path / "original.lhe"
        original.write_bytes(text)
        samples.append((path.name, text, read(original)))
        assert samples[-1][2][1] is not None and len(samples[-1][2][1]) == EVENTS_KEPT
    kinds = list(MUTATIONS)
    outcome: Counter[tuple[str, str]] = Counter()
    slowest = 0.0
    target = tmp_path / "mutant.lhe"
    for n in range(MUTANTS):
        name, text, original = samples[n % len(samples)]
        kind = kinds[(n // len(samples)) % len(kinds)]
        mutant = MUTATIONS[kind](rng, text)
        target.write_bytes(mutant)
        t0 = time.perf_counter()
        try:
            info, batch = read(target)
        except LHEError as err:
            assert str(target) in str(err)
            outcome[kind, "LHEError"] += 1
            continue
        except Exception as err:  # noqa: BLE001 (the point: name the mutant that raised it)
            pytest.fail(
                f"{name} mutant {n} ({kind}) raised {type(err).__name__}: {err}\n{changes(text, mutant)}"
            )
        finally:
            slowest = max(slowest, time.perf_counter() - t0)
        try:
            check_mutant(kind, original, info, batch)
        except AssertionError as err:
            message = str(err).splitlines()[0][:300]
            pytest.fail(
                f"{name} mutant {n} ({kind}) read to wrong events: {message}\n{changes(text, mutant)}"
            )
        outcome[kind, "read"] += 1
    assert slowest < SECONDS_PER_INPUT
    assert sum(outcome.values()) == MUTANTS
    # the fuzzer reaches both outcomes for every damaging kind (so it tests something)
    for kind in kinds:
        assert outcome[kind, "LHEError"] + outcome[kind, "read"] > 0
        if kind not in ("widen_space",):
            assert outcome[kind, "LHEError"] > 0, kind
    assert outcome["widen_space", "LHEError"] == 0
